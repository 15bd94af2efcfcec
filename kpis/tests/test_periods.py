import datetime as dt
from itertools import pairwise

import pytest

from kpis.periods import last_periods, period_containing


@pytest.mark.parametrize(
    ("period", "day", "start", "end"),
    [
        ("week", dt.date(2026, 11, 30), dt.date(2026, 11, 30), dt.date(2026, 12, 7)),
        ("week", dt.date(2026, 11, 29), dt.date(2026, 11, 23), dt.date(2026, 11, 30)),
        ("week", dt.date(2027, 1, 1), dt.date(2026, 12, 28), dt.date(2027, 1, 4)),
        ("month", dt.date(2026, 12, 31), dt.date(2026, 12, 1), dt.date(2027, 1, 1)),
        ("quarter", dt.date(2026, 11, 26), dt.date(2026, 10, 1), dt.date(2027, 1, 1)),
        ("quarter", dt.date(2026, 3, 31), dt.date(2026, 1, 1), dt.date(2026, 4, 1)),
        ("year", dt.date(2026, 7, 1), dt.date(2026, 1, 1), dt.date(2027, 1, 1)),
    ],
)
def test_period_containing_is_half_open_calendar_period(period, day, start, end):
    rng = period_containing(period, day)
    assert (rng.start, rng.end) == (start, end)
    assert rng.contains(day)
    assert not rng.contains(end)


def test_last_periods_run_oldest_first_and_touch():
    months = last_periods("month", dt.date(2026, 2, 10), 3)
    assert [m.start for m in months] == [
        dt.date(2025, 12, 1),
        dt.date(2026, 1, 1),
        dt.date(2026, 2, 1),
    ]
    assert all(a.end == b.start for a, b in pairwise(months))
