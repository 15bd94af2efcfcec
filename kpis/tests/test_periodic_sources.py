"""Source-aware incremental runs: a dirty cell's `Source` bits choose the period-value families
that are recomputed, and the result is still exactly a full run's.

Site time is Europe/Stockholm (UTC+1 in November).
"""

from __future__ import annotations

import datetime as dt

import pytest

from activities.services import activity_delete, activity_log, activity_update
from kpis.compute.periodic import CODES, FAMILIES
from kpis.compute.run import family_periods, recompute, recompute_full
from kpis.models import KPIValue, RepDay, RepDayDimension, Source
from kpis.periods import period_containing
from people.models import User
from people.services import user_set_team
from people.tests.factories import TeamFactory, UserFactory
from pipeline.models import Contact, Opportunity
from pipeline.services import (
    lead_create,
    opportunity_create,
    opportunity_move_stage,
    opportunity_update,
)
from pipeline.tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 26, 12, tzinfo=UTC)  # Thursday of ISO week 48
LATER = NOW + dt.timedelta(hours=1)
TODAY = dt.date(2026, 11, 26)


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


@pytest.fixture
def org():
    team = TeamFactory(name="A")
    sdr = UserFactory(username="sdr", role=User.Role.SDR, team=team)
    ae = UserFactory(username="ae", role=User.Role.AE, team=team)
    am = UserFactory(username="am", role=User.Role.AM, team=TeamFactory(name="B"))
    c1, c2 = CompanyFactory(name="C1", owner=am), CompanyFactory(name="C2", owner=am)
    contact = Contact.objects.create(company=c1, name="X")
    call = {"kind": "call", "direction": "outbound", "outcome": "connected"}
    for day, company in ((2, c1), (3, c2), (10, c1), (17, c1), (24, c2)):
        activity_log(owner=ae, **call, company=company, occurred_at=utc(2026, 11, day, 9))
    lead = lead_create(name="L1", assigned_to=sdr, received_at=utc(2026, 11, 9, 8))
    activity_log(owner=sdr, **call, lead=lead, company=c1, occurred_at=utc(2026, 11, 9, 9))
    lead_create(name="L2", assigned_to=sdr, received_at=utc(2026, 11, 16, 8))
    deal = opportunity_create(name="D1", company=c1, owner=ae, created_by=ae, amount=5000,
                              created_at=utc(2026, 10, 1, 9))  # fmt: skip
    opportunity_move_stage(opportunity=deal, to_stage="meeting", changed_by=ae,
                           at=utc(2026, 10, 20, 9))  # fmt: skip
    opportunity_move_stage(opportunity=deal, to_stage="won", changed_by=ae,
                           at=utc(2026, 11, 12, 9))  # fmt: skip
    opportunity_create(name="D2", company=c2, owner=am, created_by=am, amount=700,
                       created_at=utc(2026, 11, 3, 9))  # fmt: skip
    recompute_full(now=NOW)
    return {"sdr": sdr, "ae": ae, "am": am, "c1": c1, "c2": c2, "contact": contact,
            "lead": lead}  # fmt: skip


def stored() -> dict:
    values = {
        (v.scope, v.scope_id, v.kpi, v.period, v.period_start, v.dimension): (
            v.value,
            v.numerator,
            v.denominator,
        )
        for v in KPIValue.objects.all()
    }
    fields = [f.name for f in RepDay._meta.fields if f.name not in ("id", "computed_at")]
    dimensions = set(
        RepDayDimension.objects.values_list("rep_id", "day", "counter", "dimension", "value")
    )
    return {
        "values": values,
        "days": set(RepDay.objects.values_list(*fields)),
        "dimensions": dimensions,
    }


def computed_at(code: str) -> set[dt.datetime]:
    return set(KPIValue.objects.filter(kpi=code).values_list("computed_at", flat=True))


