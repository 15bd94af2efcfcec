"""Working days: weekends and the site country's holidays excluded (kpis/workdays.py)."""

from __future__ import annotations

import datetime as dt

import holidays
import pytest

from kpis import workdays
from kpis.periods import PeriodRange, period_containing
from kpis.registry import Period
from kpis.workdays import (
    elapsed_working_days,
    holiday_dates,
    is_working_day,
    working_days_between,
    working_days_in_period,
)

D = dt.date


@pytest.fixture(autouse=True)
def _fresh_holiday_cache():
    workdays._holiday_dates.cache_clear()
    yield
    workdays._holiday_dates.cache_clear()


@pytest.fixture
def sweden(settings):
    settings.SALJSITE_HOLIDAY_COUNTRY = "SE"


# December 2026 in Sweden, by hand. 1 December is a Tuesday, 31 December a Thursday.
# Weekdays: 1–4 (4), 7–11 (5), 14–18 (5), 21–25 (5), 28–31 (4) = 23.
# `holidays` 0.109 for SE in December 2026:
#   public:   25 Fri Christmas Day, 26 Sat Second Day of Christmas
#   de facto: 24 Thu Christmas Eve, 31 Thu New Year's Eve (the package's own docstring: the Annual
#             Leave Act treats Midsummer Eve, Christmas Eve and New Year's Eve like Sundays;
#             "for accurate is_working_day() calculations use categories=(PUBLIC, DE_FACTO)")
#   bank only (not excluded, half days): 23 Wed and 30 Wed "(from 2pm)"
# Excluded weekdays: 24, 25 and 31 (26 is a Saturday anyway) -> 23 - 3 = 20 working days.
def test_december_2026_in_sweden_has_20_working_days(sweden):
    december = period_containing(Period.MONTH, D(2026, 12, 1))

    assert working_days_in_period(period=december) == 20
    assert not is_working_day(D(2026, 12, 24))  # Christmas Eve (de facto)
    assert not is_working_day(D(2026, 12, 25))  # Christmas Day
    assert not is_working_day(D(2026, 12, 31))  # New Year's Eve (de facto)
    assert is_working_day(D(2026, 12, 23))  # a half day is a working day
    assert is_working_day(D(2026, 12, 30))


def test_december_2026_with_only_official_public_holidays_has_22_working_days(settings):
    # Without the de facto category only Christmas Day (25, a Friday) is a weekday holiday;
    # 23 weekdays - 1 = 22.
    settings.SALJSITE_HOLIDAY_COUNTRY = "SE"
    settings.SALJSITE_HOLIDAY_CATEGORIES = ("public",)
    december = period_containing(Period.MONTH, D(2026, 12, 1))

    assert working_days_in_period(period=december) == 22
    assert is_working_day(D(2026, 12, 24))


def test_week_with_ascension_day_has_four_working_days(sweden):
    # ISO week 20 of 2026: Monday 11 May to Sunday 17 May; Thursday 14 May is Ascension Day.
    # Friday 15 May is only a "squeeze day" (optional category): a working day.
    week = period_containing(Period.WEEK, D(2026, 5, 14))

    assert week == PeriodRange(Period.WEEK, D(2026, 5, 11), D(2026, 5, 18))
    assert working_days_in_period(period=week) == 4
    assert is_working_day(D(2026, 5, 15))


def test_week_with_midsummer_eve_has_four_working_days(sweden):
    # Midsummer Eve is Friday 19 June 2026 (de facto); Midsummer Day is the Saturday.
    assert working_days_between(start=D(2026, 6, 15), end=D(2026, 6, 22)) == 4


def test_may_2026_in_sweden_has_19_working_days(sweden):
    # 21 weekdays (Fri 1, then four full weeks 4–29) minus May Day (Fri 1) and Ascension (Thu 14).
    may = period_containing(Period.MONTH, D(2026, 5, 1))

    assert working_days_in_period(period=may) == 19


def test_a_calendar_listing_every_sunday_gives_the_same_counts(sweden, monkeypatch):
    # Some versions of `holidays` list every Sunday as a Swedish holiday; weekends never count
    # anyway, so the working days are unchanged.
    def with_sundays(country, year, categories):
        return holidays.country_holidays(
            country, years=year, categories=categories, include_sundays=True
        )

    monkeypatch.setattr(workdays, "_country_holidays", with_sundays)
    december = period_containing(Period.MONTH, D(2026, 12, 1))

    assert D(2026, 12, 6) in holiday_dates(year=2026)  # a Sunday, as such a calendar says
    assert working_days_in_period(period=december) == 20


def test_holiday_country_follows_the_setting(settings):
    # In the United States only Christmas Day is a December 2026 holiday: 23 - 1 = 22.
    settings.SALJSITE_HOLIDAY_COUNTRY = "US"
    december = period_containing(Period.MONTH, D(2026, 12, 1))

    assert working_days_in_period(period=december) == 22
    assert is_working_day(D(2026, 12, 24))


def test_working_days_between_is_half_open_and_empty_when_reversed(sweden):
    assert working_days_between(start=D(2026, 11, 30), end=D(2026, 12, 1)) == 1  # Monday only
    assert working_days_between(start=D(2026, 11, 30), end=D(2026, 11, 30)) == 0
    assert working_days_between(start=D(2026, 12, 1), end=D(2026, 11, 30)) == 0


def test_elapsed_working_days_include_today(sweden):
    # Week 49 of 2026 (30 Nov – 6 Dec): on Wednesday a rep has worked Monday, Tuesday and today.
    week = period_containing(Period.WEEK, D(2026, 12, 2))

    assert elapsed_working_days(period=week, today=D(2026, 11, 30)) == 1
    assert elapsed_working_days(period=week, today=D(2026, 12, 2)) == 3
    assert elapsed_working_days(period=week, today=D(2026, 12, 5)) == 5  # Saturday
    assert elapsed_working_days(period=week, today=D(2026, 12, 6)) == 5  # Sunday


def test_elapsed_working_days_do_not_grow_on_a_holiday(sweden):
    may = period_containing(Period.MONTH, D(2026, 5, 1))

    # 1 May is May Day: nothing elapsed on it. By Wednesday 13 May: 4–8 and 11–13 = 8.
    assert elapsed_working_days(period=may, today=D(2026, 5, 1)) == 0
    assert elapsed_working_days(period=may, today=D(2026, 5, 13)) == 8
    assert elapsed_working_days(period=may, today=D(2026, 5, 14)) == 8  # Ascension Day


def test_elapsed_working_days_outside_the_period(sweden):
    week = period_containing(Period.WEEK, D(2026, 12, 2))

    assert elapsed_working_days(period=week, today=D(2026, 11, 29)) == 0
    assert elapsed_working_days(period=week, today=D(2027, 1, 15)) == 5
