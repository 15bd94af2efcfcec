"""Per-period rollups (`RepPeriod`, `RepPeriodDimension`): always the sums of their stored days,
after incremental runs, full runs and the freshness refresh, and read by pages with the same
values as summing the days."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pytest

from activities.models import Activity
from activities.services import activity_delete, activity_log, activity_update
from kpis import selectors
from kpis.compute.period_rollups import period_rollups_rebuild
from kpis.compute.run import recompute, recompute_full, refresh_reps
from kpis.models import (
    COUNTER_FIELDS,
    RepDay,
    RepDayDimension,
    RepPeriod,
    RepPeriodDimension,
)
from kpis.periods import period_start
from kpis.registry import CODES, Period
from kpis.selectors import kpi_values
from kpis.tests.test_daily import activities, deals, org, utc  # noqa: F401 (fixtures)
from people.tests.factories import UserFactory


def _expected() -> tuple[dict, dict]:
    """The period rows computed in Python from the stored days."""
    plain: dict[tuple, dict] = defaultdict(lambda: dict.fromkeys(COUNTER_FIELDS, 0))
    for day in RepDay.objects.values("rep_id", "day", *COUNTER_FIELDS):
        for period in Period:
            sums = plain[(day["rep_id"], period.value, period_start(period, day["day"]))]
            for counter in COUNTER_FIELDS:
                sums[counter] += day[counter]
    dims: dict[tuple, object] = defaultdict(int)
    for rep, day, counter, key, value in RepDayDimension.objects.values_list(
        "rep_id", "day", "counter", "dimension", "value"
    ):
        for period in Period:
            dims[(rep, period.value, period_start(period, day), counter, key)] += value
    return {k: dict(v) for k, v in plain.items()}, dict(dims)


def _stored() -> tuple[dict, dict]:
    plain = {
        (row.pop("rep_id"), row.pop("period"), row.pop("period_start")): row
        for row in RepPeriod.objects.values("rep_id", "period", "period_start", *COUNTER_FIELDS)
    }
    dims = {
        tuple(row[:-1]): row[-1]
        for row in RepPeriodDimension.objects.values_list(
            "rep_id", "period", "period_start", "counter", "dimension", "value"
        )
    }
    return plain, dims


def _assert_sums_of_days() -> tuple[dict, dict]:
    stored = _stored()
    assert stored == _expected()
    return stored


@pytest.mark.django_db
def test_full_run_stores_each_periods_sums_of_days(activities, deals):  # noqa: F811
    recompute_full()
    plain, dims = _assert_sums_of_days()
    a1 = activities["a1"]
    # Four completed outbound calls of a1 straddle weeks 48/49 and November/December.
    assert plain[(a1.pk, "week", dt.date(2026, 11, 23))]["calls_made"] == 1
    assert plain[(a1.pk, "week", dt.date(2026, 11, 30))]["calls_made"] == 3
    assert plain[(a1.pk, "year", dt.date(2026, 1, 1))]["calls_made"] == 4
    assert dims  # the deal-size and funnel dimensions are summed too


@pytest.mark.django_db
def test_incremental_runs_equal_the_full_run_after_moves_and_deletes(activities, deals):  # noqa: F811
    recompute()
    incremental = _assert_sums_of_days()
    recompute_full()
    assert _stored() == incremental

    a1, b1 = activities["a1"], activities["b1"]
    first = Activity.objects.filter(owner=a1, kind="call").order_by("occurred_at").first()
    # Out of week 48 into another month and year; a period emptied; a new rep's first day.
    activity_update(activity=first, occurred_at=utc(2025, 6, 2, 9))
    activity_delete(activity=Activity.objects.get(owner=b1, kind="call"))
    activity_log(owner=UserFactory(), kind="call", occurred_at=utc(2026, 12, 31, 22, 30))
    recompute()
    incremental = _assert_sums_of_days()
    assert not RepPeriod.objects.filter(rep=b1, calls_made__gt=0).exists()
    assert RepPeriod.objects.get(rep=a1, period="year", period_start=dt.date(2025, 1, 1))
    recompute_full()
    assert _stored() == incremental
    recompute()
    assert _stored() == incremental


@pytest.mark.django_db
def test_the_freshness_refresh_updates_the_periods_at_once(org):  # noqa: F811
    a1 = org["a1"]
    activity_log(owner=a1, kind="call", occurred_at=utc(2026, 11, 20, 9))
    recompute()
    activity_log(owner=a1, kind="call", occurred_at=utc(2026, 11, 21, 9))
    refresh_reps(rep_ids=[a1.pk])
    _assert_sums_of_days()
    month = RepPeriod.objects.get(rep=a1, period="month", period_start=dt.date(2026, 11, 1))
    assert month.calls_made == 2


@pytest.mark.django_db
@pytest.mark.parametrize("scope", ["rep", "team", "org"])
@pytest.mark.parametrize("period", list(Period))
def test_whole_periods_read_the_same_values_as_summing_the_days(
    activities,  # noqa: F811
    deals,  # noqa: F811
    monkeypatch,
    scope,
    period,
):
    recompute_full()
    start, end = dt.date(2025, 1, 1), dt.date(2027, 1, 1)
    if period is Period.WEEK:
        start, end = period_start(period, start), period_start(period, end)

    # Every member, and one member only (teams are then read through their members' rows).
    members = {
        "rep": [activities["a1"].pk],
        "team": [activities["team_a"].pk],
        "org": None,
    }[scope]

    def read() -> list:
        found = []
        # All history, and up to the period holding 1 December (the fixture's last weeks after).
        for last in (end, period_start(period, dt.date(2026, 12, 1))):
            for scope_ids in (None, members):
                found += kpi_values(
                    codes=CODES, scope=scope, period=period, start=start, end=last,
                    scope_ids=scope_ids,
                )  # fmt: skip
        return sorted(found, key=lambda v: (v.kpi, v.scope_id, v.period_start, v.dimension))

    from_periods = read()
    monkeypatch.setattr(selectors, "_aligned", lambda *args: False)
    from_days = read()
    assert from_periods == from_days
    assert any(v.value for v in from_periods)


@pytest.mark.django_db
def test_a_range_that_is_not_whole_periods_sums_its_days(org):  # noqa: F811
    a1 = org["a1"]
    activity_log(owner=a1, kind="call", occurred_at=utc(2026, 11, 3, 9))
    activity_log(owner=a1, kind="call", occurred_at=utc(2026, 11, 20, 9))
    recompute_full()
    found = kpi_values(
        codes=["calls_made"],
        scope="rep",
        period="month",
        start=dt.date(2026, 11, 10),
        end=dt.date(2026, 12, 1),
    )
    assert [(v.period_start, v.value) for v in found] == [(dt.date(2026, 11, 1), 1.0)]


@pytest.mark.django_db
def test_deleting_a_user_deletes_their_period_rows(org):  # noqa: F811
    """No database constraint on `rep` (derived data); Django's collector still cascades."""
    rep = UserFactory(username="leaver")
    RepDay.objects.create(rep=rep, day=dt.date(2026, 11, 20), computed_at=utc(2026, 11, 21))
    period_rollups_rebuild()
    assert RepPeriod.objects.filter(rep_id=rep.pk).count() == 4
    rep.delete()
    assert not RepPeriod.objects.filter(rep_id=rep.pk).exists()


@pytest.mark.django_db
def test_a_plain_only_read_returns_every_plain_value_and_no_summed_dimension(
    activities,  # noqa: F811
    deals,  # noqa: F811
):
    recompute_full()
    args = {"codes": CODES, "scope": "rep", "period": "month"}
    args |= {"start": dt.date(2026, 11, 1), "end": dt.date(2027, 1, 1)}
    every = kpi_values(**args)
    plain = kpi_values(**args, dimensions=False)
    summed_dimensions = [v for v in every if v.dimension and v.kpi == "avg_deal_size"]
    assert summed_dimensions  # the fixture has deal sizes by lead source and channel
    assert [v for v in every if not v.dimension] == [v for v in plain if not v.dimension]
    assert not [v for v in plain if v.dimension and v.kpi == "avg_deal_size"]
