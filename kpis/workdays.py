"""Working days: Monday to Friday except the public holidays of the site's country.

The holiday calendar comes from the `holidays` package for `settings.SALJSITE_HOLIDAY_COUNTRY`
(default "SE"). Besides the official public holidays we take the package's *de facto* category
where the country has one: for Sweden that is Midsummer Eve, Christmas Eve and New Year's Eve,
which the Annual Leave Act treats like Sundays and on which sales teams do not work. The
categories can be changed with `settings.SALJSITE_HOLIDAY_CATEGORIES` (a tuple of category names).
Half days ("from 2pm"), bank holidays and "squeeze days" are working days.

Some versions of `holidays` list every Sunday as a Swedish holiday; that does not matter here
because a weekend day is never a working day, whatever the calendar says.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import holidays
from django.conf import settings

from kpis.periods import PeriodRange

DEFAULT_HOLIDAY_COUNTRY = "SE"
DEFAULT_HOLIDAY_CATEGORIES: tuple[str, ...] = ("public", "de_facto")


def _country() -> str:
    return getattr(settings, "SALJSITE_HOLIDAY_COUNTRY", "") or DEFAULT_HOLIDAY_COUNTRY


def _categories() -> tuple[str, ...]:
    return tuple(getattr(settings, "SALJSITE_HOLIDAY_CATEGORIES", DEFAULT_HOLIDAY_CATEGORIES))


def _country_holidays(country: str, year: int, categories: tuple[str, ...]) -> holidays.HolidayBase:
    """The package's calendar for one year, limited to the categories the country supports."""
    supported = getattr(holidays.country_holidays(country), "supported_categories", ("public",))
    wanted = tuple(c for c in categories if c in supported)
    if wanted:
        return holidays.country_holidays(country, years=year, categories=wanted)
    return holidays.country_holidays(country, years=year)


@lru_cache(maxsize=64)
def _holiday_dates(country: str, year: int, categories: tuple[str, ...]) -> frozenset[dt.date]:
    return frozenset(_country_holidays(country, year, categories))


def holiday_dates(*, year: int, country: str | None = None) -> frozenset[dt.date]:
    """The non-working holidays of `country` (default: the site's) in `year`, weekends included."""
    return _holiday_dates(country or _country(), year, _categories())


def is_working_day(day: dt.date, *, country: str | None = None) -> bool:
    """Monday to Friday and not a holiday of the site's country."""
    return day.weekday() < 5 and day not in holiday_dates(year=day.year, country=country)


def working_days_between(*, start: dt.date, end: dt.date, country: str | None = None) -> int:
    """The number of working days in the half-open range `[start, end)`; 0 when end <= start."""
    count = 0
    day = start
    while day < end:
        if is_working_day(day, country=country):
            count += 1
        day += dt.timedelta(days=1)
    return count


def working_days_in_period(*, period: PeriodRange, country: str | None = None) -> int:
    """The working days of the whole period."""
    return working_days_between(start=period.start, end=period.end, country=country)


def elapsed_working_days(*, period: PeriodRange, today: dt.date, country: str | None = None) -> int:
    """The working days of the period from its first day up to and including `today`.

    Today counts as elapsed: on a Wednesday a rep has worked Monday, Tuesday and today, so a week
    of five working days has three elapsed. On a weekend or holiday the count is the working days
    before it. Before the period it is 0; after it, all of the period's working days.
    """
    last = min(today, period.end - dt.timedelta(days=1))
    return working_days_between(
        start=period.start, end=last + dt.timedelta(days=1), country=country
    )
