"""Non-additive KPIs per period: medians, distinct counts, pipeline snapshots and account churn.

`compute_period_values(periods=…, now=…)` replaces the `KPIValue` rows of the codes in `CODES` for
the given periods: one DELETE, then one `INSERT … WITH … SELECT` per family (six), whatever the
number of reps, teams, days or periods. Each statement joins its source rows to the periods (a
`VALUES` list) on the stored local day or on aware moments, fans every row out to its scopes
(the rep, the rep's current team, the organisation) and aggregates per scope in SQL. Medians and
distinct counts are therefore computed from the rows for every scope, never from reps' values.
The same SQL runs on PostgreSQL and SQLite; the row-level sources are ORM querysets, as in
`kpis/compute/daily.py`.

Semantics (KPIS.md; the choices where it leaves room are marked *choice*):

- `calls_per_customer`: completed outbound calls with a company (the services store the company of
  a linked contact, lead or opportunity on the activity), by `owner` and `occurred_day`;
  numerator = calls, denominator = distinct companies, value = num / den.
- `lead_response_minutes`: leads with an assignee, by `assigned_to` and `received_day`, that have a
  completed activity (`lead` = the lead, by anyone); minutes from `received_at` to the earliest
  such `occurred_at`. Unassigned leads count for no scope, not even the organisation (*choice*,
  as `leads_unanswered`).
- `days_in_stage` (dimension `stage:<slug>`): every stage-change row into an *open* stage that has
  a next row (by `changed_at`, `id`) is an entry with its exit; days between them, by the owner
  and `changed_day` of the exit row. Entries into won/lost have no dimension, even when the deal
  is later reopened (*choice*). Any next row is an exit: forward, backward, won or lost.
- `sales_cycle_days`: opportunities currently in a won stage with `closed_at`, by `owner` and
  `closed_day`; days from `created_at` to `closed_at` (a reopened deal is not won).
- `open_opportunities` / `pipeline_value`: at T = min(period end as an aware local midnight, `now`)
  — so `now` for the current period (and any later one) — the opportunities created before T whose
  latest stage-change row before T (by `changed_at`, `id`) is into an open stage; count and Σ of
  the *current* `amount`, attributed to the *current* `owner` (*choice*: ownership and amount have
  no history). These are counts, so a zero is stored for every active user with a sales role,
  every team and the organisation; users without a sales role get a row only when they own some.
- `churn_rate` / `repeat_purchase_rate`: a purchase is an opportunity currently in a won stage, at
  its `closed_at`, whoever owned it. S = period start and E = min(period end, `now`), as aware
  local midnights; *active at T* = a purchase in `[T − 365 days, T)`, where T − 365 days is the same
  wall-clock time 365 local days earlier (*choice*: a local midnight stays a local midnight across
  DST). Accounts: companies whose current `owner` is the rep (team: its current members; org: all
  companies, with or without an owner). churn: num = active at S and not at E, den = active at S;
  repeat: num = ≥ 2 purchases in `[E − 365 days, E)`, den = ≥ 1.

Storage: value, numerator and denominator as floats; `computed_at = now`; dimension `""` except
`days_in_stage`. Ratios store num and den. Medians store numerator NULL and denominator = the
number of values the median is over (*choice*). Snapshots store both NULL. Nothing to measure
stores no row: a median over no values, or a ratio whose denominator is 0 — readers treat a
missing row as null. Medians are the mean of the two middle values for an even count.

Durations are exact elapsed time (DST-safe): integer microseconds between the two stored UTC
moments, divided in double precision by 60·10⁶ (minutes) or 86 400·10⁶ (days), so both backends
give bit-identical values. On SQLite (datetimes stored as UTC text) the microseconds are read
from the text (`strftime('%s')` of the whole seconds plus the fraction), not from `julianday`,
which only keeps milliseconds.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import (
    Case,
    CharField,
    Exists,
    F,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.functions import Concat
from django.db.models.functions import Lead as NextRow
from django.utils import timezone

from activities.models import Activity
from kpis.models import KPIValue
from kpis.periods import PeriodRange
from kpis.registry import Period
from people.models import Team
from pipeline.models import Company, Lead, Opportunity, Stage, StageChange

CODES: tuple[str, ...] = (
    "calls_per_customer",
    "lead_response_minutes",
    "days_in_stage",
    "sales_cycle_days",
    "open_opportunities",
    "pipeline_value",
    "churn_rate",
    "repeat_purchase_rate",
)
# Users who get a stored zero for the snapshot counts even when they own nothing.
SALES_ROLES: tuple[str, ...] = ("sdr", "ae", "am")

_MICROS_PER_MINUTE = 60 * 1_000_000
_MICROS_PER_DAY = 86_400 * 1_000_000
_FLOAT = "DOUBLE PRECISION"
_COLUMNS = (
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
def _local_midnight(day: dt.date) -> dt.datetime:
    # Midnight never falls in a DST gap in the site time zone (Stockholm switches at 02:00/03:00).
    return dt.datetime.combine(day, dt.time(), tzinfo=timezone.get_default_timezone())


def _year_before(moment: dt.datetime) -> dt.datetime:
    """The same wall-clock time 365 local days earlier (a local midnight stays one over DST)."""
    zone = timezone.get_default_timezone()
    local = moment.astimezone(zone).replace(tzinfo=None)
    return (local - dt.timedelta(days=365)).replace(tzinfo=zone)


@dataclass(frozen=True)
class _Bounds:
    """One period: its local days, and the moments S (start) and E/T (end, or now)."""

    period: str
    start: dt.date
    end: dt.date
    at_start: dt.datetime
    at_end: dt.datetime

    @classmethod
    def of(cls, rng: PeriodRange, now: dt.datetime) -> _Bounds:
        return cls(
            period=Period(rng.period).value,
            start=rng.start,
            end=rng.end,
            at_start=_local_midnight(rng.start),
            # The current period (the one holding now's local day) ends at now.
            at_end=min(_local_midnight(rng.end), now),
        )


# ---------------------------------------------------------------------------
# Portable SQL pieces
# ---------------------------------------------------------------------------
def _qn(name: str) -> str:
    return connection.ops.quote_name(name)


def _table(model) -> str:
    return _qn(model._meta.db_table)


def _param(kind: str) -> str:
    """A placeholder typed on PostgreSQL (SQLite compares the stored text as is)."""
    if connection.vendor == "postgresql":
        return {
            "text": "CAST(%s AS VARCHAR)",
            "date": "CAST(%s AS DATE)",
            "moment": "CAST(%s AS TIMESTAMP WITH TIME ZONE)",
        }[kind]
    return "%s"


def _date(value: dt.date):
    return connection.ops.adapt_datefield_value(value)


def _moment(value: dt.datetime):
    # SQLite: naive UTC text, the format Django stores, so text comparison orders moments.
    return connection.ops.adapt_datetimefield_value(value)


def _epoch_micros_sqlite(column: str) -> str:
    # Whole seconds of 'YYYY-MM-DD HH:MM:SS' plus the '.ffffff' fraction, read separately:
    # julianday() would round to milliseconds. `%%` is the literal % of the DB-API format.
    return (
        f"(CAST(strftime('%%s', substr({column}, 1, 19)) AS INTEGER) * 1000000"
        f" + CAST(ROUND(CAST('0' || substr({column}, 20) AS REAL) * 1000000) AS INTEGER))"
    )


def _elapsed_micros(start: str, end: str) -> str:
    """SQL for the exact elapsed microseconds from `start` to `end` (stored aware moments)."""
    if connection.vendor == "postgresql":
        return (
            f"CAST((EXTRACT(EPOCH FROM {end}) - EXTRACT(EPOCH FROM {start})) * 1000000 AS BIGINT)"
        )
    return f"({_epoch_micros_sqlite(end)} - {_epoch_micros_sqlite(start)})"


def _periods_cte(bounds: list[_Bounds]) -> Cte:
    text, date, moment = _param("text"), _param("date"), _param("moment")
    row = f"({text}, {date}, {date}, {moment}, {moment}, {moment}, {moment})"
    params: list = []
    for b in bounds:
        params += [
            b.period,
            _date(b.start),
            _date(b.end),
            _moment(b.at_start),
            _moment(b.at_end),
            _moment(_year_before(b.at_start)),
            _moment(_year_before(b.at_end)),
        ]
    return (
        "kpi_periods (period, pstart, pend, at_start, at_end, start_lo, end_lo)",
        "VALUES " + ", ".join([row] * len(bounds)),
        params,
    )


def _members_cte() -> Cte:
    """Who each user's rows count for besides the organisation: the user, and the current team."""
    user = _table(get_user_model())
    return (
        "kpi_members (member_id, scope, scope_id)",
        f"SELECT id, 'rep', id FROM {user} "  # noqa: S608
        f"UNION ALL SELECT id, 'team', team_id FROM {user} WHERE team_id IS NOT NULL",
        [],
    )


