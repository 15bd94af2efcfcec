"""How KPI numbers read on the pages, in Swedish and English."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from kpis.templatetags.kpis_ui import (
    format_kpi_value,
    format_percent,
    format_period,
    format_period_short,
    status_label,
)


@pytest.mark.parametrize(
    ("lang", "code", "value", "shown"),
    [
        ("sv", "calls_made", 1234, "1\xa0234"),
        ("en", "calls_made", 1234, "1,234"),
        ("sv", "call_connect_rate", 0.375, "38\xa0%"),
        ("en", "call_connect_rate", 0.375, "38%"),
        ("sv", "email_click_rate", 0.0625, "6,3\xa0%"),
        ("sv", "revenue_won", Decimal("150000.40"), "150\xa0000\xa0SEK"),
        ("en", "revenue_won", 150000, "SEK\xa0150,000"),
        ("sv", "avg_call_minutes", 4.25, "4,3\xa0min"),
        ("en", "sales_cycle_days", 12.5, "12.5\xa0d"),
        ("en", "activities_per_won_deal", 7.5, "7.5"),
        ("sv", "calls_made", None, "—"),
    ],
)
def test_values_are_formatted_by_unit_and_locale(lang, code, value, shown):
    with translation.override(lang):
        assert format_kpi_value(value, code) == shown


def test_iso_week_label_uses_the_iso_year_and_week():
    # 2026-12-28 is a Monday in ISO week 53 of 2026; 2027-01-04 starts week 1 of 2027.
    with translation.override("sv"):
        assert format_period("week", dt.date(2026, 12, 28)) == "v. 53 2026"
        assert format_period_short("week", dt.date(2027, 1, 4)) == "v. 1"
    with translation.override("en"):
        assert format_period("week", dt.date(2026, 11, 23)) == "w. 48 2026"


def test_month_quarter_and_year_labels():
    with translation.override("sv"):
        assert format_period("month", dt.date(2026, 11, 1)) == "november 2026"
    with translation.override("en"):
        assert format_period("month", dt.date(2026, 11, 1)) == "November 2026"
    assert format_period("quarter", dt.date(2026, 10, 1)) == "Q4 2026"
    assert format_period("year", dt.date(2026, 1, 1)) == "2026"


def test_status_badge_carries_a_word_and_an_icon_beside_the_colour():
    html = Template("{% load kpis_ui %}{% status_badge 'behind' %}").render(Context())
    assert "status-behind" in html
    assert "Behind" in html
    assert "!" in html
    with translation.override("en"):
        assert status_label(None) == "No target"


def test_percent_of_none_is_a_dash():
    assert format_percent(None) == "—"
