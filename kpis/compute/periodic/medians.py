"""Medians: lead_response_minutes, days_in_stage (per open stage), sales_cycle_days.

A median needs every scope's own rows, so each fact (one duration, computed once) is joined to
its periods through `kpi_days` and fanned out to its scopes: the rep, the rep's current team,
the organisation. The group (scope, period, dimension) is packed into one integer, so the sort
that finds the middle values compares one integer (then the value) instead of four columns.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.db.models import F

from activities.models import Activity
from pipeline.models import Lead, Opportunity, Stage, StageChange

from .sql import (
    FLOAT,
    MICROS_PER_DAY,
    MICROS_PER_MINUTE,
    Cte,
    date,
    duration,
    insert,
    moment,
    orm_cte,
    param,
    period_columns,
    scope_of_skey,
    table,
)


def use_percentile() -> bool:
    """PostgreSQL takes the two middle values of each group with `percentile_disc` (one sort on
    the packed group key, then a small sort of each group's values); the portable form ranks
    every row with window functions. Both average the same two values: identical results."""
    return connection.vendor == "postgresql"


# The two middle positions of n sorted values, ceil(0.5·n) and ceil((0.5 + ε)·n): (n + 1) / 2 and
# (n + 2) / 2 in integer division, for any n below 1 / (2ε) = 5·10¹¹.
_MIDDLE = "ARRAY[0.5, 0.5 + 1e-12]"


def _median(
    common: list[Cte],
    code: str,
    rows: list[Cte],
    now: dt.datetime,
    *,
    periods: int,
    by_stage: bool = False,
) -> int:
    """Median of x per scope, period and dimension.

    `rows` end with a CTE `kpi_rows` of owner_, day_, dim_ (a stage id, or 0) and x_, computed
    once per fact (not once per period); rows missing an owner or x are skipped. Each fact is
    joined to its periods and fanned out to its scopes. The group (scope, period, dimension) is
    packed into one integer, gk = (skey · periods + pid) · dims + dim, so the sort that finds the
    middle values compares one integer (then x) instead of four columns (several times faster on
    PostgreSQL) and moves narrow (gk, x) rows; the columns are decoded from gk afterwards. gk
    fits in 64 bits while (2 · largest user or team id + 2) · periods · (largest stage id + 1)
    < 2⁶³, e.g. ids below 10⁹, 10⁴ periods and stage ids below 10⁵.
    """
    dims = f"(SELECT MAX(id) + 1 FROM {table(Stage)})" if by_stage else "1"  # noqa: S608
    ctes = common + [
        *rows,
        (
            "kpi_obs",
            "SELECT f.owner_ AS owner_id, d.pid AS pid, f.dim_ AS dim, f.x_ AS x "
            "FROM kpi_rows f JOIN kpi_days d ON d.day = f.day_ "
            "WHERE f.owner_ IS NOT NULL AND f.x_ IS NOT NULL",
            [],
        ),
        (
            # Only (gk, x) travel through the sort; the group's columns are decoded from gk.
            "kpi_scoped",
            f"SELECT (m.skey * {periods} + o.pid) * {dims} + o.dim AS gk, o.x AS x "  # noqa: S608
            "FROM kpi_obs o JOIN kpi_members m ON m.member_id = o.owner_id "
            f"UNION ALL SELECT o.pid * {dims} + o.dim, o.x FROM kpi_obs o",
            [],
        ),
    ]
    if use_percentile():
        ctes += [
            (
                "kpi_middle",
                f"SELECT gk, percentile_disc({_MIDDLE}) WITHIN GROUP (ORDER BY x) AS mid, "  # noqa: S608
                "COUNT(*) AS n FROM kpi_scoped GROUP BY gk",
                [],
            ),
            ("kpi_groups", "SELECT gk, (mid[1] + mid[2]) / 2 AS v, n FROM kpi_middle", []),
        ]
    else:
        ctes += [
            (
                "kpi_ranked",
                "SELECT gk, x, ROW_NUMBER() OVER (PARTITION BY gk ORDER BY x) AS rn, "
                "COUNT(*) OVER (PARTITION BY gk) AS cnt FROM kpi_scoped",
                [],
            ),
            (
                "kpi_groups",
                "SELECT gk, AVG(x) AS v, MAX(cnt) AS n FROM kpi_ranked "
                "WHERE rn IN ((cnt + 1) / 2, (cnt + 2) / 2) GROUP BY gk",
                [],
            ),
        ]
    sk, scope_id = scope_of_skey("g.skey")
    ctes.append(
        (
            "kpi_medians",
            f"SELECT {sk} AS sk, {scope_id} AS scope_id, g.pid AS pid, g.dim AS dim, "  # noqa: S608
            f"g.v AS v, g.n AS n FROM (SELECT gk / {dims} / {periods} AS skey, "
            f"(gk / {dims}) %% {periods} AS pid, gk %% {dims} AS dim, v, n FROM kpi_groups) g",
            [],
        )
    )
    if by_stage:
        dimension, join = "'stage:' || s.slug", f"JOIN {table(Stage)} s ON s.id = m.dim"
    else:
        dimension, join = "''", ""
    select = (
        f"SELECT {period_columns(param('text'))}, {dimension}, "  # noqa: S608
        f"m.v, CAST(NULL AS {FLOAT}), CAST(m.n AS {FLOAT}), {param('moment')} "
        f"FROM kpi_medians m JOIN kpi_periods p ON p.pid = m.pid {join}"
    )
    return insert(ctes, select, [code, moment(now)])


def lead_response_minutes(
    common: list[Cte], lo: dt.date, hi: dt.date, now: dt.datetime, *, periods: int
) -> int:
    # Each lead's first completed activity, looked up once: the inner join keeps the leads that
    # have one, MIN is the earliest moment, and the minutes are computed in the same GROUP BY.
    lead, activity = table(Lead), table(Activity)
    minutes = duration("l.received_at", "MIN(a.occurred_at)", MICROS_PER_MINUTE)
    rows = [
        (
            "kpi_rows",
            "SELECT l.assigned_to_id AS owner_, l.received_day AS day_, 0 AS dim_, "  # noqa: S608
            f"{minutes} AS x_ FROM {lead} l JOIN {activity} a ON a.lead_id = l.id "
            f"WHERE a.status = {param('text')} AND l.assigned_to_id IS NOT NULL "
            f"AND l.received_day >= {param('date')} AND l.received_day < {param('date')} "
            "GROUP BY l.id, l.assigned_to_id, l.received_day, l.received_at",
            [Activity.Status.COMPLETED.value, date(lo), date(hi)],
        )
    ]
    return _median(common, "lead_response_minutes", rows, now, periods=periods)


def days_in_stage(
    common: list[Cte], lo: dt.date, hi: dt.date, now: dt.datetime, *, periods: int
) -> int:
    # One LEAD() pass: every stage-change row with the opportunity's next row (its exit). Rows
    # are not filtered before the window (an entry's next row must stay visible); only
    # opportunities without any move in the day range are left out as a whole.
    change, stage = table(StageChange), table(Stage)
    window = "OVER (PARTITION BY c.opportunity_id ORDER BY c.changed_at, c.id)"
    days = duration("c.changed_at", f"LEAD(c.changed_at) {window}", MICROS_PER_DAY)
    rows = [
        (
            "kpi_moves",
            "SELECT c.to_stage_id AS stage_id, "  # noqa: S608
            f"LEAD(c.owner_id) {window} AS exit_owner, LEAD(c.changed_day) {window} AS exit_day, "
            f"{days} AS days FROM {change} c "
            f"WHERE c.opportunity_id IN (SELECT m.opportunity_id FROM {change} m "
            f"WHERE m.changed_day >= {param('date')} AND m.changed_day < {param('date')})",
            [date(lo), date(hi)],
        ),
        (
            # Entries into an open stage only: won/lost entries have no dimension.
            "kpi_rows",
            "SELECT m.exit_owner AS owner_, m.exit_day AS day_, m.stage_id AS dim_, "  # noqa: S608
            f"m.days AS x_ FROM kpi_moves m JOIN {stage} s ON s.id = m.stage_id "
            f"WHERE s.outcome = {param('text')}",
            [Stage.Outcome.OPEN.value],
        ),
    ]
    return _median(common, "days_in_stage", rows, now, periods=periods, by_stage=True)


def sales_cycle_days(
    common: list[Cte], lo: dt.date, hi: dt.date, now: dt.datetime, *, periods: int
) -> int:
    won = (
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
            start_=F("created_at"),
            end_=F("closed_at"),
        )
    )
    rows = [
        orm_cte("kpi_won", won),
        (
            "kpi_rows",
            "SELECT owner_, day_, 0 AS dim_, "  # noqa: S608
            f"{duration('start_', 'end_', MICROS_PER_DAY)} AS x_ FROM kpi_won",
            [],
        ),
    ]
    return _median(common, "sales_cycle_days", rows, now, periods=periods)
