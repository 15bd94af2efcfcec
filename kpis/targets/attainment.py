"""Attainment, status and pace of a value against its target (KPIS.md "Targets, attainment,
pace")."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kpis.periods import PeriodRange
from kpis.registry import REGISTRY, Direction
from kpis.workdays import elapsed_working_days, working_days_in_period

Number = Decimal | float | int


class Status(models.TextChoices):
    MET = "met", _("Met")
    CLOSE = "close", pgettext_lazy("target status", "Close")
    BEHIND = "behind", _("Behind")


MET_AT = Decimal(1)
CLOSE_AT = Decimal("0.8")


def _decimal(number: Number) -> Decimal:
    if isinstance(number, Decimal):
        return number
    if isinstance(number, float):
        # Through str, so 0.35 becomes Decimal("0.35") and not its binary expansion.
        return Decimal(str(number))
    return Decimal(number)


def attainment(
    *, value: Number | None, target: Number | None, direction: Direction | str
) -> Decimal | None:
    """Value / target for `up` KPIs, target / value for `down` ones, as a fraction (1 = 100 %).

    None when either side is missing or the divisor is 0: a target of 0 for an `up` KPI, and a
    value of 0 for a `down` KPI (e.g. no unanswered leads). target / 0 has no meaningful
    percentage, so such a value shows no attainment and no status rather than an invented one.
    """
    if value is None or target is None:
        return None
    value, target = _decimal(value), _decimal(target)
    if Direction(direction) is Direction.UP:
        return value / target if target else None
    return target / value if value else None


def attainment_status(attainment: Decimal | None) -> Status | None:
    """Met at 100 % or more, close at 80 % or more, else behind; None without an attainment."""
    if attainment is None:
        return None
    if attainment >= MET_AT:
        return Status.MET
    if attainment >= CLOSE_AT:
        return Status.CLOSE
    return Status.BEHIND


# ---------------------------------------------------------------------------
# Pace
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Pace:
    expected_to_date: Decimal
    on_pace: bool
    # None when no working day has elapsed yet.
    projection: Decimal | None
    elapsed_working_days: int
    working_days: int


def pace(
    *,
    code: str,
    value: Number | None,
    target: Number | None,
    period: PeriodRange,
    today: dt.date,
) -> Pace | None:
    """Where an additive KPI stands against its target in the current period, by working days.

    expected_to_date = target × elapsed / working days of the period, where *elapsed* counts the
    working days from the period's first day up to and including `today` (see
    `kpis.workdays.elapsed_working_days`); projection = value × working days / elapsed (None while
    elapsed is 0). A missing value counts as 0 (nothing logged yet). On pace when value ≥ expected
    for `up` KPIs; for the additive `down` KPIs (deals lost, unanswered leads) staying at or under
    the expected share is on pace (value ≤ expected).

    None for non-additive KPIs, without a target, outside the current period (`today` not in it)
    and for a period without working days.
    """
    kpi = REGISTRY[code]
    if not kpi.additive or target is None or not period.contains(today):
        return None
    working = working_days_in_period(period=period)
    if working == 0:
        return None
    elapsed = elapsed_working_days(period=period, today=today)
    amount = _decimal(value) if value is not None else Decimal(0)
    expected = _decimal(target) * elapsed / working
    on_pace = amount >= expected if kpi.direction is Direction.UP else amount <= expected
    return Pace(
        expected_to_date=expected,
        on_pace=on_pace,
        projection=amount * working / elapsed if elapsed else None,
        elapsed_working_days=elapsed,
        working_days=working,
    )
