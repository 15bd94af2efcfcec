"""What the team comparison shows: cells, rows, columns and the page, prepared for templates
and exports (see `kpis.team_comparison`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

from kpis.funnel import ProportionTest
from kpis.periods import PeriodRange
from kpis.registry import KPI, Direction
from kpis.targets import Status
from kpis.templatetags.kpis_ui import STATUS_ICONS, format_number, status_label
from people.models import Team, User
from pipeline.models import Stage

# Derived from what reps are paid: only the team's manager (and a superuser) sees everyone's.
PAY_DERIVED = frozenset({"cost_to_revenue"})


def best_first(kpi: KPI) -> str:
    """The sort parameter putting the best reps first: descending for `up`, ascending for `down`."""
    return kpi.code if kpi.direction is Direction.DOWN else f"-{kpi.code}"


@dataclass(frozen=True)
class Cell:
    kpi: KPI
    value: float | None
    target: Decimal | None = None
    attainment: Decimal | None = None
    status: Status | None = None
    # Without a target: "above", "below" or "equal" the team median (numerically) ...
    versus_median: str | None = None
    # ... and whether that is better (direction-aware: below is better for `down` KPIs).
    better: bool | None = None
    # Pay-derived and not the viewer's to see.
    hidden: bool = False
    records_url: str | None = None

    @property
    def tone(self) -> str:
        """The cell's colour class: the target status, else better/worse than the median."""
        if self.hidden or self.value is None:
            return ""
        if self.status is not None:
            return str(self.status)
        if self.versus_median == "equal":
            return "even"
        if self.better is not None:
            return "better" if self.better else "worse"
        return ""

    @property
    def status_icon(self) -> str:
        return STATUS_ICONS.get(self.status, "") if self.status else ""

    @property
    def status_text(self) -> str:
        return status_label(self.status) if self.status else ""

    @property
    def median_icon(self) -> str:
        return {"above": "▲", "below": "▼", "equal": "="}.get(self.versus_median or "", "")

    @property
    def better_word(self) -> str:
        """The short visible word beside the median marker on a phone card."""
        if self.better is None:
            return ""
        return _("better") if self.better else _("worse")

    @property
    def median_text(self) -> str:
        """The words for the median marker (screen readers, tooltips, cards)."""
        if self.versus_median == "above":
            return (
                _("above the team median, better")
                if self.better
                else _("above the team median, worse")
            )
        if self.versus_median == "below":
            return (
                _("below the team median, better")
                if self.better
                else _("below the team median, worse")
            )
        if self.versus_median == "equal":
            return _("at the team median")
        return ""


@dataclass(frozen=True)
class FunnelCell:
    stage: Stage
    conversion: float | None
    forward: float | None  # Entries exited forward (the conversion's numerator).
    exits: float | None  # Entries exited (its denominator, the sample).
    days: float | None
    # Set when the rep converts significantly worse than the rest of the team.
    flag: ProportionTest | None = None
    conversion_url: str | None = None
    days_url: str | None = None

    @property
    def p_text(self) -> str:
        """The flag's p-value for its tooltip: "0.019", "< 0.001"."""
        if self.flag is None:
            return ""
        if self.flag.p_value < 0.001:
            return f"< {format_number(0.001, 3)}"
        return format_number(self.flag.p_value, 3)

    @property
    def sample(self) -> str:
        if self.exits is None:
            return ""
        return f"{round(self.forward or 0)}/{round(self.exits)}"


@dataclass(frozen=True)
class RepRow:
    rep: User
    cells: tuple[Cell, ...]
    funnel: tuple[FunnelCell, ...]
    is_viewer: bool

    def cell(self, code: str) -> Cell | None:
        return next((c for c in self.cells if c.kpi.code == code), None)


@dataclass(frozen=True)
class Column:
    kpi: KPI
    # "ascending" / "descending" when the table is sorted by this KPI, else "none" (aria-sort).
    sorted: str
    # The `sort` parameter a click on the header asks for: best first, or the reverse when
    # already sorted best first.
    next_sort: str
    # Pay-derived columns the viewer sees only their own value of are not sortable.
    sortable: bool = True


@dataclass(frozen=True)
class TeamComparison:
    team: Team
    role: str
    role_counts: dict[str, int]
    period: PeriodRange
    today: dt.date
    columns: tuple[Column, ...]
    sort: str  # "code" ascending, "-code" descending
    rows: tuple[RepRow, ...]
    team_cells: tuple[Cell, ...]
    median_cells: tuple[Cell, ...]
    chart_kpi: KPI
    chart_choices: tuple[KPI, ...]
    stages: tuple[Stage, ...]
    team_funnel: tuple[FunnelCell, ...]
    sees_pay: bool

    @property
    def kpis(self) -> tuple[KPI, ...]:
        return tuple(column.kpi for column in self.columns)

    @property
    def sort_code(self) -> str:
        return self.sort.lstrip("-")

    @property
    def is_current(self) -> bool:
        return self.period.contains(self.today)

    @property
    def role_label(self) -> str:
        return str(User.Role(self.role).label)

    @property
    def sort_choices(self) -> list[tuple[str, str]]:
        """The sort select (phones have no column headers): each KPI both ways, best first."""
        choices = []
        for kpi in self.chart_choices:
            best = best_first(kpi)
            worst = best[1:] if best.startswith("-") else f"-{best}"
            choices.append((best, _("%(kpi)s, best first") % {"kpi": kpi.name}))
            choices.append((worst, _("%(kpi)s, worst first") % {"kpi": kpi.name}))
        return choices