def _fanout(source: str, columns: Iterable[str]) -> str:
    """Each row of `source` (with `owner_id`) once per scope: rep, team (if any), organisation."""
    cols = ", ".join(f"o.{c}" for c in columns)
    return (
        f"SELECT m.scope AS scope, m.scope_id AS scope_id, {cols} "  # noqa: S608
        f"FROM {source} o JOIN kpi_members m ON m.member_id = o.owner_id "
        f"UNION ALL SELECT 'org', 0, {cols} FROM {source} o"
    )


def _orm_cte(name: str, qs: QuerySet) -> Cte:
    sql, params = qs.query.sql_with_params()
    return (name, sql, list(params))


def _insert(ctes: list[Cte], select: str, params: list) -> int:
    """`INSERT INTO kpivalue (…) WITH … SELECT …`; returns the number of rows inserted."""
    with_sql = ",\n".join(f"{name} AS ({sql})" for name, sql, _ in ctes)
    statement = (
        f"INSERT INTO {_table(KPIValue)} ({', '.join(_qn(c) for c in _COLUMNS)})\n"
        f"WITH {with_sql}\n{select}"
    )
    all_params = [p for _, _, cte_params in ctes for p in cte_params] + params
    with connection.cursor() as cursor:
        cursor.execute(statement, all_params)
        return cursor.rowcount