def test_the_families_cover_every_code_once():
    codes = [code for family in FAMILIES for code in family.codes]
    assert sorted(codes) == sorted(CODES)


def test_an_activity_day_recomputes_only_the_current_snapshots():
    day = dt.date(2026, 11, 3)
    current = {period_containing(p, TODAY) for p in ("week", "month", "quarter", "year")}
    holding = {period_containing(p, day) for p in ("week", "month", "quarter", "year")}

    wanted = family_periods({day: Source.ACTIVITY | Source.COUNTERS}, today=TODAY)

    # calls_per_customer is kept with the cells' rollups (call_days.py), never per period.
    assert wanted == {
        "calls": set(),
        "lead_response": set(),
        "days_in_stage": set(),
        "sales_cycle": set(),
        "pipeline": current,
        "accounts": current,
    }
    # Plain days (and `Source.ALL`) are every family's.
    assert family_periods([day], today=TODAY)["days_in_stage"] == holding
    assert family_periods([day], today=TODAY)["calls"] == set()


def test_counters_only_cells_recompute_no_period_value_but_the_snapshots():
    wanted = family_periods({dt.date(2026, 11, 3): Source.COUNTERS}, today=TODAY)

    assert {name for name, periods in wanted.items() if periods} == {"pipeline", "accounts"}


def test_a_logged_call_recomputes_calls_per_customer_and_leaves_the_pipeline_medians(org):
    before = computed_at("days_in_stage")

    activity_log(owner=org["ae"], kind="call", direction="outbound", outcome="connected",
                 company=org["c2"], occurred_at=utc(2026, 11, 25, 9))  # fmt: skip
    recompute(now=LATER)

    assert computed_at("days_in_stage") == before == {NOW}
    assert computed_at("sales_cycle_days") == {NOW}
    # The periods holding 25 November now count C2 for the ae: week 48 has one call to C2.
    week = KPIValue.objects.get(kpi="calls_per_customer", scope="rep", scope_id=org["ae"].pk,
                                period="week", period_start=dt.date(2026, 11, 23))  # fmt: skip
    assert (week.numerator, week.denominator, week.computed_at) == (2, 1, LATER)
    month = KPIValue.objects.get(kpi="calls_per_customer", scope="rep", scope_id=org["ae"].pk,
                                 period="month", period_start=dt.date(2026, 11, 1))  # fmt: skip
    assert (month.numerator, month.denominator) == (6, 2)


def test_incremental_runs_after_mixed_writes_equal_a_full_run(org):
    ae, sdr = org["ae"], org["sdr"]
    # An activity write: a call, one moved to another company, one deleted.
    first = activity_log(owner=ae, kind="call", direction="outbound", outcome="connected",
                         company=org["c2"], occurred_at=utc(2026, 11, 25, 9))  # fmt: skip
    activity_update(activity=first, company=org["c1"])
    gone = activity_log(owner=ae, kind="call", direction="outbound", company=org["c1"],
                        occurred_at=utc(2026, 11, 4, 9))  # fmt: skip
    activity_delete(activity=gone)
    # A lead answered (its received day: lead response), a meeting with a contact (first touch).
    second = lead_create(name="L3", assigned_to=sdr, received_at=utc(2026, 11, 20, 8))
    activity_log(owner=sdr, kind="email", lead=second, occurred_at=utc(2026, 11, 24, 9))
    activity_log(owner=ae, kind="meeting", contact=org["contact"],
                 occurred_at=utc(2026, 11, 5, 9))  # fmt: skip
    # A pipeline write: a back-dated move.
    deal = opportunity_create(name="D3", company=org["c2"], owner=ae, created_by=ae, amount=900,
                              created_at=utc(2026, 11, 2, 9))  # fmt: skip
    opportunity_move_stage(opportunity=deal, to_stage="meeting", changed_by=ae,
                           at=utc(2026, 11, 6, 9))  # fmt: skip

    recompute(now=NOW)
    incremental = stored()
    recompute_full(now=NOW)

    assert stored() == incremental


