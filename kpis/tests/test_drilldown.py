"""Drill-down: the records behind every KPI value agree with the value `kpi_values` reads.

One hand-built organisation (site time Europe/Stockholm, UTC+1 in November and December) is
recomputed; then, for every KPI code, every rep, team and the organisation, several periods and
the dimension keys, the value is recomputed *in Python from the records* and compared with the
stored one: counts are the number of records, sums the sum over them, ratios (records in the
numerator) / (records), medians `statistics.median` over durations read off the records, distinct
counts the distinct companies among them.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Callable
from types import SimpleNamespace

import pytest
from django.utils import timezone

from activities.services import activity_book, activity_cancel, activity_log
from kpis.compute.run import recompute, recompute_full
from kpis.drilldown import SHOWN, records, records_split
from kpis.formulas import FORMULAS, Ratio
from kpis.formulas import Sum as SumFormula
from kpis.periods import PeriodRange, period_containing
from kpis.registry import CODES, REGISTRY
from kpis.selectors import kpi_values
from kpis.target_services import target_set
from people.models import Team, User
from people.services import user_set_team
from people.tests.factories import TeamFactory, UserFactory
from pipeline.services import (
    lead_create,
    opportunity_create,
    opportunity_move_stage,
    opportunity_update,
    rep_cost_set,
)
from pipeline.tests.factories import CompanyFactory, ContactFactory

pytestmark = pytest.mark.django_db

UTC = dt.UTC
# The services refuse moves dated in the future: their clock is pinned after every fixture moment.
CLOCK = dt.datetime(2026, 12, 15, 12, 0, tzinfo=UTC)
# The compute's now: Thursday 2026-12-10 13:00 local, in ISO week 50 and in December.
NOW = dt.datetime(2026, 12, 10, 12, 0, tzinfo=UTC)
REL = 1e-12

NOV = period_containing("month", dt.date(2026, 11, 1))
DEC = period_containing("month", dt.date(2026, 12, 1))  # holds NOW: snapshots and churn at NOW
W44 = period_containing("week", dt.date(2026, 10, 26))  # Mon 26 Oct – Mon 2 Nov
W45 = period_containing("week", dt.date(2026, 11, 2))
W49 = period_containing("week", dt.date(2026, 11, 30))  # Mon 30 Nov – Mon 7 Dec
Q4 = period_containing("quarter", dt.date(2026, 10, 1))
PERIODS = (NOV, DEC, W44, W45, W49, Q4)

# Keys checked even where no value is stored (their records must then be empty).
DIMENSIONS = {
    "stage": ("stage:qualification", "stage:meeting", "stage:proposal", "stage:negotiation"),
    "lead_source": ("lead_source:website", "lead_source:referral", "lead_source:event",
                    "lead_source:other"),
    "customer_type": ("customer_type:new", "customer_type:existing"),
    "channel": ("channel:field", "channel:inside", "channel:partner", "channel:online"),
}  # fmt: skip


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: CLOCK)


# ---------------------------------------------------------------------------
# The organisation
# ---------------------------------------------------------------------------
@pytest.fixture
def org():
    """Team A: a1 (sdr), a2 (ae) and a manager; team B: b1 (am); `solo` (ae) has no team."""
    team_a, team_b = TeamFactory(name="A"), TeamFactory(name="B")
    s = SimpleNamespace(
        team_a=team_a,
        team_b=team_b,
        a1=UserFactory(username="a1", role=User.Role.SDR, team=team_a),
        a2=UserFactory(username="a2", role=User.Role.AE, team=team_a),
        b1=UserFactory(username="b1", role=User.Role.AM, team=team_b),
        solo=UserFactory(username="solo", role=User.Role.AE, team=None),
        boss=UserFactory(username="boss", role=User.Role.MANAGER, team=team_a),
    )
    s.c1, s.c2 = CompanyFactory(owner=s.a1), CompanyFactory(owner=s.a1)
    s.c3, s.c4 = CompanyFactory(owner=s.a2), CompanyFactory(owner=s.b1)
    s.c5, s.c6 = CompanyFactory(owner=None), CompanyFactory(owner=s.solo)
    s.x = ContactFactory(company=s.c1, is_decision_maker=True)
    s.y = ContactFactory(company=s.c2)
    s.z = ContactFactory(company=s.c3)
    build_activities(s)
    build_leads(s)
    build_deals(s)
    build_costs_and_targets(s)
    return s


def build_activities(s) -> None:
    def call(owner, when, outcome="connected", seconds=None, **kw):
        activity_log(owner=owner, kind="call", occurred_at=when, outcome=outcome,
                     duration_seconds=seconds, **kw)  # fmt: skip

    def log(owner, kind, when, **kw):
        activity_log(owner=owner, kind=kind, occurred_at=when, **kw)

    # a1. Sat 31 Oct 23:30 UTC = Sun 1 Nov 00:30 local: November, and ISO week 44.
    call(s.a1, at(2026, 10, 31, 23, 30), seconds=60, company=s.c2)
    call(s.a1, at(2026, 11, 2, 9), seconds=240, company=s.c1)
    # Not connected, yet it has talk time (avg_call_minutes sums the talk time of every call made).
    call(s.a1, at(2026, 11, 3, 9), "no_answer", seconds=15, company=s.c1)
    call(s.a1, at(2026, 11, 4, 9), seconds=100, contact=s.y)  # company C2 through the contact
    call(s.a1, at(2026, 11, 5, 9), seconds=200)  # no company
    call(s.a1, at(2026, 11, 6, 9), seconds=600, company=s.c1, direction="inbound")
    call(s.a1, at(2026, 11, 6, 10), company=s.c1, status="planned")
    call(s.a1, at(2026, 11, 30, 9), seconds=30, company=s.c2)
    call(s.a1, at(2026, 12, 2, 9), seconds=45, company=s.c1)
    log(s.a1, "email", at(2026, 11, 2, 10), replied=True, clicked=True)
    log(s.a1, "email", at(2026, 11, 3, 10))
    log(s.a1, "meeting", at(2026, 11, 6, 9), mode="physical", contact=s.x)  # X's first
    log(s.a1, "meeting", at(2026, 11, 7, 9), mode="digital", contact=s.x)
    log(s.a1, "demo", at(2026, 11, 9, 9), mode="physical")
    log(s.a1, "lunch", at(2026, 11, 14, 12), contact=s.y)  # Y met b1 first
    # a2
    call(s.a2, at(2026, 11, 10, 9), seconds=300, company=s.c1)
    call(s.a2, at(2026, 11, 11, 9), "busy", company=s.c3)
    log(s.a2, "email", at(2026, 11, 10, 10), clicked=True)
    log(s.a2, "meeting", at(2026, 11, 8, 9), mode="physical", contact=s.z)
    log(s.a2, "demo", at(2026, 11, 9, 11), mode="digital")
    # b1 and solo
    call(s.b1, at(2026, 11, 12, 9), seconds=190, company=s.c4)
    log(s.b1, "email", at(2026, 11, 12, 10), replied=True)
    log(s.b1, "meeting", at(2026, 11, 13, 9), mode="digital")
    log(s.b1, "lunch", at(2026, 11, 10, 12), contact=s.y)
    call(s.solo, at(2026, 11, 13, 9), seconds=50, company=s.c6)
    call(s.solo, at(2026, 11, 16, 9), seconds=70, company=s.c6)
    # Bookings: a1 books for a2 (one cancelled); b1 and a2 book for themselves.
    activity_book(booked_by=s.a1, owner=s.a2, kind="meeting", contact=s.x,
                  booked_at=at(2026, 11, 3, 12), occurred_at=at(2026, 11, 20, 9))  # fmt: skip
    demo = activity_book(
        booked_by=s.a1, owner=s.a2, kind="demo", booked_at=at(2026, 11, 4, 12),
        occurred_at=at(2026, 11, 21, 9),
    )  # fmt: skip
    activity_cancel(activity=demo)
    activity_book(booked_by=s.b1, owner=s.b1, kind="demo", booked_at=at(2026, 11, 5, 12),
                  occurred_at=at(2026, 11, 22, 9))  # fmt: skip
    activity_book(booked_by=s.a2, owner=s.a2, kind="meeting", contact=s.z,
                  booked_at=at(2026, 11, 6, 12), occurred_at=at(2026, 11, 23, 9))  # fmt: skip


def build_leads(s) -> None:
    def lead(name, rep, received, *touches, planned=None):
        new = lead_create(name=name, received_at=received, assigned_to=rep)
        for owner, kind, when in touches:
            activity_log(owner=owner, kind=kind, occurred_at=when, lead=new)
        if planned:
            activity_log(owner=rep, kind="call", status="planned", occurred_at=planned, lead=new)
        return new

    lead("L1", s.a1, at(2026, 11, 2, 8), (s.a1, "call", at(2026, 11, 2, 8, 30)))  # 30 min
    # 75 min, first touched by someone else; converted (O3)
    s.l2 = lead("L2", s.a1, at(2026, 11, 3, 8), (s.a2, "email", at(2026, 11, 3, 9, 15)),
                (s.a1, "call", at(2026, 11, 3, 9, 5, 0, 250)))  # fmt: skip
    lead("L3", s.a1, at(2026, 11, 4, 8), planned=at(2026, 11, 5, 8))  # unanswered
    lead("L4", s.a2, at(2026, 11, 5, 10), (s.a2, "email", at(2026, 11, 5, 10, 10)))
    s.l5 = lead("L5", s.b1, at(2026, 11, 6, 9), (s.b1, "call", at(2026, 11, 7, 9)))  # converted
    lead("L6", None, at(2026, 11, 6, 9), (s.a1, "email", at(2026, 11, 6, 12)))  # unassigned
    # Mon 30 Nov 23:30 UTC = Tue 1 Dec 00:30 local: December
    lead("L7", s.a1, at(2026, 11, 30, 23, 30), (s.a1, "email", at(2026, 12, 1, 8)))


def build_deals(s) -> None:
    def deal(name, owner, company, created, *moves, created_by=None, amount=1000, **kw):
        opp = opportunity_create(name=name, company=company, owner=owner,
                                 created_by=created_by or owner, created_at=created,
                                 amount=amount, **kw)  # fmt: skip
        for stage, when in moves:
            opportunity_move_stage(opportunity=opp, to_stage=stage, changed_by=owner, at=when,
                                   lost_reason="Price")  # fmt: skip
        return opp

    # History: purchases in the year before November (churn and repeat purchase).
    deal("H1", s.a1, s.c1, at(2026, 3, 1, 9), ("won", at(2026, 3, 10, 12)), amount=900)
    deal("H2", s.a1, s.c2, at(2025, 11, 1, 9), ("won", at(2025, 11, 10, 12)), amount=500)
    deal("H3", s.b1, s.c5, at(2025, 11, 5, 9), ("won", at(2025, 11, 15, 12)))  # no account owner
    deal("H4", s.solo, s.c6, at(2026, 5, 20, 9), ("won", at(2026, 6, 1, 12)))
    deal("O0", s.b1, s.c4, at(2026, 10, 1, 9), ("won", at(2026, 10, 10, 12)), amount=700)
    # November
    deal("O1", s.a2, s.c1, at(2026, 11, 2, 9), ("meeting", at(2026, 11, 3, 12)),
         ("proposal", at(2026, 11, 5, 12)), ("won", at(2026, 11, 10, 12)), created_by=s.a1,
         lead_source="website", channel="field")  # fmt: skip
    deal("O2", s.a2, s.c3, at(2026, 11, 3, 9), ("won", at(2026, 11, 12, 12)), amount=2000,
         lead_source="referral", channel="inside")  # fmt: skip
    deal("O3", s.a1, s.c2, at(2026, 11, 4, 9), ("meeting", at(2026, 11, 6, 12)),
         ("qualification", at(2026, 11, 8, 12)), ("lost", at(2026, 11, 14, 12)),
         kind="upsell", lead=s.l2, amount=500)  # fmt: skip
    deal("O4", s.b1, s.c4, at(2026, 11, 5, 9), ("won", at(2026, 11, 15, 12)), amount=3000,
         lead_source="event", channel="partner")  # fmt: skip
    # O5: entered qualification and meeting under b1; handed to a2, who moves it on.
    o5 = deal("O5", s.b1, s.c5, at(2026, 11, 7, 9), ("meeting", at(2026, 11, 9, 12)),
              lead=s.l5, amount=400)  # fmt: skip
    opportunity_update(opportunity=o5, owner=s.a2)
    opportunity_move_stage(opportunity=o5, to_stage="proposal", changed_by=s.a2,
                           at=at(2026, 11, 11, 12))  # fmt: skip
    deal("O6", s.solo, s.c6, at(2026, 11, 6, 9), ("won", at(2026, 11, 20, 12)), amount=800)
    # Won, then reopened: not won, open again (in negotiation) at the end of November.
    deal("O7", s.a1, s.c1, at(2026, 11, 15, 9), ("won", at(2026, 11, 18, 12)),
         ("negotiation", at(2026, 11, 25, 12)), amount=1200)  # fmt: skip
    deal("O8", s.a2, s.c3, at(2026, 11, 28, 9), amount=250)
    # December (current)
    deal("O9", s.b1, s.c4, at(2026, 12, 2, 9), ("meeting", at(2026, 12, 3, 12)), amount=600)
    deal("O10", s.a1, s.c2, at(2026, 12, 1, 9), ("won", at(2026, 12, 4, 12)), amount=350)


def build_costs_and_targets(s) -> None:
    rep_cost_set(rep=s.a2, month=NOV.start, kind="salary", amount=50_000)
    rep_cost_set(rep=s.a2, month=NOV.start, kind="bonus", amount=5_000)
    rep_cost_set(rep=s.b1, month=NOV.start, kind="salary", amount=40_000)
    rep_cost_set(rep=s.a1, month=NOV.start, kind="salary", amount=30_000)  # a1 wins nothing
    rep_cost_set(rep=s.a1, month=DEC.start, kind="salary", amount=30_000)
    first = dt.date(2026, 1, 1)
    target_set(kpi="revenue_won", scope="all", period="month", value=2000, valid_from=first,
               changed_by=None)  # fmt: skip
    target_set(kpi="revenue_won", scope="rep", rep=s.a2, period="month", value=5000,
               valid_from=first, changed_by=None)  # fmt: skip


# ---------------------------------------------------------------------------
# The value, recomputed from the records
# ---------------------------------------------------------------------------
Triple = tuple[float | None, float | None, float | None]

SUMMED = {"talk_time_minutes": "duration_seconds", "revenue_won": "amount"}
# Ratios: (part, field summed or None to count) for the numerator and for the denominator.
RATIOS = {
    "call_connect_rate": (("numerator", None), ("all", None)),
    "email_reply_rate": (("numerator", None), ("all", None)),
    "email_click_rate": (("numerator", None), ("all", None)),
    "lead_conversion_rate": (("numerator", None), ("all", None)),
    "win_rate": (("numerator", None), ("all", None)),
    "stage_conversion": (("numerator", None), ("all", None)),
    "churn_rate": (("numerator", None), ("all", None)),
    "repeat_purchase_rate": (("numerator", None), ("all", None)),
    # Σ talk time of every call made / the connected ones among them.
    "avg_call_minutes": (("all", "duration_seconds"), ("denominator", None)),
    "avg_deal_size": (("all", "amount"), ("all", None)),
    # Across families: the records are the numerator's rows.
    "activities_per_won_deal": (("all", None), ("denominator", None)),
    "cost_to_revenue": (("all", "amount"), ("denominator", "amount")),
}
MEDIANS: dict[str, tuple[str, str, int]] = {
    # code: (start attribute, end attribute, microseconds per unit)
    "lead_response_minutes": ("received_at", "first_activity_at", 60 * 10**6),
    "days_in_stage": ("entered_at", "changed_at", 86_400 * 10**6),
    "sales_cycle_days": ("created_at", "closed_at", 86_400 * 10**6),
}


def measure(rows, field: str | None) -> float:
    if field is None:
        return float(len(rows))
    return float(sum(getattr(r, field) or 0 for r in rows))


def ratio(num: float, den: float, scale: float = 1.0) -> Triple:
    return (num / den * scale if den else None, num, den)


def from_records(code: str, target: float | None, **where) -> Triple:
    """(value, numerator, denominator) of `code` as `kpi_values` reports it, from the records."""

    def rows(part="all"):
        return list(records(code=code, part=part, now=NOW, **where))

    formula = FORMULAS[code]
    if isinstance(formula, SumFormula):
        raw = measure(rows(), SUMMED.get(code))
        return (raw * formula.scale, raw, None)
    if code == "quota_attainment":  # the denominator is the revenue target, not rows
        revenue = measure(rows(), "amount")
        return (revenue / target if target else None, revenue, target)
    if code in RATIOS:
        (num_part, num_field), (den_part, den_field) = RATIOS[code]
        scale = formula.scale if isinstance(formula, Ratio) else 1.0
        return ratio(measure(rows(num_part), num_field), measure(rows(den_part), den_field), scale)
    if code in MEDIANS:
        start, end, unit = MEDIANS[code]
        one = dt.timedelta(microseconds=1)
        durations = [(getattr(r, end) - getattr(r, start)) / one / unit for r in rows()]
        return (statistics.median(durations) if durations else None, None, len(durations) or None)
    if code == "calls_per_customer":
        calls = rows()
        return ratio(float(len(calls)), float(len({c.company_id for c in calls})))
    assert code in ("open_opportunities", "pipeline_value"), code
    opportunities = rows()
    field = "amount" if code == "pipeline_value" else None
    return (measure(opportunities, field), None, None)


def scope_ids(s, scope: str) -> list[int]:
    if scope == "rep":
        return list(User.objects.values_list("pk", flat=True))
    if scope == "team":
        return list(Team.objects.values_list("pk", flat=True))
    return [0]


def dimensions(code: str, stored: set[str]) -> set[str]:
    kpi = REGISTRY[code]
    keys = {key for family in kpi.dimensions for key in DIMENSIONS[family]} | stored
    formula = FORMULAS[code]
    plain = not kpi.dimensions or (isinstance(formula, Ratio) and formula.plain)
    return keys | {""} if plain else keys


def defined(code: str, rng: PeriodRange) -> bool:
    formula = FORMULAS[code]
    return not isinstance(formula, Ratio) or rng.period in formula.periods


def approx(value: float | None):
    return None if value is None else pytest.approx(value, rel=REL, abs=1e-9)


def stored_values(scope: str, rng: PeriodRange, codes=CODES) -> dict[tuple, object]:
    rows = kpi_values(codes=codes, scope=scope, period=rng.period, start=rng.start, end=rng.end)
    return {(v.kpi, v.scope_id, v.dimension): v for v in rows}


def assert_agrees(code: str, scope: str, sid: int, rng: PeriodRange, dim: str, v) -> None:
    """The stored value `v` (None: no row) is the value recomputed from the records."""
    got = from_records(code, v.denominator if v else None, scope=scope, scope_id=sid,
                       period=rng.period, period_start=rng.start, dimension=dim)  # fmt: skip
    context = (code, scope, sid, rng, dim, got, v)
    if v is None:
        # No stored value: nothing was counted.
        assert all(x in (None, 0) for x in got), context
    else:
        assert got == tuple(approx(w) for w in (v.value, v.numerator, v.denominator)), context


@pytest.mark.parametrize("run", [recompute, recompute_full], ids=["incremental", "full"])
def test_records_agree_with_every_stored_value(org, run: Callable):
    run(now=NOW)
    checked: set[tuple[str, str]] = set()
    nonzero: set[str] = set()
    dims_seen: set[str] = set()
    for rng in PERIODS:
        for scope in ("rep", "team", "org"):
            stored = stored_values(scope, rng)
            for code in CODES:
                if not defined(code, rng):
                    continue
                keys = {dim for (c, _sid, dim) in stored if c == code}
                for sid in scope_ids(org, scope):
                    for dim in sorted(dimensions(code, keys)):
                        v = stored.get((code, sid, dim))
                        assert_agrees(code, scope, sid, rng, dim, v)
                        if v is not None and v.value is not None:
                            checked.add((code, scope))
                            if v.value:
                                nonzero.add(code)
                                dims_seen.add(dim.split(":")[0])

    # The fixture is not vacuous: every code has a value at every scope, and a non-zero one.
    assert {(c, s) for c in CODES for s in ("rep", "team", "org")} - checked == set()
    assert nonzero == set(CODES)
    assert dims_seen == {"", "stage", "lead_source", "customer_type", "channel"}


def test_hand_picked_records(org):
    """A few records spelled out, for readers (the loop above checks them all)."""
    s = org
    recompute(now=NOW)

    def names(code, who, rng=NOV, dimension="", part="all"):
        scope, sid = ("team", who.pk) if isinstance(who, Team) else ("rep", who.pk)
        qs = records(code=code, scope=scope, scope_id=sid, period=rng.period,
                     period_start=rng.start, dimension=dimension, now=NOW, part=part)  # fmt: skip
        return sorted(str(r.name if hasattr(r, "name") else r.opportunity.name) for r in qs)

    # Won deals of the team; O7 was reopened.
    assert names("deals_won", s.team_a) == ["O1", "O2"]
    assert names("win_rate", s.a1) == ["O3"]
    assert names("win_rate", s.a1, part="numerator") == []
    # Meeting exits in November: O1 (a2), O3 (a1), O5's exit by a2 (it entered under b1).
    assert names("days_in_stage", s.team_a, dimension="stage:meeting") == ["O1", "O3", "O5"]
    # …while the entry of O5 into meeting counts for b1's stage conversion.
    assert names("stage_conversion", s.b1, dimension="stage:meeting") == ["O5"]
    assert names("avg_deal_size", s.b1, dimension="customer_type:existing") == ["O4"]
    assert names("open_opportunities", s.a2) == ["O5", "O8"]
    assert names("open_opportunities", s.a1, rng=DEC) == ["O7"]
    assert names("lead_response_minutes", s.a1) == ["L1", "L2"]  # L3 unanswered, L7 in December
    assert names("churn_rate", s.a1) == sorted([s.c1.name, s.c2.name])
    assert names("churn_rate", s.a1, part="numerator") == [s.c2.name]


def test_records_split_highlights_the_numerator_among_the_records(org):
    recompute(now=NOW)
    where = {"scope": "org", "scope_id": 0, "period": "month", "period_start": NOV.start,
             "now": NOW}  # fmt: skip
    for code in CODES:
        dims = dimensions(code, set())
        dimension = "" if "" in dims else sorted(dims)[0]
        rows, numerator = records_split(code=code, dimension=dimension, **where)
        if code in RATIOS or code == "quota_attainment":
            assert numerator is not None, code
            assert set(numerator.values_list("pk", flat=True)) <= set(
                rows.values_list("pk", flat=True)
            ), code
        else:
            assert numerator is None, code
    calls, connected = records_split(code="call_connect_rate", **where)
    # Calls made in November: a1 8 (2 on leads), a2 2, b1 2, solo 2; connected 5 + 1 + 1 + 2.
    assert (calls.count(), connected.count()) == (14, 9)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"code": "calls_mad"}, "Unknown KPI code 'calls_mad'"),
        ({"scope": "region"}, "Unknown scope 'region'"),
        ({"dimension": "stage:meeting"}, "Unknown dimension 'stage:meeting' for calls_made"),
        ({"code": "avg_deal_size", "dimension": "region:north"}, "Unknown dimension"),
        ({"code": "avg_deal_size", "dimension": "channel"}, "Unknown dimension"),
        ({"code": "days_in_stage"}, "days_in_stage exists only per dimension"),
        ({"code": "stage_conversion"}, "stage_conversion exists only per dimension"),
        ({"part": "numerator"}, "calls_made is not a ratio"),
        ({"code": "sales_cycle_days", "part": "denominator"}, "sales_cycle_days is not a ratio"),
        ({"code": "quota_attainment", "part": "denominator"}, "is a target, not rows"),
        ({"code": "cost_to_revenue", "period": "week"}, "not defined for week periods"),
        ({"part": "both"}, "Unknown part 'both'"),
        ({"now": dt.datetime(2026, 12, 1)}, "aware"),
    ],
)
def test_bad_requests_raise_value_error(kwargs, message):
    request = {"code": "calls_made", "scope": "rep", "scope_id": 1, "period": "month",
               "period_start": NOV.start} | kwargs  # fmt: skip
    with pytest.raises(ValueError, match=message):
        records(**request)


# ---------------------------------------------------------------------------
# Writes whose effect reaches cells they do not mark dirty
# ---------------------------------------------------------------------------
OCT = period_containing("month", dt.date(2026, 10, 1))
Key = tuple[str, str, int, str]  # code, scope, scope id, dimension


@pytest.fixture
def two_teams():
    team_a, team_b = TeamFactory(name="A"), TeamFactory(name="B")
    s = SimpleNamespace(team_a=team_a, team_b=team_b)
    s.a1 = UserFactory(username="a1", team=team_a)
    s.b1 = UserFactory(username="b1", team=team_b)
    # Both have a write in October, so its period values are computed.
    for rep in (s.a1, s.b1):
        activity_log(owner=rep, kind="email", occurred_at=at(2026, 10, 5, 9))
    return s


def owner_change(s) -> tuple[Callable, list[Key]]:
    """An open deal since September changes owner in December: October's pipeline moves."""
    opp = opportunity_create(name="O", company=CompanyFactory(), owner=s.a1, created_by=s.a1,
                             created_at=at(2026, 9, 10, 9), amount=100)  # fmt: skip
    scopes = (("rep", s.a1.pk), ("rep", s.b1.pk), ("team", s.team_a.pk))
    keys = [
        (code, scope, sid, "")
        for code in ("open_opportunities", "pipeline_value")
        for scope, sid in scopes
    ]
    return lambda: opportunity_update(opportunity=opp, owner=s.b1), keys