# ---------------------------------------------------------------------------
# Families
# ---------------------------------------------------------------------------
def _calls_per_customer(common: list[Cte], lo: dt.date, hi: dt.date, now: dt.datetime) -> int:
    calls = (
        Activity.objects.filter(
            status=Activity.Status.COMPLETED,
            kind=Activity.Kind.CALL,
            direction="outbound",
            company__isnull=False,
            occurred_day__gte=lo,
            occurred_day__lt=hi,
        )
        .order_by()
        .values(owner_=F("owner_id"), day_=F("occurred_day"), company_=F("company_id"))
    )
    ctes = common + [
        _orm_cte("kpi_facts", calls),
        (
            "kpi_obs",
            "SELECT p.period AS period, p.pstart AS pstart, f.owner_ AS owner_id, "
            "f.company_ AS company_id "
            "FROM kpi_facts f JOIN kpi_periods p ON f.day_ >= p.pstart AND f.day_ < p.pend",
            [],
        ),
        ("kpi_scoped", _fanout("kpi_obs", ["period", "pstart", "company_id"]), []),
    ]
    select = (
        f"SELECT scope, scope_id, {_param('text')}, period, pstart, '', "  # noqa: S608
        f"CAST(COUNT(*) AS {_FLOAT}) / COUNT(DISTINCT company_id), "
        f"CAST(COUNT(*) AS {_FLOAT}), CAST(COUNT(DISTINCT company_id) AS {_FLOAT}), "
        f"{_param('moment')} "
        "FROM kpi_scoped GROUP BY scope, scope_id, period, pstart"
    )
    return _insert(ctes, select, ["calls_per_customer", _moment(now)])