def test_a_won_deal_moved_to_another_company_recomputes_the_old_companys_deals(org):
    """D1 (won at C1 on 12 November) made C1 an existing customer for D4, won there later by
    another rep; moving D1 to C2 makes D4 a new customer's deal again, and C1's purchases (its
    account owner's churn and repeat purchase) change: the old company's cells are dirty too."""
    am, ae = org["am"], org["ae"]
    later = opportunity_create(name="D4", company=org["c1"], owner=am, created_by=am,
                               amount=300, created_at=utc(2026, 11, 14, 9))  # fmt: skip
    opportunity_move_stage(opportunity=later, to_stage="won", changed_by=am,
                           at=utc(2026, 11, 20, 9))  # fmt: skip
    recompute(now=NOW)
    before = stored()
    won = Opportunity.objects.get(name="D1")

    opportunity_update(opportunity=won, company=org["c2"])
    recompute(now=NOW)
    incremental = stored()
    recompute_full(now=NOW)

    assert stored() == incremental
    assert incremental != before  # The move changed something the run had to see.
    assert ae.pk != am.pk


def test_a_won_deal_dirtying_the_year_ahead_stores_no_period_a_full_run_does_not(org):
    """A win dirties its company's next 366 days (churn and repeat purchase move with it); the
    periods after today hold no rollups, so a full run stores none of them, nor may this run."""
    am = org["am"]
    deal = opportunity_create(name="D4", company=org["c1"], owner=am, created_by=am,
                              amount=300, created_at=utc(2026, 11, 14, 9))  # fmt: skip
    opportunity_move_stage(opportunity=deal, to_stage="won", changed_by=am,
                           at=utc(2026, 11, 20, 9))  # fmt: skip

    recompute(now=NOW)
    incremental = stored()
    recompute_full(now=NOW)

    assert stored() == incremental
    assert not KPIValue.objects.filter(period_start__gt=TODAY).exists()


def test_deleting_a_future_dated_call_drops_the_periods_only_it_reached(org):
    ae = org["ae"]
    ahead = activity_log(owner=ae, kind="call", direction="outbound", outcome="connected",
                         company=org["c1"], occurred_at=utc(2026, 12, 9, 9))  # fmt: skip
    recompute_full(now=NOW)
    december = period_containing("month", dt.date(2026, 12, 9)).start
    assert KPIValue.objects.filter(period="month", period_start=december).exists()

    activity_delete(activity=ahead)
    recompute(now=NOW)
    incremental = stored()
    recompute_full(now=NOW)

    assert stored() == incremental
    assert not KPIValue.objects.filter(period_start__gt=TODAY).exists()


def test_a_future_dated_call_fills_the_snapshots_of_the_periods_it_opens(org):
    """A completed call dated 9 December moves the horizon: a full run stores the open pipeline
    and churn of every period up to it (week 49, December, …), though a call moves neither."""
    activity_log(owner=org["ae"], kind="email", direction="outbound", company=org["c1"],
                 occurred_at=utc(2026, 12, 9, 9))  # fmt: skip

    recompute(now=NOW)
    incremental = stored()
    recompute_full(now=NOW)

    assert stored() == incremental
    assert KPIValue.objects.filter(kpi="open_opportunities", period="week",
                                   period_start=dt.date(2026, 11, 30)).exists()  # fmt: skip


