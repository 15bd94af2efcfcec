"""The demo data generator: deterministic, consistent with the services' invariants, and safe."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import random
from collections import defaultdict

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from activities.models import Activity
from kpis.models import DirtyCell
from people.models import Team, User
from people.tests.factories import TeamFactory, UserFactory
from pipeline.demo import (
    DEMO_LOGINS,
    DEMO_PASSWORD,
    DemoDataPresent,
    DemoSummary,
    NonDemoDataPresent,
    demo_data_state,
    org_number,
    seed_demo,
)
from pipeline.models import Company, Contact, Lead, Opportunity, RepCost, StageChange
from pipeline.tests.factories import CompanyFactory
from pipeline.validators import normalize_org_number
from saljsite.timeutils import local_day

TODAY = dt.date(2026, 3, 15)
SCALE = 0.05
pytestmark = pytest.mark.django_db


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time()))


def _fingerprint() -> dict:
    """What the database holds, by aggregate queries: equal for equal data, ids aside."""
    models = (Team, User, Company, Contact, Lead, Opportunity, StageChange, Activity, RepCost)
    return {
        "counts": {model.__name__: model.objects.count() for model in models},
        "usernames": sorted(User.objects.values_list("username", flat=True)),
        "companies": sorted(Company.objects.values_list("name", "org_number", "owner__username")),
        "amounts": Opportunity.objects.aggregate(
            total=Sum("amount"), won=Sum("amount", filter=Q(stage__outcome="won"))
        ),
        "stages": sorted(Opportunity.objects.values_list("stage__slug").annotate(n=Count("id"))),
        "talk_time": Activity.objects.aggregate(seconds=Sum("duration_seconds")),
        "activities": sorted(
            Activity.objects.values_list("external_id", "kind", "status", "occurred_at")
        ),
        "moves": sorted(
            StageChange.objects.values_list(
                "opportunity__external_id", "to_stage__slug", "changed_at"
            )
        ),
        "costs": RepCost.objects.aggregate(total=Sum("amount")),
    }


def _seed_and_fingerprint(seed: int) -> tuple[DemoSummary, dict]:
    """Seed inside a savepoint, read the fingerprint, roll back: the database is empty again."""
    with transaction.atomic():
        summary = seed_demo(seed=seed, scale=SCALE, today=TODAY)
        fingerprint = _fingerprint()
        transaction.set_rollback(True)
    return summary, fingerprint


def test_same_seed_and_today_give_the_same_data_and_another_seed_other_data():
    summary_1, first = _seed_and_fingerprint(7)
    assert User.objects.count() == 0  # rolled back
    summary_2, second = _seed_and_fingerprint(7)
    summary_3, other = _seed_and_fingerprint(8)

    assert summary_1 == summary_2
    assert first == second
    assert first["counts"]["Activity"] > 1000
    assert other != first
    assert summary_3 != summary_1


def test_org_numbers_are_valid_swedish_organisation_numbers():
    rng = random.Random(3)
    for _ in range(500):
        number = org_number(rng)
        assert normalize_org_number(number) == number
        assert int(number[2]) >= 2


def test_small_scale_has_one_team_with_every_role_and_a_manager():
    summary = seed_demo(seed=1, scale=SCALE, today=TODAY)

    team = Team.objects.get()
    roles = set(team.members.values_list("role", flat=True))
    assert roles == {"sdr", "ae", "am", "manager"}
    assert team.manager.username == "demo-manager"
    assert summary.teams == 1
    assert summary.users == User.objects.count()
    assert summary.activities == Activity.objects.count()
    assert summary.won == Opportunity.objects.filter(stage__outcome="won").count()


def test_opportunities_keep_the_stage_history_invariants():
    seed_demo(seed=1, scale=0.1, today=TODAY)
    changes = defaultdict(list)
    for change in StageChange.objects.select_related("from_stage", "to_stage").order_by(
        "changed_at", "id"
    ):
        changes[change.opportunity_id].append(change)
    opportunities = list(Opportunity.objects.select_related("stage"))
    assert {o.stage.outcome for o in opportunities} == {"open", "won", "lost"}
    reopened = moved_back = 0

    for opp in opportunities:
        history = changes[opp.pk]
        first, last = history[0], history[-1]
        assert first.from_stage is None
        assert first.changed_at == opp.created_at
        assert first.owner_id == opp.owner_id
        assert first.changed_by_id == opp.created_by_id
        assert opp.created_day == local_day(opp.created_at)
        for before, after in itertools.pairwise(history):
            assert after.from_stage_id == before.to_stage_id
            assert after.changed_at > before.changed_at
            assert after.owner_id == opp.owner_id
            reopened += before.to_stage.is_closed
            moved_back += (
                before.to_stage.is_open
                and after.to_stage.is_open
                and after.to_stage.order < before.to_stage.order
            )
        for change in history:
            assert change.changed_day == local_day(change.changed_at)
        assert opp.stage_id == last.to_stage_id
        if opp.stage.is_open:
            assert opp.closed_at is None
            assert opp.closed_day is None
        else:
            assert opp.closed_at == last.changed_at
            assert opp.closed_day == local_day(opp.closed_at)
        if opp.stage.outcome == "won":
            assert opp.amount > 0
        if opp.stage.outcome == "lost":
            assert opp.lost_reason
        assert 20_000 <= opp.amount <= 2_000_000
        assert last.changed_at < _start_of(TODAY)
        if opp.contact_id is not None:
            assert opp.contact.company_id == opp.company_id
    assert reopened + moved_back > 0


def test_activities_are_consistent_with_their_links_and_calendar():
    seed_demo(seed=1, scale=SCALE, today=TODAY)
    today_start = _start_of(TODAY)
    horizon = _start_of(TODAY + dt.timedelta(days=15))
    contacts = dict(Contact.objects.values_list("id", "company_id"))
    leads = dict(Lead.objects.values_list("id", "company_id"))
    opportunities = dict(Opportunity.objects.values_list("id", "company_id"))
    activities = list(Activity.objects.all())
    assert {a.status for a in activities} == {"planned", "completed", "cancelled"}

    for a in activities:
        assert a.occurred_day == local_day(a.occurred_at)
        assert a.booked_day == local_day(a.booked_at)
        if a.status == "planned":
            assert today_start <= a.occurred_at < horizon
        else:
            assert a.occurred_at < today_start
        if a.booked_by_id is not None:
            assert a.kind in {"meeting", "demo", "lunch"}
            assert a.booked_at < a.occurred_at
            assert a.booked_at < today_start
        if a.kind != "call":
            assert (a.outcome, a.duration_seconds) == ("", None)
        elif a.outcome == "connected":
            assert 30 <= a.duration_seconds <= 20 * 60
        if a.kind != "email":
            assert not a.replied and not a.clicked
        if a.kind not in {"meeting", "demo"}:
            assert a.mode == ""
        else:
            assert a.mode in {"physical", "digital"}
        assert a.company_id is not None
        for link, companies in (
            (a.contact_id, contacts),
            (a.lead_id, leads),
            (a.opportunity_id, opportunities),
        ):
            if link is not None:
                assert companies[link] == a.company_id
    for activity in activities[:: max(1, len(activities) // 50)]:
        activity.full_clean()


def test_leads_companies_and_costs_look_like_the_services_wrote_them():
    seed_demo(seed=1, scale=SCALE, today=TODAY)

    for lead in Lead.objects.all():
        assert lead.received_day == local_day(lead.received_at)
        assert lead.received_at < _start_of(TODAY)
        assert lead.contact.company_id == lead.company_id
    assert Lead.objects.filter(assigned_to__role="sdr").count() > Lead.objects.count() / 2
    for company in Company.objects.annotate(n=Count("contacts")):
        company.full_clean()
        assert 2 <= company.n <= 4
        assert company.owner.role == "am"
    assert not RepCost.objects.exclude(month__day=1).exists()
    assert (
        RepCost.objects.filter(kind="salary").count()
        == 12 * User.objects.filter(role__in=["sdr", "ae", "am"]).count()
    )
    assert not DirtyCell.objects.exists()


def test_every_row_is_marked_as_demo_data():
    seed_demo(seed=1, scale=SCALE, today=TODAY)

    assert not User.objects.exclude(username__startswith="demo-").exists()
    assert not User.objects.exclude(email__endswith="@demo.saljsite.se").exists()
    for model in (Company, Contact, Lead, Opportunity, Activity):
        assert not model.objects.exclude(external_id__startswith="demo-").exists()
    assert demo_data_state() == "demo"


def test_demo_logins_authenticate_with_the_demo_password():
    call_command("seed_demo", "--scale", "0.05", "--today", "2026-03-15", stdout=io.StringIO())

    users = {
        username: authenticate(username=username, password=DEMO_PASSWORD)
        for username in DEMO_LOGINS
    }
    assert all(users.values())
    first_team = users["demo-manager"].team
    assert first_team.manager == users["demo-manager"]
    assert users["demo-manager"].is_staff
    assert users["demo-manager"].groups.filter(name="Managers").exists()
    assert users["demo-admin"].is_superuser
    for role in ("sdr", "ae", "am"):
        assert users[f"demo-{role}"].role == role
        assert users[f"demo-{role}"].team == first_team
        assert not users[f"demo-{role}"].is_staff


def test_command_prints_a_summary_and_the_logins_and_a_second_run_changes_nothing():
    out = io.StringIO()
    call_command("seed_demo", "--scale", "0.05", "--today", "2026-03-15", stdout=out)
    before = _fingerprint()

    again = io.StringIO()
    call_command("seed_demo", "--scale", "0.05", "--today", "2026-03-15", stdout=again)

    assert "activities" in out.getvalue()
    assert all(username in out.getvalue() for username in DEMO_LOGINS)
    assert DEMO_PASSWORD in out.getvalue()
    assert again.getvalue().strip() == "Demo data already loaded."
    assert _fingerprint() == before
    with pytest.raises(DemoDataPresent):
        seed_demo(seed=1, scale=SCALE, today=TODAY)


def test_demo_logins_command_prints_the_table():
    seed_demo(seed=1, scale=SCALE, today=TODAY)
    out = io.StringIO()

    call_command("demo_logins", stdout=out)

    assert all(username in out.getvalue() for username in DEMO_LOGINS)
    assert DEMO_PASSWORD in out.getvalue()


@pytest.mark.parametrize(
    "make_foreign",
    [
        lambda: CompanyFactory(),
        lambda: UserFactory(username="admin", team=None),
        lambda: TeamFactory(name="Sales"),
    ],
    ids=["company", "user", "team"],
)
def test_refuses_a_database_with_other_data_and_writes_nothing(make_foreign):
    make_foreign()
    counts = {m: m.objects.count() for m in (Team, User, Company, Opportunity, Activity)}

    with pytest.raises(CommandError, match="not demo data"):
        call_command("seed_demo", "--scale", "0.05", stdout=io.StringIO())

    assert {m: m.objects.count() for m in counts} == counts
    with pytest.raises(NonDemoDataPresent):
        seed_demo(seed=1, scale=SCALE, today=TODAY)


def test_refuses_to_add_to_demo_data_mixed_with_real_data():
    seed_demo(seed=1, scale=SCALE, today=TODAY)
    CompanyFactory(name="Riktig Kund AB")

    with pytest.raises(CommandError, match="not demo data"):
        call_command("seed_demo", "--scale", "0.05", stdout=io.StringIO())


@pytest.mark.parametrize(
    "argv", [["--scale", "0"], ["--scale", "-1"], ["--scale", "many"], ["--today", "15/3"]]
)
def test_command_rejects_bad_arguments(argv):
    with pytest.raises(CommandError):
        call_command("seed_demo", *argv, stdout=io.StringIO())
    assert not User.objects.exists()
