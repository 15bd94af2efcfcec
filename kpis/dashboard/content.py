"""What the manager dashboard shows: the KPI codes of each block and the rows the page renders."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from kpis.periods import PeriodRange
from kpis.registry import KPI, Direction, Period
from kpis.targets import Pace, Status
from people.models import Team
from pipeline.models import Stage

# The "now vs target" tiles: results first, then the pipeline, then what reps do.
TILE_CODES: tuple[str, ...] = (
    "revenue_won",
    "deals_won",
    "win_rate",
    "avg_deal_size",
    "pipeline_value",
    "open_opportunities",
    "meetings_booked",
    "meetings_held",
    "calls_made",
    "activities_total",
    "lead_response_minutes",
    "sales_cycle_days",
)
CUSTOMER_CODES: tuple[str, ...] = ("churn_rate", "repeat_purchase_rate")
TREND_CODES: tuple[str, ...] = TILE_CODES + CUSTOMER_CODES
LEADERBOARD_CODES: tuple[str, ...] = TILE_CODES
FUNNEL_CODES: tuple[str, ...] = ("stage_conversion", "days_in_stage")
DEFAULT_KPI = "revenue_won"
TREND_PERIODS = 12
LEADERBOARD_SIZE = 10
DEAL_SIZE_FAMILIES: tuple[str, ...] = ("lead_source", "customer_type", "channel")
DASHBOARD_PERIODS: tuple[Period, ...] = (Period.WEEK, Period.MONTH)


@dataclass(frozen=True)
class Tile:
    kpi: KPI
    value: float | None
    target: Decimal | None
    attainment: Decimal | None
    status: Status | None
    pace: Pace | None
    previous: float | None
    records_url: str | None

    @property
    def change(self) -> float | None:
        """Value minus the previous period's value (None when either is missing)."""
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous

    @property
    def change_abs(self) -> float | None:
        change = self.change
        return abs(change) if change is not None else None

    @property
    def trend(self) -> str:
        """ "up", "down" or "flat" (the arrow), "" without a change."""
        change = self.change
        if change is None:
            return ""
        return "up" if change > 0 else "down" if change < 0 else "flat"

    @property
    def better(self) -> bool | None:
        """Whether the change is an improvement, given the KPI's direction (None when flat)."""
        change = self.change
        if not change:
            return None
        return (change > 0) == (self.kpi.direction is Direction.UP)


@dataclass(frozen=True)
class TrendPoint:
    period: PeriodRange
    value: float | None
    target: Decimal | None


@dataclass(frozen=True)
class LeaderRep:
    """What the leaderboard shows and resolves targets by of a rep: read as plain rows, since an
    organisation ranks ~240 reps to show 10."""

    pk: int
    team_id: int | None
    role: str
    name: str  # As `str(user)`: the full name, else the username.
    team: str  # The team's name, "" without a team.

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class LeaderboardRow:
    rank: int
    rep: LeaderRep
    value: float | None
    target: Decimal | None
    status: Status | None
    records_url: str | None


@dataclass(frozen=True)
class FunnelStage:
    stage: Stage
    conversion: float | None
    entries_exited: float | None  # The sample: entries in the period that have been exited.
    days: float | None
    conversion_url: str | None
    days_url: str | None


@dataclass(frozen=True)
class DealSize:
    key: str  # The dimension key, e.g. "lead_source:website".
    label: str
    value: float | None
    revenue: float
    deals: float
    share: float  # Of the largest value in the family, 0..1, for the bar.
    records_url: str | None

    @property
    def deal_count(self) -> int:
        return round(self.deals)


@dataclass(frozen=True)
class DealSizeGroup:
    family: str
    title: str
    rows: tuple[DealSize, ...]


@dataclass(frozen=True)
class Dashboard:
    scope: str  # "team" or "org"
    team: Team | None
    period: PeriodRange
    today: dt.date
    tiles: tuple[Tile, ...]
    customers: tuple[Tile, ...]
    trend_kpi: KPI
    trend: tuple[TrendPoint, ...]
    leaderboard_kpi: KPI
    leaderboard: tuple[LeaderboardRow, ...]
    leaderboard_reps: int  # Reps ranked in all, before the top 10.
    funnel: tuple[FunnelStage, ...]
    deal_sizes: tuple[DealSizeGroup, ...]
    # The first period of the trend window.
    window_start: PeriodRange
    # The latest recompute of the period's values shown (None: nothing computed for it yet).
    computed_at: dt.datetime | None

    @property
    def is_current(self) -> bool:
        return self.period.contains(self.today)

    @property
    def scope_id(self) -> int | None:
        return self.team.pk if self.team is not None else None