def amount_change(s) -> tuple[Callable, list[Key]]:
    opp = opportunity_create(name="O", company=CompanyFactory(), owner=s.a1, created_by=s.a1,
                             created_at=at(2026, 9, 10, 9), amount=100)  # fmt: skip
    keys = [("pipeline_value", "rep", s.a1.pk, ""), ("pipeline_value", "org", 0, "")]
    return lambda: opportunity_update(opportunity=opp, amount=300), keys


def team_change(s) -> tuple[Callable, list[Key]]:
    """a1 moves to team B: the stored team values of the non-additive KPIs keep the old team."""
    activity_log(owner=s.a1, kind="call", occurred_at=at(2026, 10, 6, 9), outcome="connected",
                 company=CompanyFactory())  # fmt: skip

    def change():
        user_set_team(user=s.a1, team=s.team_b)

    keys = [("calls_per_customer", "team", s.team_a.pk, ""),
            ("calls_per_customer", "team", s.team_b.pk, ""),
            ("calls_made", "team", s.team_b.pk, "")]  # fmt: skip
    return change, keys


def lead_linked_later(s) -> tuple[Callable, list[Key]]:
    """An existing opportunity is linked to a lead: the lead converts, in the lead's cell."""
    lead = lead_create(name="L", assigned_to=s.a1, received_at=at(2026, 10, 5, 9))
    opp = opportunity_create(name="O", company=CompanyFactory(), owner=s.b1, created_by=s.b1,
                             created_at=at(2026, 11, 5, 9))  # fmt: skip
    return lambda: opportunity_update(opportunity=opp, lead=lead), [
        ("lead_conversion_rate", "rep", s.a1.pk, "")
    ]


