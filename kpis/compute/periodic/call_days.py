"""calls_per_customer kept up to date from calls per (rep, local day, company): `CallDay`.

A distinct count cannot be summed from days, so recomputing a period's value reads every call of
the period (a year: ~520 000 calls at 200 reps) whatever changed. Instead, the dirty cells' run
compares each cell's `CallDay` rows before (stored) and after (counted from the activities) and
moves the stored values by the difference, in the transaction that replaces the cells' rollups:

- numerator (calls): by Σ after − Σ before, per scope and period;
- denominator (distinct companies): per (scope, period, company) key, +1 when the key gains its
  first row of the cells and no other row of the period has the company for the scope (an index
  probe), −1 when it loses its last one and no row outside the cells has it; nothing else.

Invariant: the stored values are those of the `CallDay` rows, each counted for its rep, the team
stored on it (the rep's team recorded in `CallTeam`) and the organisation. A full run records
the teams, rebuilds the rows and computes the values from them. An incremental run records the
teams first; when a rep with rows changed team (their rows get the new team) or a user was
deleted, it replaces the cells' rows and recomputes every period from the rows instead (a rare,
slower path; so is the first run after the migration, which builds the rows). Every path is
set-based SQL on PostgreSQL and SQLite.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, Exists, F, Max, Min, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from kpis.models import CallDay, CallTeam, KPIValue
from kpis.periods import PeriodRange, period_containing, weekly_days
from kpis.registry import Period

from .calls import call_rows
from .sql import (
    FLOAT,
    ORG,
    REP,
    TEAM,
    VALUE_COLUMNS,
    Bounds,
    Cte,
    days_cte,
    moment,
    orm_cte,
    param,
    periods_cte,
    qn,
    scope_text,
    table,
)

CODE = "calls_per_customer"


def _periods(days: set[dt.date]) -> list[PeriodRange]:
    return sorted({period_containing(p, day) for day in days for p in Period})


def _counted(qs: QuerySet) -> QuerySet:
    """The calls of `qs` (activities) per (owner, day, company), with the owner's recorded team
    (`CallTeam`, written first)."""
    return (
        qs.values(owner_=F("owner_id"), day_=F("occurred_day"), company_=F("company_id"))
        # One team per owner: an aggregate, so the rows group on the call index's columns.
        .annotate(team_=Max("owner__call_team__team_id"), n=Count("id"))
        .order_by()
    )


def _insert_rows(rows: QuerySet, *, kept: bool = False) -> None:
    """Insert `rows` (`_counted`); `kept`: skip those whose key is stored (the same rows)."""
    sql, params = rows.query.sql_with_params()
    columns = [qn(c) for c in ("rep_id", "day", "company_id", "team_id", "calls")]
    skip = f"WHERE true ON CONFLICT ({', '.join(columns[:3])}) DO NOTHING" if kept else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table(CallDay)} ({', '.join(columns)}) "  # noqa: S608
            f"SELECT owner_, day_, company_, team_, n FROM ({sql}) r {skip}",
            params,
        )


def _record_teams() -> tuple[bool, bool]:
    """Record every user's current team, and move the rows of reps who changed team. Returns
    whether teams were recorded before (no: the rows were never built), and whether a rep with
    rows moved or a user is gone (the stored team values are then stale)."""
    recorded = dict(CallTeam.objects.values_list("rep_id", "team_id"))
    current = dict(get_user_model().objects.values_list("pk", "team_id"))
    if recorded == current:
        return bool(recorded), False
    CallTeam.objects.all().delete()
    CallTeam.objects.bulk_create(
        CallTeam(rep_id=rep, team_id=team) for rep, team in current.items()
    )
    moved = [rep for rep, team in current.items() if rep in recorded and recorded[rep] != team]
    team = CallTeam.objects.filter(rep_id=OuterRef("rep_id")).values("team_id")
    changed = CallDay.objects.filter(rep_id__in=moved).update(team_id=Subquery(team))
    return bool(recorded), bool(changed or recorded.keys() - current.keys())


def _rebuild_rows() -> None:
    """Make `CallDay` hold exactly the activities' rows, writing only those that differ (none
    in a steady state: writing ~500 000 rows and their index entries costs seconds, comparing
    them a fraction). Computed into a temporary table first, as the daily rollups are."""
    rows, rebuilt = table(CallDay), qn("kpis_callday_rebuilt")
    sql, params = _counted(call_rows()).query.sql_with_params()
    columns = ("rep_id", "day", "company_id", "team_id", "calls")
    names = ", ".join(qn(c) for c in columns)
    # Rows not exactly computed go (a hashed NOT IN: one pass over each table; NULL teams as -1).
    row = ", ".join(f"COALESCE({qn(c)}, -1)" if c == "team_id" else qn(c) for c in columns)
    with connection.cursor() as cursor:
        # Created and dropped in the run's transaction (a failed run rolls it back with it).
        cursor.execute(
            f"CREATE TEMPORARY TABLE {rebuilt} AS SELECT owner_ AS rep_id, "  # noqa: S608
            f"day_ AS day, company_ AS company_id, team_ AS team_id, n AS calls FROM ({sql}) c",
            params,
        )
        cursor.execute(
            f"DELETE FROM {rows} WHERE ({row}) NOT IN (SELECT {row} FROM {rebuilt})"  # noqa: S608
        )
        counts = f"SELECT (SELECT COUNT(*) FROM {rebuilt}), (SELECT COUNT(*) FROM {rows})"  # noqa: S608
        cursor.execute(counts)
        computed, kept = cursor.fetchone()
        if kept < computed:
            # Not an anti-join: its plan could rescan the table it inserts into per row.
            cursor.execute(
                f"INSERT INTO {rows} ({names}) SELECT {names} FROM {rebuilt} "  # noqa: S608
                f"WHERE true ON CONFLICT ({', '.join(qn(c) for c in columns[:3])}) DO NOTHING"
            )
        cursor.execute(f"DROP TABLE {rebuilt}")


def call_days_rebuild() -> None:
    """Replace every `CallDay` row from the activities and record the teams (a full run, in
    its transaction, before it computes the period values from the rows)."""
    _record_teams()
    _rebuild_rows()


def _recompute_all(days: set[dt.date], now: dt.datetime) -> None:
    """Every stored calls_per_customer value again from the rows: the periods they span and
    those of `days`."""
    from . import compute_period_values

    span = CallDay.objects.aggregate(first=Min("day"), last=Max("day"))
    days = days | set(weekly_days(span["first"], span["last"]))
    KPIValue.objects.filter(kpi=CODE).delete()
    compute_period_values(
        periods=(), families={"calls": _periods(days)}, now=now, calls_from_days=True
    )


def call_days_replace(cells: QuerySet, *, now: dt.datetime) -> None:
    """Replace the `CallDay` rows of the (rep, day) cells in `cells` (a DirtyCell queryset) and
    move the stored calls_per_customer values by the difference (in the cells' transaction)."""
    days = set(cells.values_list("day", flat=True))
    if not days:
        return
    built, moved = _record_teams()
    if not built:
        _rebuild_rows()
        _recompute_all(days, now)
        return

    def of_cells(rep: str, day: str) -> Exists:
        return Exists(cells.filter(rep_id=OuterRef(rep), day=OuterRef(day)))

    stored = CallDay.objects.filter(of_cells("rep_id", "day"))
    counted = _counted(call_rows().filter(of_cells("owner_id", "occurred_day")))
    if moved:
        stored.delete()
        _insert_rows(counted)
        _recompute_all(days, now)
        return
    bounds = [Bounds.of(rng, now) for rng in _periods(days)]
    _adjust(bounds, stored, counted, now)
    # Write only the rows that changed (a cell's rows are mostly the same as at the last run).
    same = (
        call_rows()
        .filter(
            owner_id=OuterRef("rep_id"),
            occurred_day=OuterRef("day"),
            company_id=OuterRef("company_id"),
        )
        .order_by()
        .values("owner_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    stored.exclude(calls=Coalesce(Subquery(same), 0)).delete()
    _insert_rows(counted, kept=True)


def _probe(sk: int, *, outside_cells: bool) -> str:
    """SQL: a `CallDay` row of key k's scope has its company in period p (`outside_cells`:
    besides the cells' rows about to go, when they held the key before): one index range of
    (company, day)."""
    gone = "(SELECT owner_, day_, company_ FROM kpi_gone)"
    cells = f"AND (s.rep_id, s.day, s.company_id) NOT IN {gone}" if outside_cells else ""
    rows = (
        f"SELECT 1 FROM {table(CallDay)} s WHERE s.company_id = k.company_id "  # noqa: S608
        f"AND s.day >= p.pstart AND s.day < p.pend {cells}"
    )
    if sk == REP:
        return f"EXISTS ({rows} AND s.rep_id = k.scope_id)"
    if sk == TEAM:
        return f"EXISTS ({rows} AND s.team_id = k.scope_id)"
    return f"EXISTS ({rows})"


def _adjust(bounds: list[Bounds], stored: QuerySet, counted: QuerySet, now: dt.datetime) -> None:
    """Upsert the differences into the stored values of `bounds` (one statement), then drop the
    values left without a company."""
    before = stored.values(
        owner_=F("rep_id"),
        day_=F("day"),
        company_=F("company_id"),
        team_=F("team_id"),
        n=F("calls"),
    )
    gained = " ".join(
        f"WHEN k.sk = {sk} AND k.had = 0 THEN "
        f"CASE WHEN {_probe(sk, outside_cells=False)} THEN 0 ELSE 1 END "
        f"WHEN k.sk = {sk} THEN CASE WHEN {_probe(sk, outside_cells=True)} THEN 0 ELSE -1 END"
        for sk in (REP, TEAM, ORG)
    )
    ctes: list[Cte] = [
        periods_cte(bounds),
        days_cte(bounds),
        orm_cte("kpi_before", before.order_by()),
        orm_cte("kpi_after", counted),
        # Rows the same before and after move nothing: only the others are keyed and probed.
        (
            "kpi_gone",
            "SELECT owner_, day_, company_, team_, n FROM kpi_before "
            "EXCEPT SELECT owner_, day_, company_, team_, n FROM kpi_after",
            [],
        ),
        (
            "kpi_sides (rep_id, day, company_id, team_id, side, n)",
            "SELECT owner_, day_, company_, team_, 0, n FROM kpi_gone UNION ALL "
            "SELECT * FROM (SELECT owner_, day_, company_, team_, 1, n FROM kpi_after "
            "EXCEPT SELECT owner_, day_, company_, team_, 1, n FROM kpi_before) came",
            [],
        ),
        (
            "kpi_keyed (sk, scope_id, pid, company_id, side, n)",
            f"SELECT {REP}, x.rep_id, d.pid, x.company_id, x.side, x.n "  # noqa: S608
            "FROM kpi_sides x JOIN kpi_days d ON d.day = x.day "
            f"UNION ALL SELECT {TEAM}, x.team_id, d.pid, x.company_id, x.side, x.n "
            "FROM kpi_sides x JOIN kpi_days d ON d.day = x.day WHERE x.team_id IS NOT NULL "
            f"UNION ALL SELECT {ORG}, 0, d.pid, x.company_id, x.side, x.n "
            "FROM kpi_sides x JOIN kpi_days d ON d.day = x.day",
            [],
        ),
        (
            # had / has: the cells held the key before / hold it after; dn: their calls' change.
            "kpi_keys",
            "SELECT sk, scope_id, pid, company_id, MAX(1 - side) AS had, MAX(side) AS has, "
            "SUM(CASE WHEN side = 1 THEN n ELSE -n END) AS dn FROM kpi_keyed "
            "GROUP BY sk, scope_id, pid, company_id",
            [],
        ),
        (
            "kpi_delta",
            "SELECT k.sk AS sk, k.scope_id AS scope_id, k.pid AS pid, SUM(k.dn) AS dn, "  # noqa: S608
            f"SUM(CASE WHEN k.had = k.has THEN 0 {gained} END) AS dc "
            "FROM kpi_keys k JOIN kpi_periods p ON p.pid = k.pid "
            "GROUP BY k.sk, k.scope_id, k.pid",
            [],
        ),
    ]

    def materialized(name: str) -> str:
        # PostgreSQL would otherwise inline the sums into the final WHERE and run every probe
        # twice.
        return "MATERIALIZED " if name == "kpi_delta" and connection.vendor == "postgresql" else ""

    value = table(KPIValue)
    columns = VALUE_COLUMNS
    num, den = (f"{value}.{qn(c)} + excluded.{qn(c)}" for c in ("numerator", "denominator"))
    key = ", ".join(qn(c) for c in columns[:6])
    statement = (
        f"INSERT INTO {value} ({', '.join(qn(c) for c in columns)}) "  # noqa: S608
        f"WITH {', '.join(f'{name} AS {materialized(name)}({sql})' for name, sql, _ in ctes)} "
        f"SELECT {scope_text('a.sk')}, a.scope_id, {param('text')}, p.period, p.pstart, '', "
        f"CAST(a.dn AS {FLOAT}) / NULLIF(a.dc, 0), CAST(a.dn AS {FLOAT}), "
        f"CAST(a.dc AS {FLOAT}), {param('moment')} "
        "FROM kpi_delta a JOIN kpi_periods p ON p.pid = a.pid WHERE a.dn <> 0 OR a.dc <> 0 "
        f"ON CONFLICT ({key}) DO UPDATE SET {qn('numerator')} = {num}, "
        f"{qn('denominator')} = {den}, {qn('value')} = ({num}) / NULLIF({den}, 0), "
        f"{qn('computed_at')} = excluded.{qn('computed_at')}"
    )
    params = [p for _, _, cte_params in ctes for p in cte_params] + [CODE, moment(now)]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
    starts = {b.start for b in bounds}
    KPIValue.objects.filter(kpi=CODE, period_start__in=starts, denominator__lte=0).delete()
