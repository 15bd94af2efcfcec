"""The non-additive KPI values per period: the whole stored table for small hand-built fixtures.

Every expected value is worked out by hand in the comments (site time zone Europe/Stockholm:
UTC+1 in winter, UTC+2 in summer until Sunday 2026-10-25 03:00 → 02:00). Durations are exact to
the microsecond on both backends; floats are compared with `pytest.approx(rel=1e-12)`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils import timezone

from activities.services import activity_log
from kpis.compute.periodic import CODES, compute_period_values
from kpis.models import KPIValue
from kpis.periods import PeriodRange, period_containing
from kpis.registry import REGISTRY
from people.models import Team
from people.tests.factories import TeamFactory, UserFactory
from pipeline.services import (
    lead_create,
    opportunity_create,
    opportunity_move_stage,
    opportunity_update,
)
from pipeline.tests.factories import CompanyFactory, ContactFactory

pytestmark = pytest.mark.django_db

UTC = dt.UTC
# The services refuse moves dated in the future: their clock is pinned after every fixture moment.
CLOCK = dt.datetime(2026, 12, 15, 12, 0, tzinfo=UTC)
# The compute's now: Thursday 2026-12-10 13:00 local, in ISO week 50 and in December.
NOW = dt.datetime(2026, 12, 10, 12, 0, tzinfo=UTC)
REL = 1e-12

W44 = period_containing("week", dt.date(2026, 10, 26))  # Mon 26 Oct – Mon 2 Nov (DST ended 25 Oct)
W48 = period_containing("week", dt.date(2026, 11, 23))  # Mon 23 Nov – Mon 30 Nov
W49 = period_containing("week", dt.date(2026, 11, 30))  # Mon 30 Nov – Mon 7 Dec
W50 = period_containing("week", dt.date(2026, 12, 7))  # Mon 7 Dec – Mon 14 Dec (holds NOW)
OCT = period_containing("month", dt.date(2026, 10, 1))
NOV = period_containing("month", dt.date(2026, 11, 1))
DEC = period_containing("month", dt.date(2026, 12, 1))  # holds NOW

ORG = "org"


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: CLOCK)


@pytest.fixture
def sales():
    """Team A: reps a1, a2. Team B: rep b1."""
    team_a, team_b = TeamFactory(name="A"), TeamFactory(name="B")
    return SimpleNamespace(
        team_a=team_a,
        team_b=team_b,
        a1=UserFactory(username="a1", team=team_a),
        a2=UserFactory(username="a2", team=team_a),
        b1=UserFactory(username="b1", team=team_b),
    )


def key(who, rng: PeriodRange, dimension: str = "") -> tuple:
    if who == ORG:
        scope = ("org", 0)
    elif isinstance(who, Team):
        scope = ("team", who.pk)
    else:
        scope = ("rep", who.pk)
    return (*scope, rng.period.value, rng.start, dimension)


def stored(code: str) -> dict[tuple, tuple]:
    return {
        (v.scope, v.scope_id, v.period, v.period_start, v.dimension): (
            v.value,
            v.numerator,
            v.denominator,
        )
        for v in KPIValue.objects.filter(kpi=code)
    }


def assert_table(code: str, expected: dict[tuple, tuple]) -> None:
    """The stored rows of `code` are exactly `expected`: key → (value, numerator, denominator)."""
    actual = stored(code)
    assert sorted(actual) == sorted(expected)
    for row_key, want in expected.items():
        got = actual[row_key]
        for g, w in zip(got, want, strict=True):
            assert g == (None if w is None else pytest.approx(w, rel=REL)), (row_key, got, want)


def compute(*periods: PeriodRange) -> int:
    return compute_period_values(periods=list(periods), now=NOW)


def median_row(value: float, n: int) -> tuple:
    return (value, None, n)


def ratio_row(num: int, den: int) -> tuple:
    return (num / den, num, den)


# ---------------------------------------------------------------------------
# calls_per_customer
# ---------------------------------------------------------------------------
def build_calls(s) -> None:
    x, y, z = CompanyFactory(), CompanyFactory(), CompanyFactory()
    contact_y = ContactFactory(company=y)

    def call(owner, when, **links):
        activity_log(owner=owner, kind="call", occurred_at=when, outcome="connected", **links)

    # a1, week 49: X twice, Y once (through a contact of Y, whose company the call takes).
    call(s.a1, at(2026, 12, 1, 9), company=x)
    call(s.a1, at(2026, 12, 2, 9), company=x)
    call(s.a1, at(2026, 12, 3, 9), contact=contact_y)
    # Not calls made with a company: inbound, planned, without company, an email.
    activity_log(
        owner=s.a1, kind="call", direction="inbound", occurred_at=at(2026, 12, 1), company=z
    )
    activity_log(owner=s.a1, kind="call", status="planned", occurred_at=at(2026, 12, 2), company=z)
    call(s.a1, at(2026, 12, 3, 10))
    activity_log(owner=s.a1, kind="email", occurred_at=at(2026, 12, 3, 11), company=z)
    # a2, week 49: X and Z.
    call(s.a2, at(2026, 12, 4, 9), company=x)
    call(s.a2, at(2026, 12, 4, 10), company=z)
    # b1: Sunday 29 Nov 22:30 UTC = Sunday 23:30 local (week 48);
    #     Sunday 29 Nov 23:30 UTC = Monday 30 Nov 00:30 local (week 49).
    call(s.b1, at(2026, 11, 29, 22, 30), company=y)
    call(s.b1, at(2026, 11, 29, 23, 30), company=x)


def test_calls_per_customer_divides_by_distinct_companies_of_each_scope(sales):
    s = sales
    build_calls(s)

    compute(W48, W49)

    assert_table(
        "calls_per_customer",
        {
            # week 48: only b1's Sunday-evening call to Y.
            key(s.b1, W48): ratio_row(1, 1),
            key(s.team_b, W48): ratio_row(1, 1),
            key(ORG, W48): ratio_row(1, 1),
            # week 49
            key(s.a1, W49): ratio_row(3, 2),  # X, X, Y → 3 calls / {X, Y}
            key(s.a2, W49): ratio_row(2, 2),  # X, Z
            key(s.b1, W49): ratio_row(1, 1),  # X (Monday 00:30 local)
            # Team A: 5 calls / {X, Y, Z} = 5/3 ≈ 1.667 — not Σ of the reps' denominators (5/4)
            # nor the mean of the reps' ratios ((1.5 + 1) / 2 = 1.25).
            key(s.team_a, W49): ratio_row(5, 3),
            key(s.team_b, W49): ratio_row(1, 1),
            key(ORG, W49): ratio_row(6, 3),  # 6 calls / {X, Y, Z}
        },
    )


# ---------------------------------------------------------------------------
# lead_response_minutes
# ---------------------------------------------------------------------------
def build_leads(s) -> None:
    def lead(rep, received, *touches, planned=()):
        received_lead = lead_create(name="Lead", received_at=received, assigned_to=rep)
        for when in planned:
            activity_log(
                owner=s.a1, kind="call", status="planned", occurred_at=when, lead=received_lead
            )
        for owner, when in touches:
            activity_log(owner=owner, kind="call", occurred_at=when, lead=received_lead)

    # a1, November: 30, 45.5, 120 and 10 minutes.
    lead(s.a1, at(2026, 11, 2, 9), (s.a1, at(2026, 11, 2, 10)), (s.a1, at(2026, 11, 2, 9, 30)),
         planned=[at(2026, 11, 2, 9, 10)])  # fmt: skip
    lead(s.a1, at(2026, 11, 3, 8), (s.a1, at(2026, 11, 3, 8, 45, 30)))
    lead(s.a1, at(2026, 11, 4, 12), (s.a2, at(2026, 11, 4, 14)))  # first touch by someone else
    # Received Sat 31 Oct 23:30 UTC = Sun 1 Nov 00:30 local → November.
    lead(s.a1, at(2026, 10, 31, 23, 30), (s.a1, at(2026, 10, 31, 23, 40)))
    lead(s.a1, at(2026, 11, 6, 9))  # unanswered: not in the median
    # Received Sat 31 Oct 22:30 UTC = 23:30 local → October: 1 minute.
    lead(s.a1, at(2026, 10, 31, 22, 30), (s.a1, at(2026, 10, 31, 22, 31)))
    # a2, November: 5, 60 and 90 minutes.
    lead(s.a2, at(2026, 11, 10, 9), (s.a2, at(2026, 11, 10, 9, 5)))
    lead(s.a2, at(2026, 11, 11, 9), (s.a2, at(2026, 11, 11, 10)))
    lead(s.a2, at(2026, 11, 12, 9), (s.a2, at(2026, 11, 12, 10, 30)))
    # b1, November: 20.000123 s (microseconds count).
    lead(s.b1, at(2026, 11, 20, 8), (s.b1, dt.datetime(2026, 11, 20, 8, 0, 20, 123, tzinfo=UTC)))
    # Unassigned: counts for no scope, not even the organisation.
    lead(None, at(2026, 11, 21, 8), (s.a1, at(2026, 11, 22, 8)))


def test_lead_response_minutes_is_the_median_over_each_scopes_leads(sales):
    s = sales
    build_leads(s)

    compute(OCT, NOV)

    b1_minutes = 20.000123 / 60
    assert_table(
        "lead_response_minutes",
        {
            key(s.a1, OCT): median_row(1.0, 1),
            key(s.team_a, OCT): median_row(1.0, 1),
            key(ORG, OCT): median_row(1.0, 1),
            # a1: sorted 10, 30, 45.5, 120 → even count: (30 + 45.5) / 2 = 37.75
            key(s.a1, NOV): median_row(37.75, 4),
            # a2: 5, 60, 90 → 60
            key(s.a2, NOV): median_row(60.0, 3),
            key(s.b1, NOV): median_row(b1_minutes, 1),
            # Team A: 5, 10, 30, 45.5, 60, 90, 120 → 45.5 (the mean of the reps' medians would be
            # (37.75 + 60) / 2 = 48.875)
            key(s.team_a, NOV): median_row(45.5, 7),
            key(s.team_b, NOV): median_row(b1_minutes, 1),
            # Org: 0.333…, 5, 10, 30, 45.5, 60, 90, 120 → (30 + 45.5) / 2 = 37.75
            key(ORG, NOV): median_row(37.75, 8),
        },
    )


# ---------------------------------------------------------------------------
# days_in_stage
# ---------------------------------------------------------------------------
def build_stage_moves(s) -> None:
    move = opportunity_move_stage
    # O1 (a1): qualification from Sat 24 Oct 10:00 UTC (12:00 CEST) to Mon 26 Oct 10:00 UTC
    # (11:00 CET): 48 h elapsed = 2.0 days, although the wall clock shows 47 h (DST ended).
    o1 = opportunity_create(name="O1", company=CompanyFactory(), owner=s.a1, created_by=s.a1,
                            created_at=at(2026, 10, 24, 10))  # fmt: skip
    move(opportunity=o1, to_stage="meeting", changed_by=s.a1, at=at(2026, 10, 26, 10))
    # O2 (a1), created Fri 20 Nov 09:00 UTC in qualification.
    o2 = opportunity_create(name="O2", company=CompanyFactory(), owner=s.a1, created_by=s.a1,
                            created_at=at(2026, 11, 20, 9), amount=1000)  # fmt: skip
    # Sun 29 Nov 23:30 UTC = Mon 30 Nov 00:30 local: the exit falls in week 49.
    # qualification: 9 days + 14.5 h.
    move(opportunity=o2, to_stage="meeting", changed_by=s.a1, at=at(2026, 11, 29, 23, 30))
    # meeting: 29 Nov 23:30 → 1 Dec 11:30 = 36 h = 1.5 days
    move(opportunity=o2, to_stage="proposal", changed_by=s.a1, at=at(2026, 12, 1, 11, 30))
    # proposal: 1 Dec 11:30 → 2 Dec 11:30 = 1.0 day (exited backwards)
    move(opportunity=o2, to_stage="meeting", changed_by=s.a1, at=at(2026, 12, 2, 11, 30))
    # meeting again: 2 Dec 11:30 → 3 Dec 05:30 = 18 h = 0.75 day
    move(opportunity=o2, to_stage="won", changed_by=s.a1, at=at(2026, 12, 3, 5, 30))
    # Reopened: the exit of the *won* entry has no dimension; negotiation is not exited yet.
    move(opportunity=o2, to_stage="negotiation", changed_by=s.a1, at=at(2026, 12, 4, 11, 30))
    # O3 (a2): created in meeting Fri 27 Nov 12:00, exits 2 Dec 12:00 = 5.0 days.
    o3 = opportunity_create(name="O3", company=CompanyFactory(), owner=s.a2, created_by=s.a2,
                            stage="meeting", created_at=at(2026, 11, 27, 12))  # fmt: skip
    move(opportunity=o3, to_stage="proposal", changed_by=s.a2, at=at(2026, 12, 2, 12))
    # O4: entered qualification under b1 (25 Nov 12:00), handed to a2, lost on 1 Dec 12:00:
    # 6.0 days, for a2 — the owner on the exit row.
    o4 = opportunity_create(name="O4", company=CompanyFactory(), owner=s.b1, created_by=s.b1,
                            created_at=at(2026, 11, 25, 12))  # fmt: skip
    opportunity_update(opportunity=o4, owner=s.a2)
    move(opportunity=o4, to_stage="lost", changed_by=s.a2, at=at(2026, 12, 1, 12), lost_reason="x")


def test_days_in_stage_is_the_median_per_stage_over_exits_in_the_period(sales):
    s = sales
    build_stage_moves(s)

    compute(W44, W49)

    qual, meet, prop = "stage:qualification", "stage:meeting", "stage:proposal"
    o2_qualification = 9 + 14.5 / 24  # 9.604166…
    assert_table(
        "days_in_stage",
        {
            # week 44: O1's 48 real hours across the DST change.
            key(s.a1, W44, qual): median_row(2.0, 1),
            key(s.team_a, W44, qual): median_row(2.0, 1),
            key(ORG, W44, qual): median_row(2.0, 1),
            # week 49
            key(s.a1, W49, qual): median_row(o2_qualification, 1),
            key(s.a1, W49, meet): median_row((1.5 + 0.75) / 2, 2),  # even count: 1.125
            key(s.a1, W49, prop): median_row(1.0, 1),
            key(s.a2, W49, meet): median_row(5.0, 1),
            key(s.a2, W49, qual): median_row(6.0, 1),
            # Team A, meeting: 0.75, 1.5, 5.0 → 1.5 (mean of the reps' medians: 3.0625)
            key(s.team_a, W49, meet): median_row(1.5, 3),
            # qualification: 6.0, 9.604166… → (6 + 9.604166…) / 2 = 7.802083…
            key(s.team_a, W49, qual): median_row((6.0 + o2_qualification) / 2, 2),
            key(s.team_a, W49, prop): median_row(1.0, 1),
            # b1 owns no exit row; the organisation is team A's rows.
            key(ORG, W49, meet): median_row(1.5, 3),
            key(ORG, W49, qual): median_row((6.0 + o2_qualification) / 2, 2),
            key(ORG, W49, prop): median_row(1.0, 1),
        },
    )


# ---------------------------------------------------------------------------
# sales_cycle_days
# ---------------------------------------------------------------------------
def build_won_deals(s) -> None:
    def deal(owner, created, closed, to="won", reopened=None):
        opp = opportunity_create(name="Deal", company=CompanyFactory(), owner=owner,
                                 created_by=owner, created_at=created, amount=1000)  # fmt: skip
        move = opportunity_move_stage
        move(opportunity=opp, to_stage=to, changed_by=owner, at=closed, lost_reason="price")
        if reopened:
            move(opportunity=opp, to_stage="negotiation", changed_by=owner, at=reopened)

    deal(s.a1, at(2026, 11, 1, 10), at(2026, 12, 2, 10))  # 31.0 days
    deal(s.a1, at(2026, 11, 10, 10), at(2026, 12, 5, 16))  # 25 days + 6 h = 25.25
    deal(s.a2, at(2026, 11, 15, 10), at(2026, 12, 1, 10))  # 16.0
    # 20 Oct 14:00 CEST → 3 Nov 13:00 CET: 14.0 days elapsed (13 d 23 h on the wall clock).
    deal(s.b1, at(2026, 10, 20, 12), at(2026, 11, 3, 12))
    deal(s.a2, at(2026, 11, 2, 10), at(2026, 12, 3, 10), to="lost")  # not won
    deal(s.a1, at(2026, 11, 2, 10), at(2026, 12, 4, 10), reopened=at(2026, 12, 6, 10))  # reopened


def test_sales_cycle_days_is_the_median_over_deals_won_in_the_period(sales):
    s = sales
    build_won_deals(s)

    compute(NOV, DEC)

    assert_table(
        "sales_cycle_days",
        {
            key(s.b1, NOV): median_row(14.0, 1),
            key(s.team_b, NOV): median_row(14.0, 1),
            key(ORG, NOV): median_row(14.0, 1),
            key(s.a1, DEC): median_row((31 + 25.25) / 2, 2),  # even count: 28.125
            key(s.a2, DEC): median_row(16.0, 1),
            # 16, 25.25, 31 → 25.25 (mean of the reps' medians: (28.125 + 16) / 2 = 22.0625)
            key(s.team_a, DEC): median_row(25.25, 3),
            key(ORG, DEC): median_row(25.25, 3),
        },
    )


# ---------------------------------------------------------------------------
# open_opportunities / pipeline_value
# ---------------------------------------------------------------------------
def build_pipeline(s) -> None:
    move = opportunity_move_stage

    def opp(owner, amount, created, stage=None):
        return opportunity_create(name="Deal", company=CompanyFactory(), owner=owner,
                                  created_by=owner, amount=amount, created_at=created,
                                  stage=stage)  # fmt: skip

    # P1 (a1, 1000): won 20 Nov, reopened 1 Dec.
    p1 = opp(s.a1, 1000, at(2026, 11, 2, 10))
    move(opportunity=p1, to_stage="won", changed_by=s.a1, at=at(2026, 11, 20, 10))
    move(opportunity=p1, to_stage="negotiation", changed_by=s.a1, at=at(2026, 12, 1, 10))
    # P2 (a1, 500): moved backwards, open throughout.
    p2 = opp(s.a1, 500, at(2026, 11, 5, 10), stage="proposal")
    move(opportunity=p2, to_stage="qualification", changed_by=s.a1, at=at(2026, 11, 25, 10))
    # P3 (2000): created by b1, now owned by a2 (counts for a2 in every period), lost 2 Dec.
    p3 = opp(s.b1, 2000, at(2026, 11, 10, 10))
    opportunity_update(opportunity=p3, owner=s.a2)
    move(opportunity=p3, to_stage="lost", changed_by=s.a2, at=at(2026, 12, 2, 10), lost_reason="x")
    # P4, P5 (b1): created Sun 29 Nov 23:30 local (week 48) and Mon 30 Nov 00:30 local (week 49).
    opp(s.b1, 300, at(2026, 11, 29, 22, 30))
    opp(s.b1, 700, at(2026, 11, 29, 23, 30))
    # P6 (b1, 50): created in the current week, before now; P7 after now.
    opp(s.b1, 50, at(2026, 12, 8, 9))
    opp(s.b1, 5000, at(2026, 12, 11, 9))
    # Users who get no zero row: a manager and an inactive rep.
    UserFactory(username="boss", role="manager", team=s.team_a)
    UserFactory(username="gone", is_active=False, team=s.team_a)


def test_open_opportunities_and_pipeline_value_read_the_stage_history_at_period_end(sales):
    s = sales
    build_pipeline(s)

    compute(W48, W49, W50)

    # Week 48 ends Mon 30 Nov 00:00 local = Sun 29 Nov 23:00 UTC: P2 (a1), P3 (a2), P4 (b1) open;
    # P1 is won, P5 not yet created.
    # Week 49 ends Mon 7 Dec 00:00 local: P1 (reopened), P2 (a1), P4, P5 (b1); P3 lost.
    # Week 50 is current: at NOW, P6 (b1) too; P7 is created after NOW.
    counts = {
        W48: {s.a1: 1, s.a2: 1, s.b1: 1, s.team_a: 2, s.team_b: 1, ORG: 3},
        W49: {s.a1: 2, s.a2: 0, s.b1: 2, s.team_a: 2, s.team_b: 2, ORG: 4},
        W50: {s.a1: 2, s.a2: 0, s.b1: 3, s.team_a: 2, s.team_b: 3, ORG: 5},
    }
    amounts = {
        W48: {s.a1: 500, s.a2: 2000, s.b1: 300, s.team_a: 2500, s.team_b: 300, ORG: 2800},
        W49: {s.a1: 1500, s.a2: 0, s.b1: 1000, s.team_a: 1500, s.team_b: 1000, ORG: 2500},
        W50: {s.a1: 1500, s.a2: 0, s.b1: 1050, s.team_a: 1500, s.team_b: 1050, ORG: 2550},
    }
    assert_table(
        "open_opportunities",
        {key(who, w): (n, None, None) for w, row in counts.items() for who, n in row.items()},
    )
    assert_table(
        "pipeline_value",
        {key(who, w): (v, None, None) for w, row in amounts.items() for who, v in row.items()},
    )


# ---------------------------------------------------------------------------
# churn_rate / repeat_purchase_rate
# ---------------------------------------------------------------------------
def build_purchases(s) -> None:
    c1, c2, c7 = (CompanyFactory(owner=s.a1) for _ in range(3))
    c3, c4 = (CompanyFactory(owner=s.a2) for _ in range(2))
    c5, c8, c9 = (CompanyFactory(owner=s.b1) for _ in range(3))
    c6 = CompanyFactory(owner=None)

    def deal(company, closed, to="won", owner=None, reopened=None):
        owner = owner or company.owner or s.a1
        opp = opportunity_create(name="Deal", company=company, owner=owner, created_by=owner,
                                 created_at=closed - dt.timedelta(days=1), amount=1000)  # fmt: skip
        move = opportunity_move_stage
        move(opportunity=opp, to_stage=to, changed_by=owner, at=closed, lost_reason="price")
        if reopened:
            move(opportunity=opp, to_stage="negotiation", changed_by=owner, at=reopened)

    deal(c1, at(2025, 11, 15, 10))
    deal(c1, at(2026, 12, 5, 10))
    deal(c2, at(2026, 3, 10, 10))
    deal(c2, at(2026, 6, 10, 10))
    deal(c3, at(2025, 11, 20, 10), owner=s.b1)  # a purchase whoever owned the deal
    deal(c4, at(2026, 10, 31, 23))  # exactly November's start (1 Nov 00:00 CET)
    deal(c5, at(2026, 1, 5, 10))
    deal(c5, at(2026, 12, 12, 10))  # after NOW
    deal(c6, at(2025, 11, 5, 10))  # a company without owner: the organisation's only
    deal(c7, at(2025, 10, 15, 10))  # too old
    deal(c7, at(2026, 5, 1, 10), reopened=at(2026, 5, 2, 10))  # reopened: not a purchase
    deal(c7, at(2026, 6, 1, 10), to="lost")
    deal(c8, at(2025, 10, 31, 23))  # exactly 1 Nov 2025 00:00 CET: the window's first moment
    deal(c9, at(2025, 12, 5, 10))


def test_churn_and_repeat_purchase_follow_each_scopes_accounts(sales):
    s = sales
    build_purchases(s)

    compute(NOV, DEC)

    # November: S = 1 Nov 2026 00:00 CET, window [1 Nov 2025, 1 Nov 2026) local;
    #           E = 1 Dec 2026 00:00 CET, window [1 Dec 2025, 1 Dec 2026) local.
    #   purchases at S: C1 1, C2 2, C3 1, C5 1, C6 1, C8 1, C9 1 (C4 is at S itself, C7 too old)
    #   purchases at E: C2 2, C4 1, C5 1, C9 1
    # December (current): S = 1 Dec 2026 00:00 CET, window [1 Dec 2025, 1 Dec 2026);
    #           E = NOW (10 Dec 13:00 local), window [10 Dec 2025 13:00, NOW).
    #   purchases at S: C2 2, C4 1, C5 1, C9 1
    #   purchases at E: C1 1 (5 Dec 2026), C2 2, C4 1, C5 1 (12 Dec 2026 is after NOW)
    assert_table(
        "churn_rate",
        {
            key(s.a1, NOV): ratio_row(1, 2),  # {C1, C2} active, C1 lost
            key(s.a2, NOV): ratio_row(1, 1),  # {C3}, C3 lost
            key(s.b1, NOV): ratio_row(1, 3),  # {C5, C8, C9}, C8 lost
            # {C1, C2, C3}, C1 and C3 lost: 2/3 — not the mean of the reps' (0.5 + 1) / 2 = 0.75
            key(s.team_a, NOV): ratio_row(2, 3),
            key(s.team_b, NOV): ratio_row(1, 3),
            key(ORG, NOV): ratio_row(4, 7),  # {C1, C2, C3, C5, C6, C8, C9}; C1, C3, C6, C8 lost
            key(s.a1, DEC): ratio_row(0, 1),  # {C2}
            key(s.a2, DEC): ratio_row(0, 1),  # {C4}
            key(s.b1, DEC): ratio_row(1, 2),  # {C5, C9}, C9 lost
            key(s.team_a, DEC): ratio_row(0, 2),
            key(s.team_b, DEC): ratio_row(1, 2),
            key(ORG, DEC): ratio_row(1, 4),  # {C2, C4, C5, C9}, C9 lost
        },
    )
    assert_table(
        "repeat_purchase_rate",
        {
            key(s.a1, NOV): ratio_row(1, 1),  # C2 (2)
            key(s.a2, NOV): ratio_row(0, 1),  # C4 (1)
            key(s.b1, NOV): ratio_row(0, 2),  # C5, C9 (1 each)
            key(s.team_a, NOV): ratio_row(1, 2),  # C2 (2), C4 (1)
            key(s.team_b, NOV): ratio_row(0, 2),
            key(ORG, NOV): ratio_row(1, 4),  # C2 (2), C4, C5, C9 (1)
            key(s.a1, DEC): ratio_row(1, 2),  # C1 (1), C2 (2)
            key(s.a2, DEC): ratio_row(0, 1),  # C4
            key(s.b1, DEC): ratio_row(0, 1),  # C5: the 12 Dec purchase is after NOW
            key(s.team_a, DEC): ratio_row(1, 3),
            key(s.team_b, DEC): ratio_row(0, 1),
            key(ORG, DEC): ratio_row(1, 4),  # C1, C2 (2), C4, C5
        },
    )


# ---------------------------------------------------------------------------
# Replacing, idempotence, query count
# ---------------------------------------------------------------------------
def table_state() -> list[tuple]:
    return sorted(
        KPIValue.objects.values_list(
            "scope",
            "scope_id",
            "kpi",
            "period",
            "period_start",
            "dimension",
            "value",
            "numerator",
            "denominator",
            "computed_at",
        )
    )


def build_everything(s) -> None:
    build_calls(s)
    build_leads(s)
    build_stage_moves(s)
    build_won_deals(s)
    build_pipeline(s)
    build_purchases(s)


def test_computing_twice_leaves_an_identical_table(sales):
    build_everything(sales)
    periods = (W44, W48, W49, W50, OCT, NOV, DEC)

    written = compute(*periods)
    first = table_state()
    assert written == len(first) > 0
    assert {row[2] for row in first} == set(CODES) <= set(REGISTRY)

    assert compute(*periods) == written
    assert table_state() == first


def test_compute_replaces_only_the_given_periods_and_codes(sales):
    s = sales
    build_calls(s)

    def value(kpi, rng, scope_id, value):
        return KPIValue.objects.create(
            scope="rep", scope_id=scope_id, kpi=kpi, period=rng.period.value,
            period_start=rng.start, value=value, computed_at=NOW,
        )  # fmt: skip

    stale = value("calls_per_customer", W49, 999_999, 7.0)  # a scope with no calls any more
    other_period = value("calls_per_customer", W48, s.a1.pk, 7.0)
    other_code = value("call_connect_rate", W49, s.a1.pk, 0.5)

    compute(W49)

    assert not KPIValue.objects.filter(pk=stale.pk).exists()
    assert KPIValue.objects.filter(pk__in=[other_period.pk, other_code.pk]).count() == 2
    assert KPIValue.objects.get(kpi="calls_per_customer", scope="rep", scope_id=s.a1.pk,
                                period="week", period_start=W49.start).value == 1.5  # fmt: skip


def build_reps(count: int) -> None:
    teams = [TeamFactory(name=f"T{i}") for i in range(3)]
    for i in range(count):
        rep = UserFactory(username=f"r{i}", team=teams[i % 3])
        company = CompanyFactory(owner=rep)
        day = at(2026, 11, 2 + i % 25, 9)
        activity_log(owner=rep, kind="call", occurred_at=day, company=company)
        received = lead_create(name="Lead", received_at=day, assigned_to=rep)
        activity_log(
            owner=rep, kind="email", occurred_at=day + dt.timedelta(hours=1), lead=received
        )
        opp = opportunity_create(name="Deal", company=company, owner=rep, created_by=rep,
                                 created_at=day, amount=Decimal("100.50"))  # fmt: skip
        opportunity_move_stage(opportunity=opp, to_stage="meeting", changed_by=rep,
                               at=day + dt.timedelta(days=1))  # fmt: skip
        opportunity_move_stage(opportunity=opp, to_stage="won", changed_by=rep,
                               at=day + dt.timedelta(days=2))  # fmt: skip


# One DELETE and one INSERT per family (calls, 3 medians, snapshots, accounts).
QUERIES = 7


@pytest.mark.parametrize("reps", [3, 30])
def test_query_count_does_not_grow_with_reps(reps, django_assert_max_num_queries):
    build_reps(reps)

    with django_assert_max_num_queries(QUERIES):
        written = compute(W48, W49, NOV, DEC, period_containing("year", dt.date(2026, 1, 1)))

    assert written == KPIValue.objects.count()
    assert KPIValue.objects.filter(
        kpi="sales_cycle_days", scope="org", period="year"
    ).get().value == (pytest.approx(2.0, rel=REL))