def earlier_win_reopened(s) -> tuple[Callable, list[Key]]:
    """The company's only earlier win is reopened: a later deal is no longer an existing
    customer's, in the later deal's (owner, closed day) cell."""
    company = CompanyFactory()
    early = opportunity_create(name="E", company=company, owner=s.b1, created_by=s.b1,
                               created_at=at(2026, 9, 1, 9), amount=100)  # fmt: skip
    opportunity_move_stage(opportunity=early, to_stage="won", changed_by=s.b1, at=at(2026, 9, 5, 9))
    late = opportunity_create(name="L", company=company, owner=s.a1, created_by=s.a1,
                              created_at=at(2026, 10, 1, 9), amount=100)  # fmt: skip
    opportunity_move_stage(opportunity=late, to_stage="won", changed_by=s.a1, at=at(2026, 10, 5, 9))

    def change():
        opportunity_move_stage(opportunity=early, to_stage="negotiation", changed_by=s.b1,
                               at=at(2026, 11, 20, 9))  # fmt: skip

    return change, [("avg_deal_size", "rep", s.a1.pk, f"customer_type:{t}")
                    for t in ("new", "existing")]  # fmt: skip


def backdated_first_meeting(s) -> tuple[Callable, list[Key]]:
    """An earlier meeting with the contact is logged late: a1's is no longer the first."""
    contact = ContactFactory()
    activity_log(owner=s.a1, kind="meeting", occurred_at=at(2026, 10, 20, 9), contact=contact)

    def change():
        activity_log(owner=s.b1, kind="meeting", occurred_at=at(2026, 10, 10, 9), contact=contact)

    return change, [("meetings_new_contacts", "rep", s.a1.pk, ""),
                    ("meetings_new_contacts", "org", 0, "")]  # fmt: skip


