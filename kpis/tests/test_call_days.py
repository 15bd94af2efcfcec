"""calls_per_customer kept from `CallDay` rows: every incremental run leaves exactly what a full
run stores, whatever the write (company changed, re-dated, deleted, reassigned, a rep moved).

Site time is Europe/Stockholm (UTC+1 in November, UTC+2 until 25 October).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Count

from activities.models import Activity
from activities.services import activity_delete, activity_log, activity_update
from kpis.compute.run import recompute, recompute_full, refresh_reps
from kpis.models import CallDay, CallTeam, KPIValue
from people.models import User
from people.services import user_set_team
from people.tests.factories import TeamFactory, UserFactory
from pipeline.tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 26, 12, tzinfo=UTC)
CODE = "calls_per_customer"


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def call(owner: User, company, at: dt.datetime) -> Activity:
    return activity_log(owner=owner, kind="call", direction="outbound", outcome="connected",
                        company=company, occurred_at=at)  # fmt: skip


@pytest.fixture
def org():
    a, b = TeamFactory(name="A"), TeamFactory(name="B")
    ae = UserFactory(username="ae", role=User.Role.AE, team=a)
    am = UserFactory(username="am", role=User.Role.AM, team=a)
    sdr = UserFactory(username="sdr", role=User.Role.SDR, team=b)
    c1, c2, c3 = (CompanyFactory(name=name) for name in ("C1", "C2", "C3"))
    calls = {
        "ae_c1_oct31": call(ae, c1, utc(2026, 10, 31, 9)),  # Saturday of week 44, October
        "ae_c1_nov3": call(ae, c1, utc(2026, 11, 3, 9)),
        "ae_c2_nov4": call(ae, c2, utc(2026, 11, 4, 9)),
        "ae_c2_nov4_pm": call(ae, c2, utc(2026, 11, 4, 14)),
        "am_c2_nov10": call(am, c2, utc(2026, 11, 10, 9)),
        "sdr_c3_sep30": call(sdr, c3, utc(2026, 9, 30, 9)),  # the last day of Q3
        "sdr_c1_nov24": call(sdr, c1, utc(2026, 11, 24, 9)),
    }
    recompute_full(now=NOW)
    return {"ae": ae, "am": am, "sdr": sdr, "a": a, "b": b, "c1": c1, "c2": c2, "c3": c3, **calls}


def values() -> dict:
    return {
        (v.scope, v.scope_id, v.period, v.period_start): (v.value, v.numerator, v.denominator)
        for v in KPIValue.objects.filter(kpi=CODE)
    }


def assert_incremental_equals_full() -> dict:
    """Run the nightly recompute, then a full one: both store the same calls_per_customer."""
    recompute(now=NOW)
    incremental = values()
    recompute(now=NOW)
    assert values() == incremental  # a second run changes nothing
    recompute_full(now=NOW)
    assert values() == incremental
    return incremental


def rows() -> set[tuple]:
    return set(CallDay.objects.values_list("rep_id", "day", "company_id", "calls"))


def test_a_full_run_stores_the_calls_per_rep_day_and_company(org):
    counted = (
        Activity.objects.filter(kind="call", company__isnull=False)
        .values_list("owner_id", "occurred_day", "company_id")
        .annotate(n=Count("id"))
    )
    assert rows() == set(counted)
    assert (org["ae"].pk, dt.date(2026, 11, 4), org["c2"].pk, 2) in rows()
    assert set(CallTeam.objects.values_list("rep_id", "team_id")) == set(
        User.objects.values_list("pk", "team_id")
    )


def test_a_new_call_to_a_new_company_moves_rep_team_and_org_counts(org):
    call(org["am"], org["c3"], utc(2026, 11, 25, 9))

    stored = assert_incremental_equals_full()

    team_month = stored[("team", org["a"].pk, "month", dt.date(2026, 11, 1))]
    assert team_month == (5 / 3, 5.0, 3.0)  # C1, C2 and now C3
    assert stored[("org", 0, "week", dt.date(2026, 11, 23))] == (1.0, 2.0, 2.0)


def test_a_call_moved_to_another_company(org):
    activity_update(activity=org["ae_c1_nov3"], company=org["c3"])

    stored = assert_incremental_equals_full()

    # November: the ae still calls C2 and now C3, no longer C1; the organisation still has C1.
    assert stored[("rep", org["ae"].pk, "month", dt.date(2026, 11, 1))] == (1.5, 3.0, 2.0)
    assert stored[("org", 0, "month", dt.date(2026, 11, 1))][2] == 3.0


def test_a_call_re_dated_across_month_and_quarter_boundaries(org):
    activity_update(activity=org["ae_c1_oct31"], occurred_at=utc(2026, 11, 2, 9))
    activity_update(activity=org["sdr_c3_sep30"], occurred_at=utc(2026, 10, 1, 9))

    stored = assert_incremental_equals_full()

    # October lost its only ae call: no value, not a zero.
    assert ("rep", org["ae"].pk, "month", dt.date(2026, 10, 1)) not in stored
    assert ("rep", org["sdr"].pk, "quarter", dt.date(2026, 7, 1)) not in stored
    assert stored[("rep", org["sdr"].pk, "quarter", dt.date(2026, 10, 1))] == (1.0, 2.0, 2.0)


def test_deleted_calls_drop_a_company_only_when_no_other_call_has_it(org):
    activity_delete(activity=org["ae_c2_nov4"])  # the afternoon call to C2 remains
    activity_delete(activity=org["sdr_c1_nov24"])  # the ae still called C1 in November

    stored = assert_incremental_equals_full()

    assert stored[("rep", org["ae"].pk, "week", dt.date(2026, 11, 2))] == (1.0, 2.0, 2.0)
    assert ("rep", org["sdr"].pk, "month", dt.date(2026, 11, 1)) not in stored
    assert stored[("org", 0, "month", dt.date(2026, 11, 1))] == (1.5, 3.0, 2.0)


def test_a_call_reassigned_to_a_rep_of_another_team(org):
    activity_update(activity=org["am_c2_nov10"], owner=org["sdr"])

    stored = assert_incremental_equals_full()

    assert stored[("team", org["b"].pk, "month", dt.date(2026, 11, 1))] == (1.0, 2.0, 2.0)


def test_a_call_no_longer_completed_counts_no_more(org):
    activity_update(activity=org["ae_c1_nov3"], status=Activity.Status.CANCELLED)

    assert_incremental_equals_full()


def test_a_rep_moved_to_another_team_moves_every_period(org):
    user_set_team(user=org["ae"], team=org["b"])

    stored = assert_incremental_equals_full()

    # October's only call (ae → C1) now counts for team B.
    assert stored[("team", org["b"].pk, "month", dt.date(2026, 10, 1))] == (1.0, 1.0, 1.0)
    assert ("team", org["a"].pk, "month", dt.date(2026, 10, 1)) not in stored
    assert CallTeam.objects.get(rep=org["ae"]).team_id == org["b"].pk


def test_a_new_rep_without_a_team_counts_for_the_organisation(org):
    newcomer = UserFactory(username="new", role=User.Role.AE, team=None)
    call(newcomer, org["c3"], utc(2026, 11, 25, 9))

    stored = assert_incremental_equals_full()

    assert stored[("rep", newcomer.pk, "year", dt.date(2026, 1, 1))] == (1.0, 1.0, 1.0)


def test_a_refresh_then_the_nightly_run_count_a_write_once(org):
    call(org["ae"], org["c3"], utc(2026, 11, 25, 9))
    refresh_reps(rep_ids=[org["ae"].pk], now=NOW)

    # The refresh already moved the values; the nightly run adds nothing more.
    assert values()[("rep", org["ae"].pk, "week", dt.date(2026, 11, 23))] == (1.0, 1.0, 1.0)
    assert_incremental_equals_full()


def test_the_first_run_without_stored_rows_builds_them(org):
    # As after the migration: values stored by an earlier engine, no rows yet.
    CallDay.objects.all().delete()
    CallTeam.objects.all().delete()
    activity_delete(activity=org["am_c2_nov10"])

    assert_incremental_equals_full()
    assert rows()


def test_mixed_writes_over_several_runs_equal_a_full_run(org):
    call(org["am"], org["c1"], utc(2026, 11, 12, 9))
    recompute(now=NOW)
    activity_update(activity=org["ae_c2_nov4_pm"], occurred_at=utc(2026, 10, 30, 9))
    activity_delete(activity=org["ae_c1_oct31"])
    recompute(now=NOW)
    activity_update(activity=org["sdr_c1_nov24"], owner=org["am"], company=org["c2"])

    assert_incremental_equals_full()


@pytest.mark.parametrize("write", ["new_company", "same_company"])
def test_a_call_committed_during_a_full_run_is_counted_once_by_the_next_run(
    org, monkeypatch, write
):
    # The write lands after the full run rebuilt the rows and before it computes the values (a
    # concurrent commit under READ COMMITTED): the run's values miss it, its cell stays dirty.
    from kpis.compute import run as run_module

    original = run_module.call_days_rebuild
    company = org["c3"] if write == "new_company" else org["c1"]

    def rebuild_then_concurrent_call(*args, **kwargs):
        original(*args, **kwargs)
        call(org["ae"], company, utc(2026, 11, 5, 9))

    monkeypatch.setattr(run_module, "call_days_rebuild", rebuild_then_concurrent_call)
    recompute_full(now=NOW)
    monkeypatch.setattr(run_module, "call_days_rebuild", original)

    incremental = assert_incremental_equals_full()
    ae_november = incremental[("rep", org["ae"].pk, "month", dt.date(2026, 11, 1))]
    # ae called c1 and c2 (twice) in November, and now once more.
    assert ae_november[1:] == ((4, 3) if write == "new_company" else (4, 2))
