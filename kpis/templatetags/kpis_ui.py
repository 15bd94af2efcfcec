"""Template helpers of the KPI pages: values by unit, percentages, periods and status badges.

Shared by the scorecard, the team comparison and the dashboard so a number looks the same
everywhere, in the active locale ("12,5 %" in Swedish, "12.5%" in English; "v. 48").
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django import template
from django.utils import formats
from django.utils.html import format_html
from django.utils.translation import get_language, gettext, pgettext

from kpis.periods import PeriodRange
from kpis.registry import KPI, REGISTRY, Period, Unit
from kpis.targets import Status
from people.templatetags.saljsite_ui import money

register = template.Library()

Number = int | float | Decimal


def _english() -> bool:
    return (get_language() or "sv").startswith("en")


def format_number(value: Number | None, places: int = 0) -> str:
    """A number grouped and with the decimal sign of the active locale; "—" for no value."""
    if value is None or value == "":
        return "—"
    # Half up, as people round (number_format alone would round 37.5 to 37, half to even).
    rounded = Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return formats.number_format(rounded, decimal_pos=places, force_grouping=True)


def format_percent(value: Number | None, places: int = 0) -> str:
    """A share (0..1) as a percentage: "12,5 %" in Swedish, "12.5%" in English."""
    if value is None or value == "":
        return "—"
    number = format_number(Decimal(str(value)) * 100, places)
    return f"{number}%" if _english() else f"{number}\u00a0%"


def _kpi(code_or_kpi: str | KPI) -> KPI:
    return code_or_kpi if isinstance(code_or_kpi, KPI) else REGISTRY[code_or_kpi]


def format_kpi_value(value: Number | None, code_or_kpi: str | KPI) -> str:
    """A KPI value in its unit: counts whole (one decimal when fractional), ratios as %,
    money in the organisation currency, minutes and days with one decimal."""
    if value is None or value == "":
        return "—"
    unit = _kpi(code_or_kpi).unit
    if unit == Unit.RATIO:
        return format_percent(value, 1 if float(value) < 0.1 else 0)
    if unit == Unit.MONEY:
        return money(Decimal(str(value)).quantize(Decimal(1)))
    if unit == Unit.MINUTES:
        return f"{format_number(value, 1)}\u00a0min"
    if unit == Unit.DAYS:
        return f"{format_number(value, 1)}\u00a0{pgettext('unit', 'd')}"
    places = 0 if float(value) == int(float(value)) else 1
    return format_number(value, places)


def format_period(period: Period | str, start: dt.date) -> str:
    """A period the way Swedish sales teams say it: "v. 48 2026" (ISO week), "november 2026",
    "Q4 2026", "2026"."""
    period = Period(period)
    if period == Period.WEEK:
        year, week, _ = start.isocalendar()
        return gettext("w. %(week)s %(year)s") % {"week": week, "year": year}
    if period == Period.MONTH:
        return formats.date_format(start, "F Y")
    if period == Period.QUARTER:
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    return str(start.year)


def format_period_short(period: Period | str, start: dt.date) -> str:
    """A chart axis label: "v. 48", "nov", "Q4", "2026"."""
    period = Period(period)
    if period == Period.WEEK:
        return gettext("w. %(week)s") % {"week": start.isocalendar()[1]}
    if period == Period.MONTH:
        return formats.date_format(start, "M")
    if period == Period.QUARTER:
        return f"Q{(start.month - 1) // 3 + 1}"
    return str(start.year)


def status_label(status: Status | str | None) -> str:
    """The words for a target status, so colour is never the only signal."""
    if status is None or status == "":
        return gettext("No target")
    return str(Status(status).label)


STATUS_ICONS = {Status.MET: "✓", Status.CLOSE: "≈", Status.BEHIND: "!"}


@register.filter(name="kpi_value")
def kpi_value_filter(value: Any, code: str | KPI) -> str:
    return format_kpi_value(value, code)


@register.filter(name="percent")
def percent_filter(value: Any, places: int = 0) -> str:
    return format_percent(value, places)


def format_points(value: Number | None) -> str:
    """A change of a share (0..1) in percentage points: "5 pp" / "5 p.e." ("5 %" would read as
    a relative change)."""
    if value is None or value == "":
        return "—"
    points = Decimal(str(value)) * 100
    places = 1 if abs(points) < 10 else 0
    return gettext("%(points)s pp") % {"points": format_number(points, places)}


@register.filter(name="points")
def points_filter(value: Any) -> str:
    return format_points(value)


@register.filter(name="number")
def number_filter(value: Any, places: int = 0) -> str:
    return format_number(value, places)


@register.simple_tag(name="period_label")
def period_label_tag(period: Period | str, start: dt.date | PeriodRange) -> str:
    if isinstance(start, PeriodRange):
        start = start.start
    return format_period(period, start)


def status_badge(status: Status | str | None) -> dict[str, Any]:
    """A status pill's parts: an icon and a word beside the colour (met / close / behind / no
    target)."""
    key = Status(status) if status not in (None, "") else None
    return {
        "status": key.value if key else "none",
        "label": status_label(key),
        "icon": STATUS_ICONS.get(key, "–") if key else "–",
    }


@register.simple_tag(name="status_badge")
def status_badge_tag(status: Status | str | None) -> str:
    """The status pill. Built here rather than by an included template: a page shows one per
    KPI line."""
    badge = status_badge(status)
    return format_html(
        '<span class="status status-{}"><span aria-hidden="true" class="status-icon">{}</span>'
        " {}</span>\n",
        badge["status"],
        badge["icon"],
        badge["label"],
    )