SCENARIOS = [
    owner_change,
    amount_change,
    team_change,
    lead_linked_later,
    earlier_win_reopened,
    backdated_first_meeting,
]  # fmt: skip


def assert_keys_agree(keys: list[Key], rng: PeriodRange) -> None:
    for code, scope, sid, dim in keys:
        stored = stored_values(scope, rng, codes=[code])
        assert_agrees(code, scope, sid, rng, dim, stored.get((code, sid, dim)))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_incremental_recompute_follows_writes_into_other_cells(two_teams, scenario):
    change, keys = scenario(two_teams)
    recompute(now=NOW)
    assert_keys_agree(keys, OCT)
    change()
    recompute(now=NOW)
    assert_keys_agree(keys, OCT)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_full_recompute_follows_the_same_writes(two_teams, scenario):
    change, keys = scenario(two_teams)
    recompute(now=NOW)
    change()
    recompute_full(now=NOW)
    assert_keys_agree(keys, OCT)


# ---------------------------------------------------------------------------
# Query count
# ---------------------------------------------------------------------------
def build_rep(n: int) -> User:
    rep = UserFactory(username="q", role=User.Role.AE, team=TeamFactory(name="Q"))
    rep_cost_set(rep=rep, month=NOV.start, kind="salary", amount=1000)
    for i in range(n):
        day = at(2026, 11, 2 + i % 25, 9, i)
        later = day + dt.timedelta(hours=1)
        company = CompanyFactory(owner=rep)
        contact = ContactFactory(company=company, is_decision_maker=True)
        activity_log(owner=rep, kind="call", occurred_at=day, outcome="connected",
                     duration_seconds=200, contact=contact)  # fmt: skip
        activity_log(owner=rep, kind="meeting", occurred_at=day, mode="physical", contact=contact)
        activity_book(booked_by=rep, owner=rep, kind="meeting", contact=contact, booked_at=day,
                      occurred_at=day + dt.timedelta(days=30))  # fmt: skip
        lead = lead_create(name=f"Lead {i}", received_at=day, assigned_to=rep, company=company)
        activity_log(owner=rep, kind="email", occurred_at=later, lead=lead, replied=True)
        old = opportunity_create(name=f"Old {i}", company=company, owner=rep, created_by=rep,
                                 created_at=at(2025, 12, 1, 9), amount=50)  # fmt: skip
        opportunity_move_stage(opportunity=old, to_stage="won", changed_by=rep,
                               at=at(2025, 12, 5, 9))  # fmt: skip
        opp = opportunity_create(name=f"Deal {i}", company=company, owner=rep, created_by=rep,
                                 created_at=day, amount=100, lead=lead, contact=contact,
                                 lead_source="website")  # fmt: skip
        opportunity_move_stage(opportunity=opp, to_stage="meeting", changed_by=rep, at=later)
        if i % 2:
            opportunity_move_stage(opportunity=opp, to_stage="won", changed_by=rep,
                                   at=later + dt.timedelta(days=1))  # fmt: skip
    return rep


