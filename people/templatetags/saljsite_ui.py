"""Template helpers of the rep workspace: the navigation, money, durations and waiting times."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils.formats import number_format
from django.utils.translation import get_language, gettext_lazy, pgettext, pgettext_lazy

from activities.selectors import format_duration

register = template.Library()


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    url: str
    active: bool


# (key, label, URL name). Scorecard and Team come with the KPI pages: shown once their URL exists.
NAV = (
    ("day", pgettext_lazy("navigation", "My day"), "home"),
    ("log", pgettext_lazy("navigation", "Log"), "activities:log"),
    ("leads", pgettext_lazy("navigation", "Leads"), "pipeline:leads"),
    ("pipeline", pgettext_lazy("navigation", "Pipeline"), "pipeline:board"),
    ("scorecard", pgettext_lazy("navigation", "Scorecard"), "kpis:scorecard"),
    ("team", pgettext_lazy("navigation", "Team"), "kpis:team"),
)


def url_or_none(name: str) -> str | None:
    """The URL of `name`, or None while no such URL exists."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


@register.simple_tag(name="url_or_none")
def url_or_none_tag(name: str) -> str | None:
    return url_or_none(name)


def _section(match: Any) -> str:
    """Which navigation item a page belongs to."""
    if match is None:
        return ""
    if match.view_name == "home":
        return "day"
    if match.namespace == "activities":
        return "log" if match.url_name in ("log", "book") else "day"
    if match.namespace == "pipeline":
        return "leads" if match.url_name.startswith("lead") else "pipeline"
    if match.namespace == "kpis":
        return match.url_name
    return ""


@register.simple_tag(takes_context=True)
def nav_items(context: template.Context) -> list[NavItem]:
    """The main navigation for the signed-in user: Dashboard for managers and superusers. (Admin,
    for staff, is in the account menu: eight tabs do not fit a phone's tab bar.)"""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    current = _section(getattr(request, "resolver_match", None))
    items = [
        NavItem(key, str(label), url, key == current)
        for key, label, name in NAV
        if (url := url_or_none(name)) is not None
    ]
    dashboard = url_or_none("kpis:dashboard")
    if dashboard is not None and (user.is_superuser or user.role == "manager"):
        label = pgettext("navigation", "Dashboard")
        items.append(NavItem("dashboard", label, dashboard, current == "dashboard"))
    return items


@register.filter
def money(value: Any) -> str:
    """An amount in the organisation currency, grouped the locale's way: "150 000 SEK" in
    Swedish, "SEK 150,000" in English; decimals only when there are öre/cents."""
    if value in (None, ""):
        return ""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    places = 0 if amount == amount.to_integral_value() else 2
    number = number_format(amount, decimal_pos=places, force_grouping=True)
    currency = settings.SALJSITE_CURRENCY
    if (get_language() or settings.LANGUAGE_CODE).startswith("en"):
        return f"{currency}\u00a0{number}"
    return f"{number}\u00a0{currency}"


@register.filter
def mmss(seconds: Any) -> str:
    """Seconds as m:ss (h:mm:ss from an hour)."""
    if seconds in (None, ""):
        return ""
    return format_duration(seconds)


WAIT_FORMATS = {
    "min": gettext_lazy("%(m)s min"),
    "hmin": gettext_lazy("%(h)s h %(m)s min"),
    "dh": gettext_lazy("%(d)s d %(h)s h"),
}


@register.filter
def waited(seconds: Any) -> str:
    """A waiting time: "12 min", "3 h 5 min", "2 d 4 h" (static/js/clock.js formats the same)."""
    if seconds in (None, ""):
        return ""
    minutes = int(float(seconds) // 60)
    if minutes < 60:
        return WAIT_FORMATS["min"] % {"m": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return WAIT_FORMATS["hmin"] % {"h": hours, "m": minutes}
    days, hours = divmod(hours, 24)
    return WAIT_FORMATS["dh"] % {"d": days, "h": hours}


@register.simple_tag
def wait_formats() -> dict[str, str]:
    """The waiting-time formats for `json_script`, in the active language."""
    return {key: str(value) for key, value in WAIT_FORMATS.items()}