def _median(
    common: list[Cte], code: str, facts: QuerySet, per_micros: int, now: dt.datetime
) -> int:
    """Median of (end_ − start_) / unit per scope, period and dimension.

    `facts` yields owner_, day_, dimension_, start_, end_; rows missing an end are skipped.
    Portable median: ROW_NUMBER and COUNT over the group, the middle one or two rows, AVG.
    """
    group = "scope, scope_id, period, pstart, dimension"
    ctes = common + [
        _orm_cte("kpi_facts", facts),
        (
            "kpi_obs",
            "SELECT p.period AS period, p.pstart AS pstart, f.owner_ AS owner_id, "  # noqa: S608
            f"f.dimension_ AS dimension, CAST({_elapsed_micros('f.start_', 'f.end_')} AS {_FLOAT})"
            f" / CAST({per_micros} AS {_FLOAT}) AS x "
            "FROM kpi_facts f JOIN kpi_periods p ON f.day_ >= p.pstart AND f.day_ < p.pend "
            "WHERE f.start_ IS NOT NULL AND f.end_ IS NOT NULL AND f.owner_ IS NOT NULL",
            [],
        ),
        ("kpi_scoped", _fanout("kpi_obs", ["period", "pstart", "dimension", "x"]), []),
        (
            "kpi_ranked",
            f"SELECT {group}, x, "  # noqa: S608
            f"ROW_NUMBER() OVER (PARTITION BY {group} ORDER BY x) AS rn, "
            f"COUNT(*) OVER (PARTITION BY {group}) AS cnt FROM kpi_scoped",
            [],
        ),
    ]
    select = (
        f"SELECT scope, scope_id, {_param('text')}, period, pstart, dimension, "  # noqa: S608
        f"AVG(x), CAST(NULL AS {_FLOAT}), CAST(MAX(cnt) AS {_FLOAT}), {_param('moment')} "
        f"FROM kpi_ranked WHERE rn IN ((cnt + 1) / 2, (cnt + 2) / 2) GROUP BY {group}"
    )
    return _insert(ctes, select, [code, _moment(now)])


def _lead_response_facts(lo: dt.date, hi: dt.date) -> QuerySet:
    first_touch = (
        Activity.objects.filter(lead=OuterRef("pk"), status=Activity.Status.COMPLETED)
        .order_by("occurred_at")
        .values("occurred_at")[:1]
    )
    return (
        Lead.objects.filter(assigned_to__isnull=False, received_day__gte=lo, received_day__lt=hi)
        .alias(first_at=Subquery(first_touch))
        .order_by()
        .values(
            owner_=F("assigned_to_id"),
            day_=F("received_day"),
            dimension_=Value("", output_field=CharField()),
            start_=F("received_at"),
            end_=F("first_at"),
        )
    )


def _stage_exit_facts(lo: dt.date, hi: dt.date) -> QuerySet:
    """Every stage-change row with its exit (the opportunity's next row) as window columns.

    Rows are never filtered before the window (the next row of an entry must stay visible); only
    opportunities without any move in the day range are left out as a whole. Entries into a
    closed stage get no start, so the median skips them.
    """

    def exit_(field: str) -> Window:
        return Window(
            NextRow(field),
            partition_by=[F("opportunity_id")],
            order_by=[F("changed_at").asc(), F("id").asc()],
        )

    moved_in_range = StageChange.objects.filter(
        opportunity=OuterRef("opportunity"), changed_day__gte=lo, changed_day__lt=hi
    )
    return (
        StageChange.objects.filter(Exists(moved_in_range))
        .order_by()
        .values(
            owner_=exit_("owner_id"),
            day_=exit_("changed_day"),
            dimension_=Concat(Value("stage:"), "to_stage__slug", output_field=CharField()),
            start_=Case(When(to_stage__outcome=Stage.Outcome.OPEN, then=F("changed_at"))),
            end_=exit_("changed_at"),
        )
    )


def _sales_cycle_facts(lo: dt.date, hi: dt.date) -> QuerySet:
    return (
        Opportunity.objects.filter(
            stage__outcome=Stage.Outcome.WON,
            closed_at__isnull=False,
            closed_day__gte=lo,
            closed_day__lt=hi,
        )
        .order_by()
        .values(
            owner_=F("owner_id"),
            day_=F("closed_day"),
            dimension_=Value("", output_field=CharField()),
            start_=F("created_at"),
            end_=F("closed_at"),
        )
    )


