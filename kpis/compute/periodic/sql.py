"""Portable SQL pieces of the period values: the run's periods, scopes, durations, INSERT.

Every statement is `INSERT INTO kpivalue (…) WITH <ctes> SELECT …`. The CTEs that describe the
run are VALUES lists built here (so the planner knows their sizes):

- `kpi_periods (pid, period, pstart, pend, at_start, at_end, start_lo, end_lo)`: one row per
  period; `pid` is a small integer the families group and sort on (narrower than the period's
  text and start); the moments S and E (`at_start`, `at_end`) and S, E − 365 days;
- `kpi_days (day, pid)`: every local day of every period: facts stored with a local day reach
  their periods by an *equality* join, not a range join over all periods;
- `kpi_types (day, week_pid, week_start, …, year_pid, year_start)`: the same map with one row
  per day, for families that flag rows per period type instead of fanning them out.

Scopes are small integers while grouping (`sk`: rep 0, team 1, organisation 2, with `scope_id`
the user, the team or 0); `kpi_members (member_id, sk, scope_id, skey)` says whom a user's rows
count for besides the organisation: the user and the user's current team.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from kpis.models import KPIValue
from kpis.periods import PeriodRange
from kpis.registry import Period

FLOAT = "DOUBLE PRECISION"
PERIOD_TYPES: tuple[str, ...] = tuple(p.value for p in Period)
MICROS_PER_MINUTE = 60 * 1_000_000
MICROS_PER_DAY = 86_400 * 1_000_000
# Scope kinds as small integers while grouping and sorting; their stored text at the end.
REP, TEAM, ORG = 0, 1, 2


def scope_text(sk: str = "sk") -> str:
    """The stored scope of an integer scope kind."""
    return f"CASE {sk} WHEN {REP} THEN 'rep' WHEN {TEAM} THEN 'team' ELSE 'org' END"


# The columns of a stored KPI value, in the order the upserts write them.
VALUE_COLUMNS = (
    "scope",
    "scope_id",
    "kpi",
    "period",
    "period_start",
    "dimension",
    "value",
    "numerator",
    "denominator",
    "computed_at",
)

Cte = tuple[str, str, list]


# ---------------------------------------------------------------------------
# Periods and their moments
# ---------------------------------------------------------------------------
def local_midnight(day: dt.date) -> dt.datetime:
    # Midnight never falls in a DST gap in the site time zone (Stockholm switches at 02:00/03:00).
    return dt.datetime.combine(day, dt.time(), tzinfo=timezone.get_default_timezone())


def year_before(moment: dt.datetime) -> dt.datetime:
    """The same wall-clock time 365 local days earlier (a local midnight stays one over DST)."""
    zone = timezone.get_default_timezone()
    local = moment.astimezone(zone).replace(tzinfo=None)
    return (local - dt.timedelta(days=365)).replace(tzinfo=zone)


@dataclass(frozen=True)
class Bounds:
    """One period: its local days, and the moments S (start) and E/T (end, or now)."""

    period: str
    start: dt.date
    end: dt.date
    at_start: dt.datetime
    at_end: dt.datetime

    @classmethod
    def of(cls, rng: PeriodRange, now: dt.datetime) -> Bounds:
        return cls(
            period=Period(rng.period).value,
            start=rng.start,
            end=rng.end,
            at_start=local_midnight(rng.start),
            # The current period (the one holding now's local day) ends at now.
            at_end=min(local_midnight(rng.end), now),
        )


# ---------------------------------------------------------------------------
# Quoting, parameters, durations
# ---------------------------------------------------------------------------
def qn(name: str) -> str:
    return connection.ops.quote_name(name)


def table(model) -> str:
    return qn(model._meta.db_table)


def param(kind: str) -> str:
    """A placeholder typed on PostgreSQL (SQLite compares the stored text as is)."""
    if connection.vendor == "postgresql":
        return {
            "text": "CAST(%s AS VARCHAR)",
            "date": "CAST(%s AS DATE)",
            "moment": "CAST(%s AS TIMESTAMP WITH TIME ZONE)",
        }[kind]
    return "%s"


def date(value: dt.date):
    return connection.ops.adapt_datefield_value(value)


def moment(value: dt.datetime):
    # SQLite: naive UTC text, the format Django stores, so text comparison orders moments.
    return connection.ops.adapt_datetimefield_value(value)


def _epoch_micros_sqlite(column: str) -> str:
    # Whole seconds of 'YYYY-MM-DD HH:MM:SS' plus the '.ffffff' fraction, read separately:
    # julianday() would round to milliseconds. `%%` is the literal % of the DB-API format.
    return (
        f"(CAST(strftime('%%s', substr({column}, 1, 19)) AS INTEGER) * 1000000"
        f" + CAST(ROUND(CAST('0' || substr({column}, 20) AS REAL) * 1000000) AS INTEGER))"
    )


def elapsed_micros(start: str, end: str) -> str:
    """SQL for the exact elapsed microseconds from `start` to `end` (stored aware moments)."""
    if connection.vendor == "postgresql":
        # The interval between two timestamptz is exact microseconds (days and time, no months);
        # EXTRACT(EPOCH …) of it is an exact numeric. One EXTRACT, not two: numeric is slow.
        return f"CAST(EXTRACT(EPOCH FROM ({end}) - ({start})) * 1000000 AS BIGINT)"
    return f"({_epoch_micros_sqlite(end)} - {_epoch_micros_sqlite(start)})"


def duration(start: str, end: str, per_micros: int) -> str:
    """(end − start) in a unit of `per_micros` microseconds, divided in double precision."""
    return f"CAST({elapsed_micros(start, end)} AS {FLOAT}) / CAST({per_micros} AS {FLOAT})"


def cents(column: str) -> str:
    """A money column (2 decimals) as exact integer cents: sums and differences stay exact on
    SQLite too (it stores decimals as floats), and cents / 100 in double precision is the
    correctly rounded value PostgreSQL gives for a numeric sum."""
    return f"CAST(ROUND({column} * 100) AS BIGINT)"


# ---------------------------------------------------------------------------
# Shared CTEs
# ---------------------------------------------------------------------------
def periods_cte(bounds: list[Bounds]) -> Cte:
    text, day, at = param("text"), param("date"), param("moment")
    params: list = []
    rows = []
    for pid, b in enumerate(bounds):
        rows.append(f"({pid}, {text}, {day}, {day}, {at}, {at}, {at}, {at})")
        params += [
            b.period,
            date(b.start),
            date(b.end),
            moment(b.at_start),
            moment(b.at_end),
            moment(year_before(b.at_start)),
            moment(year_before(b.at_end)),
        ]
    return (
        "kpi_periods (pid, period, pstart, pend, at_start, at_end, start_lo, end_lo)",
        "VALUES " + ", ".join(rows),
        params,
    )


def days_cte(bounds: list[Bounds]) -> Cte:
    """(day, pid) for every local day of every period: the equality join of day-stored facts."""
    day = param("date")
    rows, params = [], []
    for pid, b in enumerate(bounds):
        for d in PeriodRange(Period(b.period), b.start, b.end).days():
            rows.append(f"({day}, {pid})")
            params.append(date(d))
    return ("kpi_days (day, pid)", "VALUES " + ", ".join(rows), params)


def members_cte() -> Cte:
    """Who each user's rows count for besides the organisation: the user, and the current team.

    `skey` numbers the scopes injectively (organisation 0, rep 2·id + 1, team 2·id + 2) so that a
    scope, a period and a dimension pack into one integer sort key (see `families._median`).
    """
    user = table(get_user_model())
    return (
        "kpi_members (member_id, sk, scope_id, skey)",
        f"SELECT id, {REP}, id, 2 * id + 1 FROM {user} "  # noqa: S608
        f"UNION ALL SELECT id, {TEAM}, team_id, 2 * team_id + 2 FROM {user} "
        "WHERE team_id IS NOT NULL",
        [],
    )


def scope_of_skey(skey: str) -> tuple[str, str]:
    """SQL for the (sk, scope_id) of a scope key of `members_cte` (the inverse of `skey`).
    `%%` is the SQL modulo in a statement with parameters."""
    return (
        f"CASE WHEN {skey} = 0 THEN {ORG} WHEN {skey} %% 2 = 1 THEN {REP} ELSE {TEAM} END",
        f"CASE WHEN {skey} = 0 THEN 0 ELSE ({skey} - 2 + {skey} %% 2) / 2 END",
    )


def types_cte(bounds: list[Bounds]) -> Cte:
    """`kpi_types`: one row per local day of the run with, per period type, the period holding it
    (`<type>_pid` and `<type>_start`; NULL when that type's period is not in the run): facts
    stored with a day reach their week, month, quarter and year in one equality join, without
    fanning out. A VALUES list, so the planner knows its size."""
    day = param("date")
    held: dict[dt.date, dict[str, tuple[int, dt.date]]] = defaultdict(dict)
    for pid, b in enumerate(bounds):
        for d in PeriodRange(Period(b.period), b.start, b.end).days():
            held[d][b.period] = (pid, b.start)
    rows, params = [], []
    for d, periods in sorted(held.items()):
        cells = [day]
        params.append(date(d))
        for t in PERIOD_TYPES:
            pid, start = periods.get(t, (None, None))
            cells += ["CAST(NULL AS INTEGER)" if pid is None else str(pid), day]
            params.append(None if start is None else date(start))
        rows.append(f"({', '.join(cells)})")
    columns = ", ".join(f"{t}_pid, {t}_start" for t in PERIOD_TYPES)
    return (f"kpi_types (day, {columns})", "VALUES " + ", ".join(rows), params)


def period_columns(code_param: str, sk: str = "sk", scope_id: str = "scope_id") -> str:
    """scope, scope_id, kpi, period, period_start of a row joined to `kpi_periods p`."""
    return f"{scope_text(sk)}, {scope_id}, {code_param}, p.period, p.pstart"


def rollup(source: str, sums: tuple[str, ...], rep_where: str = "") -> str:
    """The rep rows of `source` (owner_id, pid, *sums), plus their sums per current team and for
    the organisation (every row, owner or not): (sk, scope_id, pid, *sums). Additive values
    only (counts and sums), never medians or distinct counts."""
    user = table(get_user_model())
    summed = ", ".join(f"SUM(r.{c})" for c in sums)
    where = f"WHERE {rep_where}" if rep_where else ""
    return (
        f"SELECT {REP}, r.owner_id, r.pid, {', '.join(f'r.{c}' for c in sums)} "  # noqa: S608
        f"FROM {source} r {where} "
        f"UNION ALL SELECT {TEAM}, u.team_id, r.pid, {summed} FROM {source} r "
        f"JOIN {user} u ON u.id = r.owner_id WHERE u.team_id IS NOT NULL "
        "GROUP BY u.team_id, r.pid "
        f"UNION ALL SELECT {ORG}, 0, r.pid, {summed} FROM {source} r GROUP BY r.pid"
    )


def orm_cte(name: str, qs: QuerySet) -> Cte:
    sql, params = qs.query.sql_with_params()
    return (name, sql, list(params))


def insert(ctes: list[Cte], select: str, params: list) -> int:
    """`INSERT INTO kpivalue (…) WITH … SELECT …`; returns the number of rows inserted."""
    with_sql = ",\n".join(f"{name} AS ({sql})" for name, sql, _ in ctes)
    statement = (
        f"INSERT INTO {table(KPIValue)} ({', '.join(qn(c) for c in VALUE_COLUMNS)})\n"
        f"WITH {with_sql}\n{select}"
    )
    all_params = [p for _, _, cte_params in ctes for p in cte_params] + params
    with connection.cursor() as cursor:
        cursor.execute(statement, all_params)
        return cursor.rowcount