def test_the_snapshots_of_periods_after_today_move_with_time_as_the_current_ones(org):
    """Every period ending after now is measured at now: a deal created (dated) an hour ahead is
    open in December's snapshot too once that hour has passed, with nothing dirty."""
    ae = org["ae"]
    activity_log(owner=ae, kind="email", direction="outbound", company=org["c1"],
                 occurred_at=utc(2026, 12, 9, 9))  # fmt: skip
    opportunity_create(name="D4", company=org["c2"], owner=ae, created_by=ae, amount=300,
                       created_at=NOW + dt.timedelta(minutes=30))  # fmt: skip
    recompute_full(now=NOW)

    recompute(now=LATER)
    incremental = stored()
    recompute_full(now=LATER)

    assert stored() == incremental
    december = KPIValue.objects.get(kpi="open_opportunities", scope="rep", scope_id=ae.pk,
                                    period="month", period_start=dt.date(2026, 12, 1))  # fmt: skip
    assert december.value == 1


def test_a_rep_without_rollups_moved_team_moves_the_team_pipeline_of_their_deals(org):
    """A closer owns a deal the ae opened in June and has no rollup row of their own: their
    team's open pipeline holds that deal from June on, and moves with them to team A."""
    closer = UserFactory(username="closer", role=User.Role.AE, team=TeamFactory(name="B"))
    opportunity_create(name="D4", company=org["c2"], owner=closer, created_by=org["ae"],
                       amount=300, created_at=utc(2026, 6, 2, 9))  # fmt: skip
    recompute(now=NOW)

    user_set_team(user=closer, team=org["ae"].team)
    recompute(now=NOW)
    incremental = stored()
    recompute_full(now=NOW)

    assert stored() == incremental
    july = KPIValue.objects.get(kpi="open_opportunities", scope="team", scope_id=org["ae"].team_id,
                                period="month", period_start=dt.date(2026, 7, 1))  # fmt: skip
    assert july.value == 1


def test_an_account_manager_without_rollups_moved_team_moves_the_team_churn(org):
    """The keeper owns C3, where the ae won a deal in March: the keeper's team's repeat purchase
    counts C3 in every period since, and moves with the keeper to team A."""
    keeper = UserFactory(username="keeper", role=User.Role.AM, team=TeamFactory(name="B"))
    c3 = CompanyFactory(name="C3", owner=keeper)
    ae = org["ae"]
    deal = opportunity_create(name="D4", company=c3, owner=ae, created_by=ae, amount=300,
                              created_at=utc(2026, 3, 2, 9))  # fmt: skip
    opportunity_move_stage(opportunity=deal, to_stage="won", changed_by=ae,
                           at=utc(2026, 3, 10, 9))  # fmt: skip
    recompute(now=NOW)

    user_set_team(user=keeper, team=ae.team)
    recompute(now=NOW)
    incremental = stored()
    recompute_full(now=NOW)

    assert stored() == incremental
    june = {"period": "month", "period_start": dt.date(2026, 6, 1)}
    assert KPIValue.objects.filter(kpi="repeat_purchase_rate", scope="team",
                                   scope_id=ae.team_id, **june).exists()  # fmt: skip


def test_a_first_run_opens_no_period_for_a_meeting_only_planned_before_all_history():
    """The first run stores the periods of history, which starts with the call of 2 November:
    the meeting planned for June has no rollup yet (nothing done), so a full run stores no June
    snapshot, and its dirty day opens none either."""
    ae = UserFactory(username="ae", role=User.Role.AE, team=TeamFactory(name="A"))
    activity_log(owner=ae, kind="meeting", status="planned", occurred_at=utc(2026, 6, 2, 9))
    activity_log(owner=ae, kind="call", direction="outbound", occurred_at=utc(2026, 11, 2, 9))

    recompute(now=NOW)
    incremental = stored()
    recompute_full(now=NOW)

    assert stored() == incremental
    assert not KPIValue.objects.filter(period="month", period_start__lt=dt.date(2026, 11, 1))


