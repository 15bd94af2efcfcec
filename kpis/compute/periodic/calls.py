"""calls_per_customer: calls with a company / the distinct companies among them.

A distinct count per scope cannot be summed from the reps' counts, so every scope reads the calls.
Two equivalent statements; `compute_period_values` picks by how often the run's periods hold
each day (`spread`, 1 to 4):

- `grouped`: (rep, period, company) groups through `kpi_days`, then (team, period, company) from
  those and (period, company) from the team's; the distinct companies are the group counts.
  Cheap when each day sits in one or two periods (an incremental run: a year, a quarter, a
  month, a few weeks); when every day sits in four (a full run) the hash tables grow to
  millions of groups.
- `flagged`: a call is *new* for a scope in a period when the scope's previous call to that
  company (LAG over the calls of the same rep, team or organisation and company, by day) is
  before the period's first day, or there is none: a scope's distinct companies in a period are
  its new calls there. Flags are summed per rep and day, then per period through `kpi_types`
  (one row per day: no fan-out), then over the team's or organisation's reps. Three sorts of
  the calls, whatever the number of periods.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db.models import Count, F, QuerySet

from activities.models import Activity
from kpis.models import CallDay

from .sql import (
    FLOAT,
    ORG,
    PERIOD_TYPES,
    REP,
    TEAM,
    Cte,
    insert,
    moment,
    orm_cte,
    param,
    period_columns,
    table,
)

# Above this many periods per day on average, `flagged` beats `grouped` (measured on the bench
# dataset: 1.4 periods per day, grouped takes 0.7× the time of flagged; 2.7, flagged 0.35×).
GROUPED_MAX_SPREAD = 2.0


def call_rows() -> QuerySet:
    """Completed outbound calls with a company (services store a linked contact's, lead's or
    opportunity's company on the activity)."""
    return Activity.objects.filter(
        status=Activity.Status.COMPLETED,
        kind=Activity.Kind.CALL,
        direction="outbound",
        company__isnull=False,
    )


def _calls(lo: dt.date, hi: dt.date, *, from_days: bool) -> QuerySet:
    """The calls per (owner, local day, company) in [lo, hi): counted from the activities, or read
    from the `CallDay` rows kept from them (`from_days`)."""
    if from_days:
        rows = CallDay.objects.filter(day__gte=lo, day__lt=hi).values(
            owner_=F("rep_id"), day_=F("day"), company_=F("company_id"), n=F("calls")
        )
    else:
        rows = (
            call_rows()
            .filter(occurred_day__gte=lo, occurred_day__lt=hi)
            .values(owner_=F("owner_id"), day_=F("occurred_day"), company_=F("company_id"))
            .annotate(n=Count("id"))
        )
    return rows.order_by()


def _grouped() -> list[Cte]:
    user = table(get_user_model())
    return [
        (
            "kpi_rep",
            # Counts as INTEGER: their SUMs are BIGINT, not NUMERIC, on PostgreSQL (several
            # times cheaper per row; a scope's calls to a company in a period fit in 32 bits).
            "SELECT f.owner_ AS owner_id, d.pid AS pid, f.company_ AS company_id, "
            "CAST(SUM(f.n) AS INTEGER) AS n "
            "FROM kpi_calls f JOIN kpi_days d ON d.day = f.day_ "
            "GROUP BY f.owner_, d.pid, f.company_",
            [],
        ),
        (
            # Per current team; reps without one form the NULL team, which only the
            # organisation reads.
            "kpi_team",
            "SELECT u.team_id AS team_id, r.pid AS pid, r.company_id AS company_id, "  # noqa: S608
            "CAST(SUM(r.n) AS INTEGER) AS n "
            f"FROM kpi_rep r LEFT JOIN {user} u ON u.id = r.owner_id "
            "GROUP BY u.team_id, r.pid, r.company_id",
            [],
        ),
        (
            "kpi_counts (sk, scope_id, pid, calls, companies)",
            f"SELECT {REP}, owner_id, pid, SUM(n), COUNT(*) FROM kpi_rep "  # noqa: S608
            "GROUP BY owner_id, pid "
            f"UNION ALL SELECT {TEAM}, team_id, pid, SUM(n), COUNT(*) FROM kpi_team "
            "WHERE team_id IS NOT NULL GROUP BY team_id, pid "
            f"UNION ALL SELECT {ORG}, 0, pid, SUM(n), COUNT(*) FROM ("
            "SELECT pid, company_id, SUM(n) AS n FROM kpi_team GROUP BY pid, company_id"
            ") o GROUP BY pid",
            [],
        ),
    ]


def _flagged() -> list[Cte]:
    user = table(get_user_model())
    # Each scope's calls to one company (a rep without a team is in the NULL team, which only
    # the organisation reads).
    partitions = {
        "rep": "f.company_, f.owner_",
        "team": "f.company_, u.team_id",
        "org": "f.company_",
    }
    previous = ", ".join(
        f"LAG(f.day_) OVER (PARTITION BY {by} ORDER BY f.day_) AS prev_{scope}"
        for scope, by in partitions.items()
    )
    new = ", ".join(
        f"CAST(SUM(CASE WHEN c.prev_{scope} IS NULL OR c.prev_{scope} < t.{period}_start "
        f"THEN 1 ELSE 0 END) AS INTEGER) AS new_{scope}_{period}"
        for scope in partitions
        for period in PERIOD_TYPES
    )
    per_period = " UNION ALL ".join(
        f"SELECT r.owner_id, r.team_id, t.{period}_pid, SUM(r.n), "  # noqa: S608
        + ", ".join(f"SUM(r.new_{scope}_{period})" for scope in partitions)
        + " FROM kpi_repday r JOIN kpi_types t ON t.day = r.day "
        f"WHERE t.{period}_pid IS NOT NULL GROUP BY r.owner_id, r.team_id, t.{period}_pid"
        for period in PERIOD_TYPES
    )
    return [
        (
            "kpi_prev",
            "SELECT f.owner_ AS owner_id, u.team_id AS team_id, f.day_ AS day, f.n AS n, "  # noqa: S608
            f"{previous} FROM kpi_calls f LEFT JOIN {user} u ON u.id = f.owner_",
            [],
        ),
        (
            "kpi_repday",
            "SELECT c.owner_id AS owner_id, c.team_id AS team_id, c.day AS day, "  # noqa: S608
            f"CAST(SUM(c.n) AS INTEGER) AS n, {new} FROM kpi_prev c "
            "JOIN kpi_types t ON t.day = c.day "
            "GROUP BY c.owner_id, c.team_id, c.day",
            [],
        ),
        ("kpi_rep (owner_id, team_id, pid, n, new_rep, new_team, new_org)", per_period, []),
        (
            "kpi_counts (sk, scope_id, pid, calls, companies)",
            f"SELECT {REP}, owner_id, pid, n, new_rep FROM kpi_rep "  # noqa: S608
            f"UNION ALL SELECT {TEAM}, team_id, pid, SUM(n), SUM(new_team) FROM kpi_rep "
            "WHERE team_id IS NOT NULL GROUP BY team_id, pid "
            f"UNION ALL SELECT {ORG}, 0, pid, SUM(n), SUM(new_org) FROM kpi_rep GROUP BY pid",
            [],
        ),
    ]


def calls_per_customer(
    common: list[Cte],
    lo: dt.date,
    hi: dt.date,
    now: dt.datetime,
    *,
    grouped: bool,
    from_days: bool = False,
) -> int:
    """`common` holds `kpi_days` when `grouped`, else `kpi_types`; `from_days` reads the calls
    from the `CallDay` rows instead of the activities."""
    calls = orm_cte("kpi_calls", _calls(lo, hi, from_days=from_days))
    ctes = [*common, calls, *(_grouped() if grouped else _flagged())]
    select = (
        f"SELECT {period_columns(param('text'))}, '', "  # noqa: S608
        f"CAST(c.calls AS {FLOAT}) / c.companies, CAST(c.calls AS {FLOAT}), "
        f"CAST(c.companies AS {FLOAT}), {param('moment')} "
        "FROM kpi_counts c JOIN kpi_periods p ON p.pid = c.pid"
    )
    return insert(ctes, select, ["calls_per_customer", moment(now)])