def _snapshots(common: list[Cte], now: dt.datetime) -> int:
    """open_opportunities and pipeline_value at each period's T (its end, or now)."""
    opp, change, stage = _table(Opportunity), _table(StageChange), _table(Stage)
    user = _table(get_user_model())
    roles = ", ".join(["%s"] * len(SALES_ROLES))
    ctes = common + [
        (
            "kpi_obs",
            "SELECT p.period AS period, p.pstart AS pstart, o.owner_id AS owner_id, "  # noqa: S608
            f"o.amount AS amount FROM kpi_periods p JOIN {opp} o ON o.created_at < p.at_end "
            f"WHERE (SELECT s.outcome FROM {change} c JOIN {stage} s ON s.id = c.to_stage_id "
            "WHERE c.opportunity_id = o.id AND c.changed_at < p.at_end "
            f"ORDER BY c.changed_at DESC, c.id DESC LIMIT 1) = {_param('text')}",
            [Stage.Outcome.OPEN.value],
        ),
        ("kpi_scoped", _fanout("kpi_obs", ["period", "pstart", "amount"]), []),
        (
            "kpi_agg",
            "SELECT scope, scope_id, period, pstart, COUNT(*) AS n, SUM(amount) AS total "
            "FROM kpi_scoped GROUP BY scope, scope_id, period, pstart",
            [],
        ),
        (
            "kpi_universe (scope, scope_id)",
            f"SELECT 'rep', id FROM {user} WHERE is_active = %s AND role IN ({roles}) "  # noqa: S608
            f"UNION SELECT 'team', id FROM {_table(Team)} UNION SELECT 'org', 0",
            [True, *SALES_ROLES],
        ),
        (
            "kpi_keys",
            "SELECT u.scope AS scope, u.scope_id AS scope_id, p.period AS period, "
            "p.pstart AS pstart FROM kpi_universe u CROSS JOIN kpi_periods p "
            "UNION SELECT scope, scope_id, period, pstart FROM kpi_agg",
            [],
        ),
    ]

    def select(value: str) -> str:
        return (
            f"SELECT k.scope, k.scope_id, {_param('text')}, k.period, k.pstart, '', "  # noqa: S608
            f"CAST(COALESCE({value}, 0) AS {_FLOAT}), CAST(NULL AS {_FLOAT}), "
            f"CAST(NULL AS {_FLOAT}), {_param('moment')} FROM kpi_keys k LEFT JOIN kpi_agg a "
            "ON a.scope = k.scope AND a.scope_id = k.scope_id AND a.period = k.period "
            "AND a.pstart = k.pstart"
        )

    return _insert(
        ctes,
        f"{select('a.n')} UNION ALL {select('a.total')}",
        ["open_opportunities", _moment(now), "pipeline_value", _moment(now)],
    )


