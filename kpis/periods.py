"""Calendar periods in site time: half-open `[start, end)` local-day ranges."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from kpis.registry import Period


@dataclass(frozen=True, order=True)
class PeriodRange:
    period: Period
    start: dt.date
    end: dt.date  # exclusive

    def days(self) -> Iterator[dt.date]:
        day = self.start
        while day < self.end:
            yield day
            day += dt.timedelta(days=1)

    def contains(self, day: dt.date) -> bool:
        return self.start <= day < self.end

    def previous(self) -> PeriodRange:
        return period_containing(self.period, self.start - dt.timedelta(days=1))

    def next(self) -> PeriodRange:
        return period_containing(self.period, self.end)


def period_start(period: Period | str, day: dt.date) -> dt.date:
    """The first local day of the period (ISO week from Monday, month, quarter, year) of `day`."""
    period = Period(period)
    if period is Period.WEEK:
        return day - dt.timedelta(days=day.weekday())
    if period is Period.MONTH:
        return day.replace(day=1)
    if period is Period.QUARTER:
        return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return dt.date(day.year, 1, 1)


def _add_months(day: dt.date, months: int) -> dt.date:
    month0 = day.month - 1 + months
    return dt.date(day.year + month0 // 12, month0 % 12 + 1, 1)


def period_containing(period: Period | str, day: dt.date) -> PeriodRange:
    period = Period(period)
    start = period_start(period, day)
    if period is Period.WEEK:
        end = start + dt.timedelta(days=7)
    elif period is Period.MONTH:
        end = _add_months(start, 1)
    elif period is Period.QUARTER:
        end = _add_months(start, 3)
    else:
        end = dt.date(start.year + 1, 1, 1)
    return PeriodRange(period, start, end)


def last_periods(period: Period | str, day: dt.date, count: int) -> list[PeriodRange]:
    """The `count` periods ending with the one containing `day`, oldest first."""
    current = period_containing(period, day)
    periods = [current]
    for _ in range(count - 1):
        periods.append(periods[-1].previous())
    return periods[::-1]


def weekly_days(first: dt.date | None, last: dt.date | None) -> list[dt.date]:
    """One day per week from `first`, and `last`: every period between them contains one."""
    if first is None or last is None or first > last:
        return []
    days = [first + dt.timedelta(days=7 * i) for i in range((last - first).days // 7 + 1)]
    return [*days, last]
