"""open_opportunities and pipeline_value: the opportunities open at each period's T.

T = min(period end, now). One LEAD() pass over the stage history turns every row into an open
stage into an interval (since, until]: the opportunity is open at T through that row exactly
when since < T <= until. Per current owner, +1 / +amount at since and −1 / −amount at until,
swept in time order with a probe at every T, give the count and the sum at each T in one sort
of the history, whatever the number of periods; teams and the organisation sum their reps
(counts and money are additive). Amounts are summed as integer cents (exact on SQLite too).
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model

from people.models import Team
from pipeline.models import Opportunity, Stage, StageChange

from .sql import (
    FLOAT,
    ORG,
    REP,
    TEAM,
    Cte,
    cents,
    insert,
    moment,
    param,
    period_columns,
    rollup,
    table,
)

# Users who get a stored zero for the snapshot counts even when they own nothing.
SALES_ROLES: tuple[str, ...] = ("sdr", "ae", "am")


def open_pipeline(
    common: list[Cte], first: dt.datetime, last: dt.datetime, now: dt.datetime
) -> int:
    """open_opportunities and pipeline_value at each period's T (its end, or now); `first` and
    `last` are the earliest and latest T of the run."""
    opp, change, stage = table(Opportunity), table(StageChange), table(Stage)
    user = table(get_user_model())
    roles = ", ".join(["%s"] * len(SALES_ROLES))
    ctes = common + [
        (
            "kpi_moves",
            "SELECT c.opportunity_id AS opportunity_id, c.changed_at AS changed_at, "  # noqa: S608
            "s.outcome AS outcome, LEAD(c.changed_at) OVER "
            "(PARTITION BY c.opportunity_id ORDER BY c.changed_at, c.id) AS next_at "
            f"FROM {change} c JOIN {stage} s ON s.id = c.to_stage_id",
            [],
        ),
        (
            # A row into an open stage is the latest row before T, and the opportunity exists,
            # exactly when since < T <= until (until NULL: no later row).
            "kpi_intervals",
            f"SELECT o.owner_id AS owner_id, {cents('o.amount')} AS cents, "  # noqa: S608
            "CASE WHEN m.changed_at > o.created_at THEN m.changed_at ELSE o.created_at END "
            "AS since, m.next_at AS until "
            f"FROM kpi_moves m JOIN {opp} o ON o.id = m.opportunity_id "
            f"WHERE m.outcome = {param('text')}",
            [Stage.Outcome.OPEN.value],
        ),
        (
            # Only intervals that hold some T: one that ends before the first T, or starts at
            # or after the last, adds nothing at any T (+1 and −1 cancel, or neither counts).
            "kpi_open",
            "SELECT owner_id, cents, since, until FROM kpi_intervals "  # noqa: S608
            f"WHERE (until IS NULL OR (until > since AND until >= {param('moment')})) "
            f"AND since < {param('moment')}",
            [moment(first), moment(last)],
        ),
        (
            # +1 at since, −1 at until, and a probe (k = 0) per owner at every T; a probe sorts
            # before an event at the same moment, so its running sum counts since < T, until < T.
            "kpi_events (owner_id, t, k, dn, dc)",
            "SELECT owner_id, since, 1, 1, cents FROM kpi_open "
            "UNION ALL SELECT owner_id, until, 1, -1, -cents FROM kpi_open "
            "WHERE until IS NOT NULL "
            "UNION ALL SELECT w.owner_id, e.at_end, 0, 0, 0 "
            "FROM (SELECT DISTINCT owner_id FROM kpi_open) w "
            "CROSS JOIN (SELECT DISTINCT at_end FROM kpi_periods) e",
            [],
        ),
        (
            "kpi_swept",
            "SELECT owner_id, t, k, SUM(dn) OVER w AS n, SUM(dc) OVER w AS c FROM kpi_events "
            "WINDOW w AS (PARTITION BY owner_id ORDER BY t, k ROWS UNBOUNDED PRECEDING)",
            [],
        ),
        (
            "kpi_rep",
            "SELECT s.owner_id AS owner_id, p.pid AS pid, s.n AS n, s.c AS c "
            "FROM kpi_swept s JOIN kpi_periods p ON p.at_end = s.t WHERE s.k = 0",
            [],
        ),
        # Reps only when they own some (others get their zero from the universe).
        ("kpi_agg (sk, scope_id, pid, n, c)", rollup("kpi_rep", ("n", "c"), "r.n > 0"), []),
        (
            "kpi_universe (sk, scope_id)",
            f"SELECT {REP}, id FROM {user} WHERE is_active = %s AND role IN ({roles}) "  # noqa: S608
            f"UNION SELECT {TEAM}, id FROM {table(Team)} UNION SELECT {ORG}, 0",
            [True, *SALES_ROLES],
        ),
        (
            "kpi_keys",
            "SELECT u.sk AS sk, u.scope_id AS scope_id, p.pid AS pid "
            "FROM kpi_universe u CROSS JOIN kpi_periods p "
            "UNION SELECT sk, scope_id, pid FROM kpi_agg",
            [],
        ),
    ]

    def select(value: str) -> str:
        return (
            f"SELECT {period_columns(param('text'), 'k.sk', 'k.scope_id')}, '', "  # noqa: S608
            f"CAST({value} AS {FLOAT}), CAST(NULL AS {FLOAT}), "
            f"CAST(NULL AS {FLOAT}), {param('moment')} FROM kpi_keys k "
            "JOIN kpi_periods p ON p.pid = k.pid LEFT JOIN kpi_agg a "
            "ON a.sk = k.sk AND a.scope_id = k.scope_id AND a.pid = k.pid"
        )

    pipeline = f"CAST(COALESCE(a.c, 0) AS {FLOAT}) / 100"
    return insert(
        ctes,
        f"{select('COALESCE(a.n, 0)')} UNION ALL {select(pipeline)}",
        ["open_opportunities", moment(now), "pipeline_value", moment(now)],
    )
