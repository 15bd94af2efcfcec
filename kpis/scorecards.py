"""A rep's scorecard: the KPIs of their role preset for one period, against their targets.

Read by the API (`/api/v1/scorecards/{user_id}/`) and the scorecard page; a constant number of
queries whatever the role preset holds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from kpis.models import RolePreset
from kpis.periods import PeriodRange, period_containing
from kpis.registry import KPI, REGISTRY, Category, Kind, Period, role_preset
from kpis.selectors import Value, kpi_values
from kpis.targets import Pace, Status, attainment, attainment_status, pace, targets_for_reps
from people.models import User

# Leading first (activity, efficiency, progress), then lagging (result).
CATEGORY_ORDER: tuple[Category, ...] = (
    Category.ACTIVITY,
    Category.EFFICIENCY,
    Category.PROGRESS,
    Category.RESULT,
)


@dataclass(frozen=True)
class ScorecardLine:
    kpi: KPI
    # None: no data in the period (or a ratio whose denominator is 0).
    value: float | None
    numerator: float | None
    denominator: float | None
    target: Decimal | None
    attainment: Decimal | None
    status: Status | None
    # Current period, additive KPIs with a target only.
    pace: Pace | None

    @property
    def projection(self) -> Decimal | None:
        """The value at the period's end at the pace so far (see `kpis.targets.pace`)."""
        return self.pace.projection if self.pace is not None else None


@dataclass(frozen=True)
class ScorecardGroup:
    category: Category
    lines: tuple[ScorecardLine, ...]

    @property
    def kind(self) -> Kind:
        return self.lines[0].kpi.kind


@dataclass(frozen=True)
class Scorecard:
    rep: User
    period: PeriodRange
    day: dt.date
    today: dt.date
    # Leading groups first, then lagging; categories without a KPI are left out.
    groups: tuple[ScorecardGroup, ...]

    @property
    def is_current(self) -> bool:
        return self.period.contains(self.today)

    @property
    def lines(self) -> tuple[ScorecardLine, ...]:
        return tuple(line for group in self.groups for line in group.lines)


def scorecard_codes(*, role: str) -> list[str]:
    """The KPI codes of a role's scorecard: its `RolePreset` rows in order (as managers edited
    them), else the registry's default preset (KPIS.md); one query."""
    stored = RolePreset.objects.filter(role=role).order_by("order", "kpi")
    codes = [code for code in stored.values_list("kpi", flat=True) if code in REGISTRY]
    return codes or [kpi.code for kpi in role_preset(role)]


def scorecard_for_rep(
    *, rep: User, period: Period | str, day: dt.date, today: dt.date
) -> Scorecard:
    """The rep's role-preset KPIs for the period containing `day`: value, target, attainment and
    status, and pace and projection while the period is current; at most 6 queries."""
    span = period_containing(period, day)
    codes = scorecard_codes(role=rep.role)
    values = {
        v.kpi: v
        for v in kpi_values(
            codes=codes,
            scope="rep",
            period=span.period,
            start=span.start,
            end=span.end,
            scope_ids=[rep.pk],
        )
        if v.dimension == "" and v.period_start == span.start
    }
    targets = targets_for_reps(
        reps=[rep], codes=codes, period=span.period, period_starts=[span.start]
    )
    groups = scorecard_groups(
        rep=rep, span=span, codes=codes, values=values, targets=targets, today=today
    )
    return Scorecard(rep=rep, period=span, day=day, today=today, groups=groups)


def scorecard_groups(
    *,
    rep: User,
    span: PeriodRange,
    codes: list[str],
    values: dict[str, Value],
    targets: dict[tuple[int, str, dt.date], Decimal | None],
    today: dt.date,
) -> tuple[ScorecardGroup, ...]:
    """The scorecard lines of `codes` from already-read plain values of the period (by code) and
    the rep's targets, grouped leading then lagging; no queries."""
    by_category: dict[Category, list[ScorecardLine]] = {}
    for code in codes:
        kpi = REGISTRY[code]
        found = values.get(code)
        value = found.value if found is not None else None
        target = targets.get((rep.pk, code, span.start))
        reached = attainment(value=value, target=target, direction=kpi.direction)
        by_category.setdefault(kpi.category, []).append(
            ScorecardLine(
                kpi=kpi,
                value=value,
                numerator=found.numerator if found is not None else None,
                denominator=found.denominator if found is not None else None,
                target=target,
                attainment=reached,
                status=attainment_status(reached),
                pace=pace(code=code, value=value, target=target, period=span, today=today),
            )
        )
    return tuple(
        ScorecardGroup(category, tuple(by_category[category]))
        for category in CATEGORY_ORDER
        if category in by_category
    )
