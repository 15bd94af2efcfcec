"""The period values against a direct reading of the contract, on a random organisation.

`test_periodic.py` pins hand-computed values on small fixtures; this file checks the set-based
statements (periods reached through a day map, calls flagged by LAG or grouped, medians on a
packed key, the pipeline swept over the stage history, accounts rolled up from owners) on a
seeded random organisation: two teams, a rep without a team, a manager and an inactive rep who
own deals, companies with and without an owner, calls around midnight and on DST days, leads
answered before and after they were received, stage moves at the same moment, deals won,
reopened, lost and handed over. Every stored value is recomputed here in Python, straight from
the definitions in `kpis.compute.periodic`, and must be equal to the last bit: both sides divide
the same exact integers (microseconds, cents, counts) in double precision.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
from collections import defaultdict
from decimal import Decimal
from itertools import pairwise
from types import SimpleNamespace

import pytest
from django.utils import timezone

from activities.models import Activity
from activities.services import activity_log
from kpis.compute import periodic
from kpis.compute.periodic import CODES, SALES_ROLES, compute_period_values
from kpis.compute.periodic.medians import use_percentile
from kpis.compute.run import periods_of
from kpis.models import KPIValue
from kpis.periods import PeriodRange, weekly_days
from people.models import Team, User
from people.tests.factories import TeamFactory, UserFactory
from pipeline.models import Company, Lead, Opportunity, Stage, StageChange
from pipeline.services import (
    lead_create,
    opportunity_create,
    opportunity_move_stage,
    opportunity_update,
)
from pipeline.tests.factories import CompanyFactory, ContactFactory

pytestmark = pytest.mark.django_db

UTC = dt.UTC
CLOCK = dt.datetime(2026, 12, 15, 12, 0, tzinfo=UTC)  # the services refuse moves after this
NOW = dt.datetime(2026, 12, 10, 12, 0, tzinfo=UTC)  # Thursday 13:00 local: week 50, December
FIRST_DAY = dt.date(2025, 10, 1)
OPEN_STAGES = ("qualification", "meeting", "proposal", "negotiation")


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: CLOCK)


# ---------------------------------------------------------------------------
# A random organisation
# ---------------------------------------------------------------------------
def moment(rnd: random.Random, first: dt.date, last: dt.date) -> dt.datetime:
    """A random moment between two days, often close to a local or UTC midnight."""
    day = first + dt.timedelta(days=rnd.randrange((last - first).days + 1))
    if rnd.random() < 0.3:  # Sunday/Monday and month edges: 22:00–24:00 UTC is 23:00–01:00 local
        clock_time = dt.time(rnd.choice([22, 23]), rnd.choice([0, 30, 59]))
    else:
        clock_time = dt.time(rnd.randrange(6, 20), rnd.randrange(60), rnd.randrange(60))
    return dt.datetime.combine(day, clock_time, tzinfo=UTC).replace(
        microsecond=rnd.choice([0, 0, 123, 999_999])
    )


@pytest.fixture
def org():
    rnd = random.Random(20261210)
    team_a, team_b = TeamFactory(name="A"), TeamFactory(name="B")
    a1 = UserFactory(username="a1", team=team_a, role="ae")
    a2 = UserFactory(username="a2", team=team_a, role="sdr")
    b1 = UserFactory(username="b1", team=team_b, role="am")
    solo = UserFactory(username="solo", team=None, role="ae")  # the organisation's only
    boss = UserFactory(username="boss", team=team_a, role="manager")  # no zero rows
    gone = UserFactory(username="gone", team=team_b, role="ae", is_active=False)
    reps = [a1, a2, b1, solo]
    owners = [*reps, boss, gone]
    companies = [CompanyFactory(owner=rnd.choice([*reps, gone, None])) for _ in range(9)]
    contacts = [ContactFactory(company=c) for c in companies[:5]]

    # Calls (and a few activities that are not calls made with a company).
    recent = (dt.date(2026, 9, 1), dt.date(2026, 12, 10))
    for _ in range(110):
        owner = rnd.choice(reps + [boss])
        links = rnd.choice(
            [{"company": rnd.choice(companies)}, {"contact": rnd.choice(contacts)}, {}]
        )
        activity_log(
            owner=owner,
            kind=rnd.choice(["call"] * 6 + ["email"]),
            status=rnd.choice(["completed"] * 8 + ["planned"]),
            direction=rnd.choice(["outbound"] * 6 + ["inbound"]),
            occurred_at=moment(rnd, *recent),
            **links,
        )
    # The same rep and company on the same local day, twice.
    for _ in range(2):
        activity_log(owner=a1, kind="call", occurred_at=dt.datetime(2026, 11, 29, 23, 30,
                     tzinfo=UTC), company=companies[0])  # fmt: skip

    # Leads: assigned or not, answered (maybe first by someone else, maybe before received) or not.
    for _ in range(30):
        received = moment(rnd, *recent)
        lead = lead_create(
            name="Lead",
            received_at=received,
            assigned_to=rnd.choice([*reps, boss, None]),
            company=rnd.choice([None, rnd.choice(companies)]),
        )
        for _ in range(rnd.choice([0, 1, 1, 2, 3])):
            delay = dt.timedelta(minutes=rnd.randrange(-30, 3000), microseconds=rnd.randrange(10))
            activity_log(
                owner=rnd.choice(reps),
                kind=rnd.choice(["call", "email"]),
                status=rnd.choice(["completed"] * 4 + ["planned"]),
                occurred_at=min(received + delay, NOW),
                lead=lead,
            )

    # Opportunities: moves forward and back, at the same moment, won, reopened, lost, handed over.
    for i in range(28):
        created = moment(rnd, FIRST_DAY, dt.date(2026, 12, 5))
        opp = opportunity_create(
            name=f"Deal {i}",
            company=rnd.choice(companies),
            owner=rnd.choice(owners),
            created_by=rnd.choice(reps),
            amount=Decimal(rnd.randrange(1, 10**6)) / 100,
            stage=rnd.choice(OPEN_STAGES[:2]),
            created_at=created,
        )
        at = created
        for _ in range(rnd.randrange(6)):
            if rnd.random() < 0.15:
                pass  # the same moment as the previous move
            else:
                at = at + dt.timedelta(hours=rnd.randrange(1, 24 * 40), seconds=rnd.randrange(60))
            if at > NOW:
                break
            if rnd.random() < 0.15:
                opportunity_update(opportunity=opp, owner=rnd.choice(owners))
            opp.refresh_from_db()
            choices = [s for s in (*OPEN_STAGES, "won", "won", "lost") if s != opp.stage.slug]
            opportunity_move_stage(opportunity=opp, to_stage=rnd.choice(choices),
                                   changed_by=opp.owner, at=at, lost_reason="price")  # fmt: skip
    return SimpleNamespace(reps=reps, boss=boss, gone=gone, teams=[team_a, team_b])


# ---------------------------------------------------------------------------
# The contract, read directly
# ---------------------------------------------------------------------------
def micros(start: dt.datetime, end: dt.datetime) -> int:
    delta = end - start
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=timezone.get_default_timezone())


def year_before(at: dt.datetime) -> dt.datetime:
    zone = timezone.get_default_timezone()
    return (at.astimezone(zone).replace(tzinfo=None) - dt.timedelta(days=365)).replace(tzinfo=zone)


def reference(periods: list[PeriodRange], now: dt.datetime) -> dict[tuple, tuple]:
    """Every row the computation must store: key → (value, numerator, denominator)."""
    team_of = dict(User.objects.values_list("id", "team_id"))
    rows: dict[tuple, tuple] = {}

    def scopes(owner_id: int | None) -> list[tuple[str, int]]:
        found = [("org", 0)]
        if owner_id is not None:
            found.append(("rep", owner_id))
            if team_of[owner_id] is not None:
                found.append(("team", team_of[owner_id]))
        return found

    def store(kpi, scope, rng, value, num=None, den=None, dimension=""):
        rows[(*scope, kpi, rng.period.value, rng.start, dimension)] = (value, num, den)

    # calls_per_customer
    calls = Activity.objects.filter(
        status="completed", kind="call", direction="outbound", company__isnull=False
    ).values_list("owner_id", "occurred_day", "company_id")
    for rng in periods:
        made, companies = defaultdict(int), defaultdict(set)
        for owner, day, company in calls:
            if rng.contains(day):
                for scope in scopes(owner):
                    made[scope] += 1
                    companies[scope].add(company)
        for scope, n in made.items():
            den = len(companies[scope])
            store("calls_per_customer", scope, rng, n / den, float(n), float(den))

    # Medians: (code, owner, local day, dimension, duration in microseconds, unit).
    facts = []
    for lead in Lead.objects.filter(assigned_to__isnull=False):
        touches = lead.activities.filter(status="completed").values_list("occurred_at", flat=True)
        if touches:
            first = min(touches)
            x = micros(lead.received_at, first) / 60_000_000
            facts.append(("lead_response_minutes", lead.assigned_to_id, lead.received_day, "", x))
    by_opportunity = defaultdict(list)
    for change in StageChange.objects.select_related("to_stage").order_by("changed_at", "id"):
        by_opportunity[change.opportunity_id].append(change)
    for changes in by_opportunity.values():
        for entry, exit_ in pairwise(changes):
            if entry.to_stage.outcome == Stage.Outcome.OPEN:
                x = micros(entry.changed_at, exit_.changed_at) / 86_400_000_000
                dimension = f"stage:{entry.to_stage.slug}"
                facts.append(("days_in_stage", exit_.owner_id, exit_.changed_day, dimension, x))
    for opp in Opportunity.objects.filter(stage__outcome="won", closed_at__isnull=False):
        x = micros(opp.created_at, opp.closed_at) / 86_400_000_000
        facts.append(("sales_cycle_days", opp.owner_id, opp.closed_day, "", x))
    for rng in periods:
        values = defaultdict(list)
        for code, owner, day, dimension, x in facts:
            if rng.contains(day):
                for scope in scopes(owner):
                    values[(code, scope, dimension)].append(x)
        for (code, scope, dimension), xs in values.items():
            store(code, scope, rng, statistics.median(xs), None, float(len(xs)), dimension)

    # open_opportunities / pipeline_value: at T, by current owner, with the current amount.
    universe = [("rep", pk) for pk in User.objects.filter(
        is_active=True, role__in=SALES_ROLES).values_list("id", flat=True)]  # fmt: skip
    universe += [("team", pk) for pk in Team.objects.values_list("id", flat=True)] + [("org", 0)]
    opportunities = list(Opportunity.objects.all())
    for rng in periods:
        at = min(local_midnight(rng.end), now)
        count, amount = defaultdict(int), defaultdict(Decimal)
        for opp in opportunities:
            before = [c for c in by_opportunity[opp.pk] if c.changed_at < at]
            if opp.created_at < at and before and before[-1].to_stage.is_open:
                for scope in scopes(opp.owner_id):
                    count[scope] += 1
                    amount[scope] += opp.amount
        for scope in {*universe, *count}:
            store("open_opportunities", scope, rng, float(count[scope]))
            store("pipeline_value", scope, rng, float(amount[scope]))

    # churn_rate / repeat_purchase_rate over the companies each scope owns.
    purchases = defaultdict(list)
    for opp in Opportunity.objects.filter(stage__outcome="won", closed_at__isnull=False):
        purchases[opp.company_id].append(opp.closed_at)
    for rng in periods:
        start, end = local_midnight(rng.start), min(local_midnight(rng.end), now)
        tallies = defaultdict(lambda: [0, 0, 0, 0])  # active at S, churned, buyers, repeaters
        for company in Company.objects.all():
            at_start = sum(year_before(start) <= t < start for t in purchases[company.pk])
            at_end = sum(year_before(end) <= t < end for t in purchases[company.pk])
            for scope in scopes(company.owner_id):
                tally = tallies[scope]
                tally[0] += at_start > 0
                tally[1] += at_start > 0 and at_end == 0
                tally[2] += at_end > 0
                tally[3] += at_end > 1
        for scope, (active, churned, buyers, repeaters) in tallies.items():
            if active:
                store("churn_rate", scope, rng, churned / active, float(churned), float(active))
            if buyers:
                store("repeat_purchase_rate", scope, rng, repeaters / buyers, float(repeaters),
                      float(buyers))  # fmt: skip
    return rows


def stored() -> dict[tuple, tuple]:
    return {
        (v.scope, v.scope_id, v.kpi, v.period, v.period_start, v.dimension): (
            v.value,
            v.numerator,
            v.denominator,
        )
        for v in KPIValue.objects.filter(kpi__in=CODES)
    }


def assert_matches(expected: dict[tuple, tuple]) -> None:
    actual = stored()
    assert sorted(set(actual) - set(expected)) == []
    assert sorted(set(expected) - set(actual)) == []
    different = {k: (actual[k], v) for k, v in expected.items() if actual[k] != v}
    assert different == {}


def full_run() -> list[PeriodRange]:
    """Every week, month, quarter and year from FIRST_DAY to now (as a full recompute)."""
    today = timezone.localdate(NOW)
    return periods_of(weekly_days(FIRST_DAY, today), today=today)


def nightly_run() -> list[PeriodRange]:
    """The periods of a few dirty days and the current ones (as an incremental recompute)."""
    days = [dt.date(2026, 10, 25), dt.date(2026, 11, 30)]  # the DST day, a Monday
    return periods_of(days, today=timezone.localdate(NOW))


def current_run() -> list[PeriodRange]:
    """The current week, month, quarter and year only (a nightly run with no pipeline write:
    one snapshot moment, read from each opportunity's latest stage row)."""
    return periods_of([], today=timezone.localdate(NOW))


def weeks_and_months() -> list[PeriodRange]:
    """Some period types only (any list of periods can be asked for)."""
    return [p for p in full_run() if p.period.value in ("week", "month")]


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("grouped_calls", [True, False], ids=["grouped", "flagged"])
@pytest.mark.parametrize(
    "run",
    [full_run, nightly_run, current_run, weeks_and_months],
    ids=["full", "nightly", "current", "weeks-and-months"],
)
def test_every_value_matches_the_definitions(org, run, grouped_calls):
    periods = run()

    written = compute_period_values(periods=periods, now=NOW, grouped_calls=grouped_calls)

    expected = reference(periods, NOW)
    assert written == len(expected)
    assert {key[2] for key in expected} == set(CODES)  # the fixture reaches every code
    assert {key[3] for key in expected} == {p.period.value for p in periods}
    assert_matches(expected)


def test_the_calls_statement_follows_the_runs_spread():
    # A full run holds most days in four periods: the flagged statement; a nightly one in one
    # or two: the grouped one. Both store the same values (above); here, which one runs.
    def bounds(periods):
        return [periodic.Bounds.of(rng, NOW) for rng in periods]

    assert periodic.spread(bounds(full_run())) > periodic.GROUPED_MAX_SPREAD
    assert periodic.spread(bounds(nightly_run())) <= periodic.GROUPED_MAX_SPREAD


@pytest.mark.postgres
def test_postgresql_medians_equal_the_portable_window_form(org, postgres_only, monkeypatch):
    assert use_percentile()
    periods = full_run()
    compute_period_values(periods=periods, now=NOW)
    with_percentile = stored()

    monkeypatch.setattr("kpis.compute.periodic.medians.use_percentile", lambda: False)
    compute_period_values(periods=periods, now=NOW)

    assert stored() == with_percentile
