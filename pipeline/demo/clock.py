"""Time for the demo builder: site-time moments, working days, seasonality."""

from __future__ import annotations

import bisect
import datetime as dt
import math

from pipeline.demo.words import (
    UTC,
)
from saljsite.timeutils import local_day


class ClockMixin:
    """Site time, working days and seasonality of the demo's history."""

    # -- time ---------------------------------------------------------------------------------
    def _at(self, day: dt.date, minute: int) -> dt.datetime:
        """`minute` past local midnight of `day` (06:00–23:59 keeps clear of DST), as UTC."""
        local = dt.datetime.combine(day, dt.time(minute // 60, minute % 60), tzinfo=self.tz)
        return (local + dt.timedelta(seconds=self.rng.randrange(60))).astimezone(UTC)

    def _office(self, day: dt.date) -> dt.datetime:
        """A moment in office hours; a few early or late."""
        if self.rng.random() < 0.06:
            return self._at(day, self.rng.randrange(7 * 60, 19 * 60))
        return self._at(day, self.rng.randrange(8 * 60, 17 * 60))

    def _workday(self, day: dt.date, offset: int = 0) -> dt.date:
        """The first working day on or after `day`, then `offset` working days later."""
        return self.workdays[bisect.bisect_left(self.workdays, day) + offset]

    def _after(self, moment: dt.datetime, days: float) -> dt.datetime:
        """Office hours on the working day about `days` after `moment`, strictly after it."""
        day = local_day(moment) + dt.timedelta(days=max(0, round(days)))
        if day > self.today + dt.timedelta(days=30):  # past the planned horizon: never used
            return self._at(day, 9 * 60)
        day = self._workday(day)
        at = self._office(day)
        return at if at > moment else self._office(self._workday(day, 1))

    def _between(self, start: dt.datetime, end: dt.datetime) -> dt.datetime:
        """A moment strictly between `start` and `end`, in office hours when possible."""
        lo = bisect.bisect_left(self.workdays, local_day(start))
        hi = bisect.bisect_right(self.workdays, local_day(end))
        if hi > lo:
            at = self._office(self.workdays[self.rng.randrange(lo, hi)])
            if start < at < end:
                return at
        return start + (end - start) * self.rng.uniform(0.05, 0.95)

    def _season(self, day: dt.date) -> float:
        """Swedish summer and Christmas are quiet; Fridays a little."""
        if day.month == 7 or (day.month == 8 and day.day <= 7):
            return 0.35
        if (day.month == 12 and day.day >= 20) or (day.month == 1 and day.day <= 6):
            return 0.55
        if (day.month == 6 and day.day >= 22) or (day.month == 8 and day.day <= 14):
            return 0.75
        return 0.85 if day.weekday() == 4 else 1.0

    def _poisson(self, lam: float) -> int:
        limit, k, p = math.exp(-lam), 0, self.rng.random()
        while p > limit:
            k += 1
            p *= self.rng.random()
        return k

    def _history_moments(self, n: int) -> list[dt.datetime]:
        days = self.rng.choices(self.history_days, cum_weights=self._season_cum, k=n)
        return sorted(self._office(day) for day in days)
