"""Additive KPIs and ratios of additive counters, against values computed by hand.

Site time is Europe/Stockholm: UTC+1 in winter, UTC+2 in summer (DST ends 2026-10-25 03:00).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Q

from activities.models import Activity
from activities.services import activity_book, activity_cancel, activity_delete, activity_log
from kpis.compute.run import recompute, recompute_full
from kpis.models import DirtyCell, RepDay, RepDayDimension
from kpis.selectors import kpi_values
from people.models import User
from people.tests.factories import TeamFactory, UserFactory
from pipeline.models import Company, Contact, Opportunity
from pipeline.services import (
    lead_create,
    opportunity_create,
    opportunity_move_stage,
    rep_cost_set,
)

UTC = dt.UTC
WEEK48, WEEK49 = dt.date(2026, 11, 23), dt.date(2026, 11, 30)
NOV, DEC = dt.date(2026, 11, 1), dt.date(2026, 12, 1)


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def values(scope, period, start, codes, scope_ids=None):
    end = start + (dt.timedelta(days=7) if period == "week" else dt.timedelta(days=31))
    rows = kpi_values(
        codes=codes, scope=scope, period=period, start=start, end=end, scope_ids=scope_ids
    )
    return {(v.kpi, v.scope_id, v.dimension): v.value for v in rows if v.period_start == start}


@pytest.fixture
def org(db):
    team_a, team_b = TeamFactory(name="A"), TeamFactory(name="B")
    a1 = UserFactory(username="a1", role=User.Role.SDR, team=team_a)
    a2 = UserFactory(username="a2", role=User.Role.AE, team=team_a)
    b1 = UserFactory(username="b1", role=User.Role.AE, team=team_b)
    c1 = Company.objects.create(name="C1")
    c2 = Company.objects.create(name="C2")
    x = Contact.objects.create(company=c1, name="X", is_decision_maker=True)
    y = Contact.objects.create(company=c2, name="Y")
    return {"a1": a1, "a2": a2, "b1": b1, "team_a": team_a, "team_b": team_b, "c1": c1, "c2": c2,
            "x": x, "y": y}  # fmt: skip


@pytest.fixture
def activities(org):
    a1, a2, b1, c1, c2, x, y = (org[k] for k in ("a1", "a2", "b1", "c1", "c2", "x", "y"))
    call = {"kind": "call", "direction": "outbound"}
    # a1, week 49 (local Monday 2026-11-30 00:30 is 23:30 UTC on Sunday)
    activity_log(owner=a1, **call, occurred_at=utc(2026, 11, 29, 23, 30), outcome="connected",
                 duration_seconds=240, company=c1)  # fmt: skip
    activity_log(
        owner=a1, **call, occurred_at=utc(2026, 11, 30, 8), outcome="no_answer", company=c1
    )
    activity_log(owner=a1, **call, occurred_at=utc(2026, 11, 30, 9), outcome="connected",
                 duration_seconds=120, company=c2)  # fmt: skip
    activity_log(owner=a1, kind="call", direction="inbound", occurred_at=utc(2026, 11, 30, 10),
                 outcome="connected", duration_seconds=600)  # fmt: skip
    activity_log(owner=a1, **call, status="planned", occurred_at=utc(2026, 12, 3, 9))
    # a1, week 48: 22:30 UTC on Sunday is 23:30 local Sunday
    activity_log(owner=a1, **call, occurred_at=utc(2026, 11, 29, 22, 30), outcome="connected",
                 duration_seconds=300)  # fmt: skip
    activity_log(
        owner=a1, kind="email", occurred_at=utc(2026, 12, 1, 10), replied=True, clicked=True
    )
    activity_log(owner=a1, kind="email", occurred_at=utc(2026, 12, 1, 11))
    activity_log(
        owner=a1, kind="meeting", mode="physical", contact=x, occurred_at=utc(2026, 12, 2, 9)
    )
    activity_log(
        owner=a1, kind="meeting", mode="digital", contact=x, occurred_at=utc(2026, 12, 3, 9)
    )
    activity_log(owner=a1, kind="lunch", contact=y, occurred_at=utc(2026, 12, 3, 11))
    activity_log(owner=a1, kind="demo", mode="physical", occurred_at=utc(2026, 12, 4, 9))
    # a2 and b1, week 49
    activity_log(owner=a2, **call, occurred_at=utc(2026, 12, 1, 9), outcome="connected",
                 duration_seconds=60, company=c1)  # fmt: skip
    activity_log(owner=a2, kind="demo", mode="digital", occurred_at=utc(2026, 12, 1, 13))
    activity_log(owner=b1, **call, occurred_at=utc(2026, 12, 2, 9), outcome="busy")
    # Bookings by a1 for a2: a meeting with a decision maker, and a demo later cancelled.
    activity_book(booked_by=a1, owner=a2, kind="meeting", contact=x,
                  booked_at=utc(2026, 12, 1, 12), occurred_at=utc(2026, 12, 8, 9))  # fmt: skip
    demo = activity_book(booked_by=a1, owner=a2, kind="demo", booked_at=utc(2026, 12, 1, 12),
                         occurred_at=utc(2026, 12, 9, 9))  # fmt: skip
    activity_cancel(activity=demo)
    return org


ACTIVITY_CODES = [
    "calls_made", "calls_connected", "calls_over_3_min", "talk_time_minutes", "emails_sent",
    "emails_replied", "meetings_booked", "meetings_booked_decision_makers", "meetings_held",
    "meetings_held_physical", "meetings_held_digital", "meetings_new_contacts", "demos_booked",
    "demos_held", "demos_on_site", "lunches_new_contacts", "activities_total",
    "call_connect_rate", "email_reply_rate", "email_click_rate", "avg_call_minutes",
]  # fmt: skip


def test_activity_kpis_of_a_rep_in_iso_week_49(activities):
    recompute()
    a1 = activities["a1"].pk
    got = values("rep", "week", WEEK49, ACTIVITY_CODES, [a1])
    expected = {
        "calls_made": 3,  # 23:30 UTC Sunday (local Monday), 08:00, 09:00; not inbound/planned
        "calls_connected": 2,
        "calls_over_3_min": 1,  # 240 s; the 120 s call is short
        "talk_time_minutes": (240 + 0 + 120) / 60,
        "emails_sent": 2,
        "emails_replied": 1,
        "meetings_booked": 1,  # the cancelled demo booking does not count
        "meetings_booked_decision_makers": 1,
        "meetings_held": 2,
        "meetings_held_physical": 1,
        "meetings_held_digital": 1,
        "meetings_new_contacts": 1,  # only the first meeting with X
        "demos_booked": 0,
        "demos_held": 1,
        "demos_on_site": 1,
        "lunches_new_contacts": 1,
        "activities_total": 10,  # 3 calls + inbound call + 2 emails + 2 meetings + lunch + demo
        "call_connect_rate": 2 / 3,
        "email_reply_rate": 1 / 2,
        "email_click_rate": 1 / 2,
        "avg_call_minutes": 6.0 / 2,
    }
    assert {code: got[(code, a1, "")] for code in ACTIVITY_CODES} == pytest.approx(expected)


def test_sunday_evening_local_call_stays_in_week_48(activities):
    recompute()
    a1 = activities["a1"].pk
    got = values("rep", "week", WEEK48, ["calls_made", "talk_time_minutes"], [a1])
    assert got == {("calls_made", a1, ""): 1, ("talk_time_minutes", a1, ""): 5.0}


def test_team_ratio_is_sum_over_sum_not_mean_of_reps(activities):
    recompute()
    team_a = activities["team_a"].pk
    got = values("team", "week", WEEK49, ["call_connect_rate", "calls_made"], [team_a])
    # a1 2/3 and a2 1/1: the mean of rates would be 0.8333; the team rate is (2+1)/(3+1).
    assert got[("call_connect_rate", team_a, "")] == pytest.approx(0.75)
    assert got[("calls_made", team_a, "")] == 4


def test_org_sums_every_rep(activities):
    recompute()
    got = values("org", "week", WEEK49, ["calls_made", "call_connect_rate"])
    # a1 3 + a2 1 + b1 1 calls; connected 2 + 1 + 0
    assert got == {("calls_made", 0, ""): 5, ("call_connect_rate", 0, ""): pytest.approx(3 / 5)}


def test_dst_end_day_buckets_by_local_midnight(org):
    a1 = org["a1"]
    # 2026-10-24 22:30 UTC = 00:30 CEST on the 25th; 2026-10-25 22:30 UTC = 23:30 CET on the 25th;
    # 2026-10-25 23:30 UTC = 00:30 CET on Monday the 26th (ISO week 44).
    for moment in (utc(2026, 10, 24, 22, 30), utc(2026, 10, 25, 22, 30), utc(2026, 10, 25, 23, 30)):
        activity_log(owner=a1, kind="call", outcome="connected", duration_seconds=60,
                     occurred_at=moment)  # fmt: skip
    recompute()
    days = dict(RepDay.objects.filter(rep=a1).values_list("day", "calls_made"))
    assert days == {dt.date(2026, 10, 25): 2, dt.date(2026, 10, 26): 1}
    week43 = values("rep", "week", dt.date(2026, 10, 19), ["calls_made"], [a1.pk])
    assert week43 == {("calls_made", a1.pk, ""): 2}


@pytest.fixture
def deals(org):
    a1, a2, c1, c2 = org["a1"], org["a2"], org["c1"], org["c2"]

    def opp(name, owner, created_by, day, company=c1, kind="new_business", amount=100_000):
        return opportunity_create(
            name=name, company=company, owner=owner, created_by=created_by, kind=kind,
            amount=amount, created_at=utc(2026, 11, day, 9), lead_source="website", channel="field",
        )  # fmt: skip

    def move(o, stage, day, **kw):
        opportunity_move_stage(opportunity=o, to_stage=stage, changed_by=o.owner,
                               at=utc(2026, 11, day, 12), **kw)  # fmt: skip

    o1 = opp("O1", a2, a2, 2)
    move(o1, "meeting", 3)
    move(o1, "proposal", 5)
    move(o1, "won", 10)
    o2 = opp("O2", a2, a2, 2, company=c2)
    move(o2, "lost", 12, lost_reason="Price")
    o3 = opp("O3", a2, a1, 4, kind="upsell")
    move(o3, "meeting", 5)
    move(o3, "qualification", 6)  # backward
    o4 = opp("O4", a2, a2, 2, company=c2)
    move(o4, "won", 6)
    move(o4, "negotiation", 9)  # reopened: no longer won, closed_at cleared
    activity_log(owner=a2, kind="email", occurred_at=utc(2026, 11, 20, 9))
    rep_cost_set(rep=a2, month=NOV, kind="salary", amount=50_000)
    rep_cost_set(rep=a2, month=NOV, kind="bonus", amount=10_000)
    return org


RESULT_CODES = [
    "deals_won", "deals_lost", "revenue_won", "win_rate", "avg_deal_size", "stage_advances",
    "opportunities_created", "opportunities_created_new_business", "opportunities_created_upsell",
    "activities_per_won_deal", "cost_to_revenue", "stage_conversion",
]  # fmt: skip


def test_deal_and_progress_kpis_for_november(deals):
    recompute()
    a1, a2 = deals["a1"].pk, deals["a2"].pk
    got = values("rep", "month", NOV, RESULT_CODES, [a1, a2])
    assert got == pytest.approx(
        {
            ("deals_won", a2, ""): 1,  # O1; O4 was reopened
            ("deals_lost", a2, ""): 1,
            ("revenue_won", a2, ""): 100_000,
            ("win_rate", a2, ""): 0.5,
            ("avg_deal_size", a2, ""): 100_000,
            ("avg_deal_size", a2, "lead_source:website"): 100_000,
            ("avg_deal_size", a2, "channel:field"): 100_000,
            ("avg_deal_size", a2, "customer_type:new"): 100_000,
            # O1: q→meeting→proposal→won (3); O3: q→meeting (1), meeting→q back (0);
            # O4: q→won (1), won→negotiation (reopen, 0); O2: →lost (0)
            ("stage_advances", a2, ""): 5,
            ("opportunities_created", a2, ""): 3,
            ("opportunities_created_new_business", a2, ""): 3,
            ("opportunities_created_upsell", a2, ""): 0,
            ("opportunities_created", a1, ""): 1,
            ("opportunities_created_new_business", a1, ""): 0,
            ("opportunities_created_upsell", a1, ""): 1,
            ("activities_per_won_deal", a2, ""): 1 / 1,
            ("activities_per_won_deal", a1, ""): None,  # no won deal: no denominator
            ("win_rate", a1, ""): None,
            # a1 only created O3 (owned by a2): zeros for counts, None for ratios
            ("deals_won", a1, ""): 0,
            ("deals_lost", a1, ""): 0,
            ("revenue_won", a1, ""): 0,
            ("stage_advances", a1, ""): 0,
            ("avg_deal_size", a1, ""): None,
            ("cost_to_revenue", a2, ""): 60_000 / 100_000,
            ("cost_to_revenue", a1, ""): None,
            # Entries exited since: qualification O1 fwd, O2 lost, O3 fwd, O4 fwd → 3/4;
            # meeting O1 fwd, O3 back → 1/2; proposal O1 → won 1/1. Won/lost have no dimension.
            ("stage_conversion", a2, "stage:qualification"): 3 / 4,
            ("stage_conversion", a2, "stage:meeting"): 1 / 2,
            ("stage_conversion", a2, "stage:proposal"): 1.0,
        }
    )


def test_cost_to_revenue_is_not_defined_for_weeks(deals):
    recompute()
    got = values("rep", "week", dt.date(2026, 10, 26), ["cost_to_revenue"], [deals["a2"].pk])
    assert got == {}


def test_lead_counters(org):
    a1 = org["a1"]
    l1 = lead_create(name="L1", assigned_to=a1, received_at=utc(2026, 11, 20, 9))
    lead_create(name="L2", assigned_to=a1, received_at=utc(2026, 11, 21, 9))
    l3 = lead_create(name="L3", assigned_to=a1, received_at=utc(2026, 11, 22, 9))
    activity_log(owner=a1, kind="call", lead=l1, occurred_at=utc(2026, 11, 20, 9, 30))
    activity_log(owner=a1, kind="email", lead=l3, occurred_at=utc(2026, 11, 22, 10))
    opportunity_create(name="From L3", company=org["c1"], owner=org["a2"], created_by=a1, lead=l3,
                       created_at=utc(2026, 11, 23, 9))  # fmt: skip
    recompute()
    got = values("rep", "month", NOV, ["leads_unanswered", "lead_conversion_rate"], [a1.pk])
    assert got == {
        ("leads_unanswered", a1.pk, ""): 1,  # L2
        ("lead_conversion_rate", a1.pk, ""): pytest.approx(1 / 3),  # L3 of L1, L2, L3
    }


def _table():
    day = {tuple(r.values()) for r in RepDay.objects.values("rep_id", "day", *[
        f.name for f in RepDay._meta.fields if f.name not in ("id", "rep", "day", "computed_at")
    ])}  # fmt: skip
    dims = set(
        RepDayDimension.objects.values_list("rep_id", "day", "counter", "dimension", "value")
    )
    return day, dims


def test_incremental_equals_full_and_a_second_run_changes_nothing(activities, deals):
    recompute()
    incremental = _table()
    assert not DirtyCell.objects.exists()
    recompute_full()
    assert _table() == incremental
    recompute_full()
    recompute()
    assert _table() == incremental


def test_deleting_the_last_activity_of_a_day_empties_the_cell(org):
    from activities.services import activity_delete

    a1 = org["a1"]
    call = activity_log(owner=a1, kind="call", occurred_at=utc(2026, 11, 20, 9))
    recompute()
    assert RepDay.objects.get(rep=a1).calls_made == 1
    activity_delete(activity=call)
    recompute()
    assert not RepDay.objects.filter(rep=a1, calls_made__gt=0).exists()


def test_write_during_a_run_stays_dirty(org, monkeypatch):
    """A cell re-marked after the run claimed it keeps its new token and is not cleared."""
    from kpis.compute import run as run_module

    a1 = org["a1"]
    activity_log(owner=a1, kind="call", occurred_at=utc(2026, 11, 20, 9))
    original = run_module.rollup_families

    def rollup_then_concurrent_write(**kwargs):
        original(**kwargs)
        activity_log(owner=a1, kind="call", occurred_at=utc(2026, 11, 20, 10))

    monkeypatch.setattr(run_module, "rollup_families", rollup_then_concurrent_write)
    run_module.recompute()
    assert DirtyCell.objects.filter(rep=a1, day=dt.date(2026, 11, 20), run__isnull=True).exists()
    monkeypatch.setattr(run_module, "rollup_families", original)
    recompute()
    assert RepDay.objects.get(rep=a1, day=dt.date(2026, 11, 20)).calls_made == 2
    assert not DirtyCell.objects.exists()


def test_recompute_query_count_does_not_grow_with_reps(db, django_assert_max_num_queries):
    def build(n):
        team = TeamFactory()
        for i in range(n):
            rep = UserFactory(team=team, username=f"q{n}-{i}")
            activity_log(owner=rep, kind="call", occurred_at=utc(2026, 11, 20, 9))

    build(3)
    # A fixed number of statements per run: the cells' rollups, their period sums, calls per
    # (rep, day, company), each family's period values and the bookkeeping.
    with django_assert_max_num_queries(50) as small:
        recompute()
    build(30)
    with django_assert_max_num_queries(len(small.captured_queries)):
        recompute()


def test_revenue_is_decimal_exact_in_storage(deals):
    recompute()
    assert RepDay.objects.get(rep=deals["a2"], day=dt.date(2026, 11, 10)).revenue_won == Decimal(
        "100000.00"
    )


def test_quota_attainment_is_revenue_over_the_revenue_target(deals):
    from kpis.target_services import target_set

    a1, a2, team_a = deals["a1"], deals["a2"], deals["team_a"]
    target_set(kpi="revenue_won", scope="rep", rep=a2, period="month", value=80_000,
               valid_from=dt.date(2026, 1, 1), changed_by=a2)  # fmt: skip
    recompute()
    rep = values("rep", "month", NOV, ["quota_attainment"], [a1.pk, a2.pk])
    # a2 won 100 000 against 80 000; a1 has no target: None, never 0.
    assert rep == {
        ("quota_attainment", a2.pk, ""): pytest.approx(1.25),
        ("quota_attainment", a1.pk, ""): None,
    }
    # The team's target for an additive KPI is the sum of its members' targets (80 000).
    team = values("team", "month", NOV, ["quota_attainment"], [team_a.pk])
    assert team == {("quota_attainment", team_a.pk, ""): pytest.approx(1.25)}
    org = values("org", "month", NOV, ["quota_attainment"])
    assert org == {("quota_attainment", 0, ""): pytest.approx(1.25)}


# ---------------------------------------------------------------------------
# Full runs compute some definitions for the whole table at once (first touches by a window,
# stage exits by LEAD, answered and converted leads as sets); incremental runs per row. Both
# must store the same table, ties and edge cases included.
# ---------------------------------------------------------------------------
@pytest.fixture
def touches(org):
    a1, a2, b1, x, y = (org[k] for k in ("a1", "a2", "b1", "x", "y"))
    z = Contact.objects.create(company=org["c2"], name="Z")
    # X: an earlier planned meeting and a cancelled lunch are not touches; two completed meetings
    # at the same moment: the one logged first (lower id) is the first touch.
    activity_log(owner=a1, kind="meeting", status="planned", contact=x,
                 occurred_at=utc(2026, 11, 2, 9))  # fmt: skip
    lunch = activity_log(owner=b1, kind="lunch", contact=x, status="planned",
                         occurred_at=utc(2026, 11, 3, 11))  # fmt: skip
    activity_cancel(activity=lunch)
    activity_log(owner=a2, kind="meeting", contact=x, occurred_at=utc(2026, 11, 5, 9))
    activity_log(owner=a1, kind="meeting", contact=x, occurred_at=utc(2026, 11, 5, 9))
    # Y: a demo is its first touch, so the later lunch is not new; a call never is a touch.
    activity_log(owner=a1, kind="call", contact=y, occurred_at=utc(2026, 11, 1, 9))
    activity_log(owner=a2, kind="demo", contact=y, occurred_at=utc(2026, 11, 4, 9))
    activity_log(owner=a1, kind="lunch", contact=y, occurred_at=utc(2026, 11, 6, 11))
    # Z: the first touch is a lunch, on the local day after its UTC day (23:30 UTC = 00:30 CET).
    activity_log(owner=b1, kind="lunch", contact=z, occurred_at=utc(2026, 11, 6, 23, 30))
    activity_log(owner=b1, kind="meeting", contact=z, occurred_at=utc(2026, 11, 9, 9))
    # No contact: never a new contact.
    activity_log(owner=b1, kind="meeting", occurred_at=utc(2026, 11, 2, 9))
    return org


def _new_contacts() -> set[tuple]:
    return set(
        RepDay.objects.filter(
            Q(meetings_new_contacts__gt=0) | Q(lunches_new_contacts__gt=0)
        ).values_list("rep__username", "day", "meetings_new_contacts", "lunches_new_contacts")
    )


@pytest.mark.parametrize("run", [recompute, recompute_full], ids=["incremental", "full"])
def test_new_contacts_are_each_contacts_first_completed_touch_ties_by_id(touches, run):
    run()
    assert _new_contacts() == {
        ("a2", dt.date(2026, 11, 5), 1, 0),  # X: logged before a1's meeting at the same moment
        ("b1", dt.date(2026, 11, 7), 0, 1),  # Z
    }


def test_first_touches_store_the_same_table_in_full_and_incremental_runs(touches):
    recompute()
    incremental = _table()
    recompute_full()
    assert _table() == incremental


@pytest.fixture
def simultaneous_moves(org):
    a2 = org["a2"]
    opp = opportunity_create(name="Fast", company=org["c1"], owner=a2, created_by=a2,
                             amount=10_000, created_at=utc(2026, 11, 2, 9))  # fmt: skip
    # Three moves at the same moment: the rows' order (and each entry's exit) follows their ids.
    for stage in ("meeting", "proposal", "negotiation"):
        opportunity_move_stage(opportunity=opp, to_stage=stage, changed_by=a2,
                               at=utc(2026, 11, 3, 12))  # fmt: skip
    opportunity_move_stage(opportunity=opp, to_stage="lost", changed_by=a2,
                           at=utc(2026, 11, 4, 12), lost_reason="Price")  # fmt: skip
    return org


@pytest.mark.parametrize("run", [recompute, recompute_full], ids=["incremental", "full"])
def test_stage_exits_follow_the_next_row_by_time_then_id(simultaneous_moves, run):
    run()
    a2 = simultaneous_moves["a2"].pk
    got = values("rep", "month", NOV, ["stage_conversion"], [a2])
    assert got == pytest.approx(
        {
            ("stage_conversion", a2, "stage:qualification"): 1.0,  # → meeting
            ("stage_conversion", a2, "stage:meeting"): 1.0,  # → proposal
            ("stage_conversion", a2, "stage:proposal"): 1.0,  # → negotiation
            ("stage_conversion", a2, "stage:negotiation"): 0.0,  # → lost
        }
    )


def test_stage_exits_store_the_same_table_in_full_and_incremental_runs(simultaneous_moves, deals):
    recompute()
    incremental = _table()
    recompute_full()
    assert _table() == incremental


@pytest.mark.parametrize("run", [recompute, recompute_full], ids=["incremental", "full"])
def test_lead_counters_in_full_and_incremental_runs(org, run):
    a1 = org["a1"]
    l1 = lead_create(name="L1", assigned_to=a1, received_at=utc(2026, 11, 20, 9))
    l2 = lead_create(name="L2", assigned_to=a1, received_at=utc(2026, 11, 20, 10))
    lead_create(name="L3", assigned_to=a1, received_at=utc(2026, 11, 21, 9))
    lead_create(name="Nobody's", received_at=utc(2026, 11, 21, 9))
    activity_log(owner=a1, kind="call", lead=l1, occurred_at=utc(2026, 11, 20, 9, 30))
    # A planned activity does not answer a lead.
    activity_log(owner=a1, kind="call", lead=l2, status="planned", occurred_at=utc(2026, 11, 27))
    opportunity_create(name="From L2", company=org["c1"], owner=a1, created_by=a1, lead=l2,
                       created_at=utc(2026, 11, 22, 9))  # fmt: skip
    run()
    days = RepDay.objects.filter(rep=a1, leads_received__gt=0).order_by("day")
    assert list(
        days.values_list("day", "leads_received", "leads_unanswered", "leads_converted")
    ) == [
        (dt.date(2026, 11, 20), 2, 1, 1),
        (dt.date(2026, 11, 21), 1, 1, 0),
    ]


def test_a_full_run_drops_the_rows_of_cells_whose_rows_are_gone(deals):
    """The full run keeps the stored rows it computes again (updated in place) and deletes the
    others, even at the same `now` as the run that stored them."""
    now = utc(2026, 12, 15, 12)
    a2 = deals["a2"]
    recompute_full(now=now)
    assert RepDay.objects.filter(rep=a2, day=dt.date(2026, 11, 20)).exists()  # an email
    assert RepDayDimension.objects.filter(rep=a2, day=dt.date(2026, 11, 10)).exists()  # O1 won
    activity_delete(activity=Activity.objects.get(owner=a2, kind="email"))
    o1 = Opportunity.objects.get(name="O1")
    opportunity_move_stage(opportunity=o1, to_stage="proposal", changed_by=a2,
                           at=utc(2026, 11, 14, 12))  # fmt: skip
    recompute_full(now=now)
    assert not RepDay.objects.filter(rep=a2, day=dt.date(2026, 11, 20)).exists()
    assert not RepDayDimension.objects.filter(
        rep=a2, day=dt.date(2026, 11, 10), counter__in=["deals_won", "revenue_won"]
    ).exists()
    full = _table()
    recompute(now=now)
    assert _table() == full


def test_deleting_a_user_deletes_their_rollups(org):
    """The rollups' `rep` has no database constraint; Django's collector still cascades."""
    rep = UserFactory(username="leaver")
    RepDay.objects.create(rep=rep, day=dt.date(2026, 11, 20), computed_at=utc(2026, 11, 21))
    RepDayDimension.objects.create(rep=rep, day=dt.date(2026, 11, 20), counter="deals_won",
                                   dimension="channel:field", value=1,
                                   computed_at=utc(2026, 11, 21))  # fmt: skip
    rep.delete()
    assert not RepDay.objects.filter(rep_id=rep.pk).exists()
    assert not RepDayDimension.objects.filter(rep_id=rep.pk).exists()