def render(rows) -> list[tuple]:
    """What a drill-down table reads of each record: its fields and every related object shown."""
    table = []
    for row in rows:
        cells = [str(row)]
        for path in SHOWN[type(row)]:
            obj = row
            for name in path.split("__"):
                obj = getattr(obj, name) if obj is not None else None
            cells.append(str(obj))
        table.append(tuple(cells))
    return table


@pytest.mark.parametrize("n", [3, 30])
def test_listing_records_takes_one_query_whatever_the_count(n, django_assert_num_queries):
    rep = build_rep(n)
    where = {"scope": "rep", "scope_id": rep.pk, "period": "month", "period_start": NOV.start,
             "now": NOW}  # fmt: skip
    sizes = {}
    for code in CODES:
        dims = dimensions(code, set())
        dimension = "" if "" in dims else "stage:qualification"
        with django_assert_num_queries(1):
            sizes[code] = len(render(records(code=code, dimension=dimension, **where)))
    half = n // 2
    assert sizes["calls_made"] == sizes["meetings_booked_decision_makers"] == n
    assert sizes["deals_won"] == sizes["sales_cycle_days"] == half
    assert sizes["open_opportunities"] == n - half
    # Every deal left qualification; every old customer was active at the start of November.
    assert sizes["days_in_stage"] == sizes["churn_rate"] == sizes["lead_response_minutes"] == n