def _accounts(common: list[Cte], lo: dt.datetime, hi: dt.datetime, now: dt.datetime) -> int:
    """churn_rate and repeat_purchase_rate over the companies each scope owns."""
    purchases = (
        Opportunity.objects.filter(
            stage__outcome=Stage.Outcome.WON,
            closed_at__isnull=False,
            closed_at__gte=lo,
            closed_at__lt=hi,
        )
        .order_by()
        .values(company_=F("company_id"), at_=F("closed_at"))
    )
    in_start = "f.at_ >= p.start_lo AND f.at_ < p.at_start"
    in_end = "f.at_ >= p.end_lo AND f.at_ < p.at_end"
    ctes = common + [
        _orm_cte("kpi_facts", purchases),
        (
            "kpi_counts",
            "SELECT p.period AS period, p.pstart AS pstart, f.company_ AS company_id, "  # noqa: S608
            f"SUM(CASE WHEN {in_start} THEN 1 ELSE 0 END) AS at_start, "
            f"SUM(CASE WHEN {in_end} THEN 1 ELSE 0 END) AS at_end "
            f"FROM kpi_facts f JOIN kpi_periods p ON ({in_start}) OR ({in_end}) "
            "GROUP BY p.period, p.pstart, f.company_",
            [],
        ),
        (
            "kpi_obs",
            "SELECT c.period AS period, c.pstart AS pstart, co.owner_id AS owner_id, "  # noqa: S608
            f"c.at_start AS at_start, c.at_end AS at_end FROM kpi_counts c "
            f"JOIN {_table(Company)} co ON co.id = c.company_id",
            [],
        ),
        ("kpi_scoped", _fanout("kpi_obs", ["period", "pstart", "at_start", "at_end"]), []),
        (
            "kpi_agg",
            "SELECT scope, scope_id, period, pstart, "
            "SUM(CASE WHEN at_start > 0 THEN 1 ELSE 0 END) AS active_start, "
            "SUM(CASE WHEN at_start > 0 AND at_end = 0 THEN 1 ELSE 0 END) AS churned, "
            "SUM(CASE WHEN at_end > 0 THEN 1 ELSE 0 END) AS buyers, "
            "SUM(CASE WHEN at_end > 1 THEN 1 ELSE 0 END) AS repeaters "
            "FROM kpi_scoped GROUP BY scope, scope_id, period, pstart",
            [],
        ),
    ]

    def select(num: str, den: str) -> str:
        return (
            f"SELECT scope, scope_id, {_param('text')}, period, pstart, '', "  # noqa: S608
            f"CAST({num} AS {_FLOAT}) / {den}, CAST({num} AS {_FLOAT}), "
            f"CAST({den} AS {_FLOAT}), {_param('moment')} FROM kpi_agg WHERE {den} > 0"
        )

    return _insert(
        ctes,
        f"{select('churned', 'active_start')} UNION ALL {select('repeaters', 'buyers')}",
        ["churn_rate", _moment(now), "repeat_purchase_rate", _moment(now)],
    )


def _delete(bounds: list[_Bounds]) -> None:
    """Delete the stored rows of `CODES` for the given (period, start) keys (one statement)."""
    starts: dict[str, list] = defaultdict(list)
    for b in bounds:
        starts[b.period].append(_date(b.start))
    per_type = " OR ".join(
        f"({_qn('period')} = %s AND {_qn('period_start')} IN ({', '.join(['%s'] * len(days))}))"
        for days in starts.values()
    )
    params = list(CODES) + [p for period, days in starts.items() for p in (period, *days)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {_table(KPIValue)} "  # noqa: S608
            f"WHERE {_qn('kpi')} IN ({', '.join(['%s'] * len(CODES))}) AND ({per_type})",
            params,
        )


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------
def compute_period_values(*, periods: Iterable[PeriodRange], now: dt.datetime) -> int:
    """Replace the stored non-additive KPI values (`CODES`) of `periods` for every rep, team and
    the organisation; returns the number of rows written. Runs in the caller's transaction."""
    if now.tzinfo is None:
        raise ValueError("`now` must be an aware datetime.")
    bounds = [_Bounds.of(rng, now) for rng in sorted(set(periods))]
    if not bounds:
        return 0
    day_lo, day_hi = min(b.start for b in bounds), max(b.end for b in bounds)
    at_lo = min(_year_before(b.at_start) for b in bounds)
    at_hi = max(max(b.at_start, b.at_end) for b in bounds)
    with transaction.atomic(savepoint=False):
        _delete(bounds)
        common = [_periods_cte(bounds), _members_cte()]
        written = _calls_per_customer(common, day_lo, day_hi, now)
        for code, facts, unit in (
            ("lead_response_minutes", _lead_response_facts, _MICROS_PER_MINUTE),
            ("days_in_stage", _stage_exit_facts, _MICROS_PER_DAY),
            ("sales_cycle_days", _sales_cycle_facts, _MICROS_PER_DAY),
        ):
            written += _median(common, code, facts(day_lo, day_hi), unit, now)
        written += _snapshots(common, now)
        written += _accounts(common, at_lo, at_hi, now)
    return written