def test_history_dated_after_today_only_has_its_snapshots_from_today_on():
    """With nothing but a call next month, history runs from today (a full run) to that day:
    next week's snapshots are stored as well, by either run."""
    UserFactory(username="ae", role=User.Role.AE, team=TeamFactory(name="A"))
    activity_log(owner=User.objects.get(), kind="call", direction="outbound",
                 occurred_at=utc(2026, 12, 9, 9))  # fmt: skip

    recompute(now=NOW)
    incremental = stored()
    recompute_full(now=NOW)

    assert stored() == incremental
    assert KPIValue.objects.filter(kpi="open_opportunities", scope="org", period="week",
                                   period_start=dt.date(2026, 11, 30)).exists()  # fmt: skip


def test_a_week_current_at_the_last_run_is_measured_at_its_end_by_the_next(org):
    """The run of Thursday measured week 48's open pipeline at that moment; a deal dated
    Saturday (entered ahead) is open at the week's end. Monday's run, with nothing dirty, must
    measure the ended week at its end as a full run does."""
    ae = org["ae"]
    opportunity_create(name="D4", company=org["c2"], owner=ae, created_by=ae, amount=300,
                       created_at=utc(2026, 11, 28, 9))  # fmt: skip
    recompute(now=NOW)
    monday = dt.datetime(2026, 11, 30, 2, tzinfo=UTC)

    recompute(now=monday)
    incremental = stored()
    recompute_full(now=monday)

    assert stored() == incremental
    week = KPIValue.objects.get(kpi="open_opportunities", scope="rep", scope_id=ae.pk,
                                period="week", period_start=dt.date(2026, 11, 23))  # fmt: skip
    assert week.value == 1


def test_an_incremental_run_with_nothing_dirty_changes_nothing(org):
    full = stored()

    recompute(now=NOW)

    assert stored() == full


def test_a_pipeline_day_dirties_the_snapshots_of_every_period_since():
    # A deal created on 10 September (back-dated) is open at the end of every later period.
    wanted = family_periods({dt.date(2026, 9, 10): Source.PIPELINE}, today=TODAY)

    months = {r.start for r in wanted["pipeline"] if r.period == "month"}
    assert months == {dt.date(2026, m, 1) for m in (9, 10, 11)}
    assert wanted["accounts"] == wanted["pipeline"]
    # The medians read the day's own periods only.
    assert {r.start for r in wanted["days_in_stage"] if r.period == "month"} == {
        dt.date(2026, 9, 1)
    }


def test_a_call_older_than_all_history_fills_the_snapshots_a_full_run_has(org):
    # History starts on 1 October (the first deal); a call logged for June opens the periods from
    # June on, whose open pipeline and churn a full run stores (as zeros) although a call cannot
    # move them.
    activity_log(owner=org["ae"], kind="call", direction="outbound", outcome="connected",
                 company=org["c1"], occurred_at=utc(2026, 6, 2, 9))  # fmt: skip

    recompute(now=NOW)
    incremental = stored()
    recompute_full(now=NOW)

    assert stored() == incremental
    assert KPIValue.objects.filter(kpi="open_opportunities", period="month",
                                   period_start=dt.date(2026, 7, 1)).exists()  # fmt: skip


def test_deleting_the_oldest_activity_drops_the_snapshots_a_full_run_no_longer_has(org):
    # The mirror: a June call makes history start in June; deleting it moves the start back to
    # 1 October, and the zero snapshots of June to September go, as a full run would leave them.
    old = activity_log(owner=org["ae"], kind="call", direction="outbound", outcome="connected",
                       company=org["c1"], occurred_at=utc(2026, 6, 2, 9))  # fmt: skip
    recompute_full(now=NOW)
    assert KPIValue.objects.filter(kpi="open_opportunities", period="month",
                                   period_start=dt.date(2026, 7, 1)).exists()  # fmt: skip

    activity_delete(activity=old, changed_by=org["ae"])
    recompute(now=LATER)
    incremental = stored()
    recompute_full(now=LATER)

    assert stored() == incremental
    months = set(KPIValue.objects.filter(period="month").values_list("period_start", flat=True))
    assert min(months) == dt.date(2026, 10, 1)
