"""The manager dashboard: a team's or the organisation's KPIs now, over time and against target.

`content` declares what the page shows (the KPI codes of each block, the rows it renders);
`build` reads it (`dashboard_for`, in a constant number of queries) and the scopes a viewer may
choose. Callers import from `kpis.dashboard`.
"""

from kpis.dashboard.build import dashboard_for, dashboard_reps, dashboard_teams
from kpis.dashboard.content import (
    CUSTOMER_CODES,
    DASHBOARD_PERIODS,
    DEAL_SIZE_FAMILIES,
    DEFAULT_KPI,
    FUNNEL_CODES,
    LEADERBOARD_CODES,
    LEADERBOARD_SIZE,
    TILE_CODES,
    TREND_CODES,
    TREND_PERIODS,
    Dashboard,
    DealSize,
    DealSizeGroup,
    FunnelStage,
    LeaderboardRow,
    LeaderRep,
    Tile,
    TrendPoint,
)

__all__ = [
    "CUSTOMER_CODES",
    "DASHBOARD_PERIODS",
    "DEAL_SIZE_FAMILIES",
    "DEFAULT_KPI",
    "FUNNEL_CODES",
    "LEADERBOARD_CODES",
    "LEADERBOARD_SIZE",
    "TILE_CODES",
    "TREND_CODES",
    "TREND_PERIODS",
    "Dashboard",
    "DealSize",
    "DealSizeGroup",
    "FunnelStage",
    "LeaderRep",
    "LeaderboardRow",
    "Tile",
    "TrendPoint",
    "dashboard_for",
    "dashboard_reps",
    "dashboard_teams",
]
