"""The admin a sales manager lives in: scoped to their teams, writing through the services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from activities.models import Activity, ActivityChange
from activities.tests.factories import ActivityFactory
from kpis.models import DirtyCell
from people.tests.factories import ManagerFactory, TeamFactory, UserFactory
from pipeline.models import Lead, Opportunity, RepCost, Stage, StageChange
from pipeline.services import opportunity_move_stage, rep_cost_set
from pipeline.tests.factories import (
    CompanyFactory,
    ContactFactory,
    LeadFactory,
    OpportunityFactory,
)
from saljsite.timeutils import local_day

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------
@pytest.fixture
def manager():
    return ManagerFactory()


@pytest.fixture
def rep(manager):
    return UserFactory(team=manager.team)


@pytest.fixture
def other_rep():
    return UserFactory()  # A rep of another team, with another manager.


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


def _form_errors(response) -> dict:
    assert response.status_code == 200, response
    form = response.context["adminform"].form
    assert form.errors, "expected the form to be re-rendered with errors"
    return form.errors


def _split(moment: dt.datetime) -> tuple[str, str]:
    local = timezone.localtime(moment)
    return local.strftime("%Y-%m-%d"), local.strftime("%H:%M:%S")


def _activity_post(**overrides) -> dict:
    day, time = _split(timezone.now() - dt.timedelta(hours=2))
    data = {
        "kind": "meeting",
        "status": "completed",
        "owner": "",
        "occurred_at_0": day,
        "occurred_at_1": time,
        "direction": "outbound",
        "subject": "Kick-off",
        "notes": "",
        "company": "",
        "contact": "",
        "lead": "",
        "opportunity": "",
        "outcome": "",
        "duration_seconds": "",
        "mode": "",
        "booked_by": "",
        "booked_at_0": "",
        "booked_at_1": "",
        "external_id": "",
    }
    data.update(overrides)
    return data


def _opportunity_post(opp: Opportunity, **overrides) -> dict:
    data = {
        "name": opp.name,
        "company": opp.company_id,
        "contact": opp.contact_id or "",
        "lead": opp.lead_id or "",
        "owner": opp.owner_id,
        "kind": opp.kind,
        "lead_source": opp.lead_source,
        "channel": opp.channel,
        "amount": str(opp.amount),
        "stage": opp.stage_id,
        "lost_reason": opp.lost_reason,
        "external_id": opp.external_id,
        # The read-only stage history inline still posts its (empty) management form.
        "stage_changes-TOTAL_FORMS": "0",
        "stage_changes-INITIAL_FORMS": "0",
        "stage_changes-MIN_NUM_FORMS": "0",
        "stage_changes-MAX_NUM_FORMS": "0",
    }
    data.update(overrides)
    return data


def _change_url(obj) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


# ---------------------------------------------------------------------------
# Access and scoping
# ---------------------------------------------------------------------------
def test_rep_is_sent_to_the_admin_login(client, rep):
    activity = ActivityFactory(owner=rep)
    client.force_login(rep)

    for url in (reverse("admin:index"), _change_url(activity)):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


def test_manager_sees_their_teams_activities_but_not_another_teams(
    manager_client, manager, rep, other_rep
):
    mine = ActivityFactory(owner=rep, subject="Our call")
    own = ActivityFactory(owner=manager, subject="Manager call")
    theirs = ActivityFactory(owner=other_rep, subject="Their call")

    response = manager_client.get(reverse("admin:activities_activity_changelist"))

    assert response.status_code == 200
    shown = set(response.context["cl"].result_list)
    assert shown == {mine, own}
    assert theirs not in shown


def test_manager_cannot_open_another_teams_activity(manager_client, other_rep):
    theirs = ActivityFactory(owner=other_rep)

    response = manager_client.get(_change_url(theirs))

    assert response.status_code in (302, 404)
    if response.status_code == 302:
        assert response["Location"] == reverse("admin:index")


def test_user_autocomplete_offers_a_manager_only_their_teams_people(
    manager_client, manager, rep, other_rep
):
    response = manager_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "activities", "model_name": "activity", "field_name": "owner", "term": ""},
    )

    assert response.status_code == 200
    ids = {int(result["id"]) for result in response.json()["results"]}
    assert ids == {manager.pk, rep.pk}


def test_manager_cannot_give_an_activity_to_another_teams_rep(manager_client, other_rep):
    response = manager_client.post(
        reverse("admin:activities_activity_add"), _activity_post(owner=other_rep.pk)
    )

    assert "owner" in _form_errors(response)
    assert not Activity.objects.exists()


def test_editing_keeps_a_booker_from_another_team(manager_client, rep, other_rep):
    # An SDR of another team booked the meeting for the manager's rep: it stays editable.
    booked_at = timezone.now() - dt.timedelta(days=3)
    meeting = ActivityFactory(
        owner=rep, kind="meeting", booked_by=other_rep, booked_at=booked_at, mode="digital"
    )
    booked_day, booked_time = _split(booked_at)
    occurred_day, occurred_time = _split(meeting.occurred_at)

    response = manager_client.post(
        _change_url(meeting),
        _activity_post(
            kind="meeting",
            owner=rep.pk,
            booked_by=other_rep.pk,
            booked_at_0=booked_day,
            booked_at_1=booked_time,
            occurred_at_0=occurred_day,
            occurred_at_1=occurred_time,
            mode="digital",
            subject="Renamed",
        ),
    )

    assert response.status_code == 302
    meeting.refresh_from_db()
    assert meeting.subject == "Renamed"
    assert meeting.booked_by == other_rep


def test_every_add_and_change_page_renders(admin_client, manager_client, manager, rep):
    opp = OpportunityFactory(owner=rep, company=CompanyFactory(owner=rep))
    activity = ActivityFactory(owner=rep, opportunity=opp)
    lead = LeadFactory(assigned_to=rep)
    cost = rep_cost_set(rep=rep, month=dt.date(2026, 10, 1), kind="bonus", amount=1)
    contact = ContactFactory(company=opp.company)
    objects = [opp, activity, lead, cost, contact, opp.company, rep, rep.team, opp.stage]
    objects += [opp.stage_changes.get(), DirtyCell.objects.filter(rep=rep).first()]

    for obj in objects:
        opts = obj._meta
        assert admin_client.get(_change_url(obj)).status_code == 200, opts.label
        assert manager_client.get(_change_url(obj)).status_code == 200, opts.label
        add_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
        can_add = opts.model_name not in {"stagechange", "dirtycell"}
        assert admin_client.get(add_url).status_code == (200 if can_add else 403), opts.label


# ---------------------------------------------------------------------------
# Stage history is view only
# ---------------------------------------------------------------------------
def test_manager_can_view_but_not_add_change_or_delete_stage_history(manager_client, rep):
    change = OpportunityFactory(owner=rep).stage_changes.get()
    url = _change_url(change)

    assert manager_client.get(reverse("admin:pipeline_stagechange_changelist")).status_code == 200
    response = manager_client.get(url)
    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    assert b'name="_save"' not in response.content
    assert manager_client.post(url, {}).status_code == 403
    assert manager_client.get(reverse("admin:pipeline_stagechange_add")).status_code == 403
    delete_url = reverse("admin:pipeline_stagechange_delete", args=[change.pk])
    assert manager_client.post(delete_url, {"post": "yes"}).status_code == 403
    assert StageChange.objects.filter(pk=change.pk).exists()


def test_superuser_cannot_change_or_delete_stage_history_either(admin_client):
    change = OpportunityFactory().stage_changes.get()

    assert admin_client.post(_change_url(change), {}).status_code == 403
    delete_url = reverse("admin:pipeline_stagechange_delete", args=[change.pk])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    assert admin_client.get(reverse("admin:pipeline_stagechange_add")).status_code == 403
    response = admin_client.post(
        reverse("admin:pipeline_stagechange_changelist"),
        {"action": "delete_selected", "_selected_action": [change.pk], "post": "yes"},
    )
    assert response.status_code in (200, 302)
    assert StageChange.objects.filter(pk=change.pk).exists()


# ---------------------------------------------------------------------------
# Activities are written through the services
# ---------------------------------------------------------------------------
def test_manager_adds_an_activity_through_the_service(manager_client, rep):
    contact = ContactFactory(company=CompanyFactory(owner=rep))
    occurred_at = timezone.now() - dt.timedelta(hours=2)
    day, time = _split(occurred_at)

    response = manager_client.post(
        reverse("admin:activities_activity_add"),
        _activity_post(
            owner=rep.pk, contact=contact.pk, mode="physical", occurred_at_0=day, occurred_at_1=time
        ),
    )

    assert response.status_code == 302, (
        response.context and response.context["adminform"].form.errors
    )
    activity = Activity.objects.get()
    assert activity.owner == rep
    assert activity.occurred_day == local_day(occurred_at)
    assert activity.company_id == contact.company_id  # Inferred from the contact.
    assert DirtyCell.objects.filter(rep=rep, day=activity.occurred_day).exists()


def test_the_history_names_the_manager_who_added_changed_and_deleted(manager_client, manager, rep):
    occurred_at = timezone.now() - dt.timedelta(hours=2)
    day, time = _split(occurred_at)
    post = _activity_post(owner=rep.pk, occurred_at_0=day, occurred_at_1=time)
    manager_client.post(reverse("admin:activities_activity_add"), post)
    activity = Activity.objects.get()
    manager_client.post(_change_url(activity), {**post, "subject": "Renamed"})
    manager_client.post(
        reverse("admin:activities_activity_delete", args=[activity.pk]), {"post": "yes"}
    )

    history = ActivityChange.objects.filter(activity_id_ref=activity.pk).order_by("id")
    assert [(change.action, change.changed_by) for change in history] == [
        ("created", manager),
        ("changed", manager),
        ("deleted", manager),
    ]


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"kind": "call", "mode": "physical"}, id="call-in-person"),
        pytest.param({"kind": "call", "duration_seconds": "-5"}, id="negative-duration"),
    ],
)
def test_bad_activity_is_shown_with_an_error_and_writes_nothing(manager_client, rep, overrides):
    response = manager_client.post(
        reverse("admin:activities_activity_add"), _activity_post(owner=rep.pk, **overrides)
    )

    assert _form_errors(response)
    assert not Activity.objects.exists()
    assert not DirtyCell.objects.exists()


def test_service_refusal_is_shown_on_the_form_and_writes_nothing(manager_client, rep):
    # Only the service knows this rule: the contact must belong to the activity's company.
    company = CompanyFactory(owner=rep)
    contact_elsewhere = ContactFactory(company=CompanyFactory(owner=rep))

    response = manager_client.post(
        reverse("admin:activities_activity_add"),
        _activity_post(owner=rep.pk, company=company.pk, contact=contact_elsewhere.pk),
    )

    assert "contact" in _form_errors(response)
    assert not Activity.objects.exists()
    assert not DirtyCell.objects.exists()


def test_cancel_action_cancels_only_planned_activities(manager_client, rep):
    planned = ActivityFactory(
        owner=rep,
        kind="meeting",
        status="planned",
        occurred_at=timezone.now() + dt.timedelta(days=1),
    )
    done = ActivityFactory(owner=rep)

    response = manager_client.post(
        reverse("admin:activities_activity_changelist"),
        {"action": "cancel_planned", "_selected_action": [planned.pk, done.pk]},
    )

    assert response.status_code == 302
    planned.refresh_from_db()
    done.refresh_from_db()
    assert planned.status == Activity.Status.CANCELLED
    assert done.status == Activity.Status.COMPLETED


def test_bulk_delete_goes_through_the_service(manager_client, rep):
    activities = [ActivityFactory(owner=rep), ActivityFactory(owner=rep)]
    DirtyCell.objects.all().delete()

    response = manager_client.post(
        reverse("admin:activities_activity_changelist"),
        {
            "action": "delete_selected",
            "_selected_action": [a.pk for a in activities],
            "post": "yes",
        },
    )

    assert response.status_code == 302
    assert not Activity.objects.exists()
    # activity_delete marks the owner's day for recompute; a plain queryset delete would not.
    assert DirtyCell.objects.filter(rep=rep, day=activities[0].occurred_day).exists()


def test_deleting_one_activity_goes_through_the_service(manager_client, rep):
    activity = ActivityFactory(owner=rep)
    DirtyCell.objects.all().delete()
    url = reverse("admin:activities_activity_delete", args=[activity.pk])

    response = manager_client.post(url, {"post": "yes"})

    assert response.status_code == 302
    assert not Activity.objects.exists()
    assert DirtyCell.objects.filter(rep=rep, day=activity.occurred_day).exists()


# ---------------------------------------------------------------------------
# Opportunities, leads and rep costs are written through the services
# ---------------------------------------------------------------------------
def test_manager_adds_an_opportunity_with_its_first_stage_entry(manager_client, manager, rep):
    company = CompanyFactory(owner=rep)
    qualification = Stage.objects.get(slug="qualification")
    day, time = _split(timezone.now() - dt.timedelta(hours=1))

    response = manager_client.post(
        reverse("admin:pipeline_opportunity_add"),
        {
            "name": "Big deal",
            "company": company.pk,
            "contact": "",
            "lead": "",
            "owner": rep.pk,
            "kind": "new_business",
            "lead_source": "website",
            "channel": "field",
            "amount": "5000",
            "stage": qualification.pk,
            "created_at_0": day,
            "created_at_1": time,
            "external_id": "",
        },
    )

    assert response.status_code == 302
    opp = Opportunity.objects.get()
    assert opp.created_by == manager
    entry = opp.stage_changes.get()
    assert entry.from_stage is None
    assert entry.to_stage == qualification


def test_opportunity_cannot_be_opened_in_a_closed_stage(manager_client, rep):
    company = CompanyFactory(owner=rep)
    day, time = _split(timezone.now() - dt.timedelta(hours=1))

    response = manager_client.post(
        reverse("admin:pipeline_opportunity_add"),
        {
            "name": "Already won?",
            "company": company.pk,
            "owner": rep.pk,
            "kind": "new_business",
            "lead_source": "website",
            "channel": "field",
            "amount": "5000",
            "stage": Stage.objects.get(slug="won").pk,
            "created_at_0": day,
            "created_at_1": time,
        },
    )

    assert "stage" in _form_errors(response)
    assert not Opportunity.objects.exists()
    assert not StageChange.objects.exists()


def test_opportunity_detail_edit_goes_through_opportunity_update(manager_client, manager, rep):
    teammate = UserFactory(team=manager.team)
    opp = OpportunityFactory(owner=rep, company=CompanyFactory(owner=rep))
    DirtyCell.objects.all().delete()

    response = manager_client.post(
        _change_url(opp), _opportunity_post(opp, owner=teammate.pk, amount="250000")
    )

    assert response.status_code == 302
    opp.refresh_from_db()
    assert (opp.owner, opp.amount) == (teammate, Decimal("250000"))
    assert opp.stage_changes.count() == 1  # No stage move.
    # An owner change recomputes both reps from the deal's creation day.
    assert DirtyCell.objects.filter(rep=rep, day=opp.created_day).exists()
    assert DirtyCell.objects.filter(rep=teammate, day=opp.created_day).exists()


def test_opportunity_moved_to_won_records_the_move_and_closes_it(manager_client, manager, rep):
    opp = OpportunityFactory(owner=rep, company=CompanyFactory(owner=rep))
    won = Stage.objects.get(slug="won")

    response = manager_client.post(_change_url(opp), _opportunity_post(opp, stage=won.pk))

    assert response.status_code == 302
    opp.refresh_from_db()
    assert opp.stage == won
    assert opp.closed_at is not None
    move = opp.stage_changes.order_by("changed_at", "id").last()
    assert (move.to_stage, move.changed_by, move.owner) == (won, manager, rep)
    assert opp.stage_changes.count() == 2


def test_opportunity_moved_to_lost_without_a_reason_is_refused(manager_client, rep):
    opp = OpportunityFactory(owner=rep, company=CompanyFactory(owner=rep))
    lost = Stage.objects.get(slug="lost")

    response = manager_client.post(
        _change_url(opp), _opportunity_post(opp, stage=lost.pk, name="Renamed too")
    )

    assert "lost_reason" in _form_errors(response)
    opp.refresh_from_db()
    assert opp.stage.slug != "lost"
    assert opp.name != "Renamed too"  # The detail edit is refused with the move.
    assert opp.closed_at is None
    assert opp.stage_changes.count() == 1


def test_opportunity_page_shows_the_stage_history_oldest_first(manager_client, manager, rep):
    opp = OpportunityFactory(owner=rep)
    opportunity_move_stage(opportunity=opp, to_stage="meeting", changed_by=manager)

    response = manager_client.get(_change_url(opp))

    assert response.status_code == 200
    (inline,) = response.context["inline_admin_formsets"]
    shown = [form.instance.to_stage.slug for form in inline.formset.forms]
    assert shown == ["qualification", "meeting"]


def test_manager_adds_a_lead_through_the_service(manager_client, rep):
    contact = ContactFactory(company=CompanyFactory(owner=rep))
    received_at = timezone.now() - dt.timedelta(hours=3)
    day, time = _split(received_at)

    response = manager_client.post(
        reverse("admin:pipeline_lead_add"),
        {
            "name": "Web form",
            "source": "website",
            "direction": "inbound",
            "received_at_0": day,
            "received_at_1": time,
            "assigned_to": rep.pk,
            "contact": contact.pk,
        },
    )

    assert response.status_code == 302
    lead = Lead.objects.get()
    assert lead.received_day == local_day(received_at)
    assert lead.company_id == contact.company_id  # Lent by the contact.
    assert DirtyCell.objects.filter(rep=rep, day=lead.received_day).exists()


def test_reassigning_a_lead_goes_through_lead_assign(manager_client, rep, manager):
    teammate = UserFactory(team=manager.team)
    lead = LeadFactory(assigned_to=rep)
    DirtyCell.objects.all().delete()

    response = manager_client.post(
        _change_url(lead),
        {
            "name": lead.name,
            "source": lead.source,
            "direction": lead.direction,
            "assigned_to": teammate.pk,
            "company": "",
            "contact": "",
            "notes": "Handed over",
            "external_id": "",
            "status": "contacted",
        },
    )

    assert response.status_code == 302
    lead.refresh_from_db()
    assert (lead.assigned_to, lead.status, lead.notes) == (teammate, "contacted", "Handed over")
    marked = set(DirtyCell.objects.values_list("rep_id", flat=True))
    assert marked == {rep.pk, teammate.pk}


def test_manager_sets_a_rep_cost_through_the_service(manager_client, rep):
    response = manager_client.post(
        reverse("admin:pipeline_repcost_add"),
        {"rep": rep.pk, "month": "2026-10-01", "kind": "salary", "amount": "45000"},
    )

    assert response.status_code == 302
    cost = RepCost.objects.get()
    assert (cost.rep, cost.amount) == (rep, Decimal("45000"))
    assert DirtyCell.objects.filter(rep=rep, day=dt.date(2026, 10, 1)).exists()


# ---------------------------------------------------------------------------
# Every changelist runs a constant number of queries
# ---------------------------------------------------------------------------
def _rows(n: int, team=None) -> None:
    """n reps, each with a company, contact, lead, opportunity, activity and cost."""
    for _ in range(n):
        rep = UserFactory(team=team or TeamFactory(manager=UserFactory(role="manager", team=None)))
        company = CompanyFactory(owner=rep)
        contact = ContactFactory(company=company)
        lead = LeadFactory(assigned_to=rep, company=company, contact=contact)
        opp = OpportunityFactory(owner=rep, company=company, contact=contact, lead=lead)
        ActivityFactory(owner=rep, contact=contact, lead=lead, opportunity=opp)
        rep_cost_set(rep=rep, month=dt.date(2026, 10, 1), kind="salary", amount=40_000)


# Session, user, the counts, the rows, the date hierarchy and the sidebar filters' choices.
CHANGELIST_QUERIES = {
    "activities_activity": 8,
    "pipeline_opportunity": 9,
    "pipeline_lead": 8,
    "pipeline_company": 8,
    "pipeline_contact": 5,
    "people_user": 6,
    "people_team": 5,
    "pipeline_stagechange": 9,
    "pipeline_repcost": 8,
    "kpis_dirtycell": 8,
}
# A manager's permissions come from their group: two more queries, once per request.
MANAGER_PERMISSION_QUERIES = 2


# One data set per size, every changelist checked against it (setting up 30 rows is the slow part).
@pytest.mark.parametrize("rows", [3, 30])
def test_changelist_query_count_does_not_grow_with_rows(
    admin_client, django_assert_max_num_queries, rows
):
    _rows(rows)

    for changelist, queries in CHANGELIST_QUERIES.items():
        with django_assert_max_num_queries(queries, info=changelist):
            response = admin_client.get(reverse(f"admin:{changelist}_changelist"))
        assert response.status_code == 200
        shown = len(response.context["cl"].result_list)
        assert shown >= (rows if changelist != "people_team" else 1), changelist


@pytest.mark.parametrize("rows", [3, 30])
def test_manager_changelist_query_count_does_not_grow_with_rows(
    client, django_assert_max_num_queries, rows
):
    manager = ManagerFactory()
    _rows(rows, team=manager.team)
    _rows(rows)  # Another team's rows: filtered out in the same queries.
    client.force_login(manager)
    # Their reps' rows only; users include the manager; dirty cells are several per rep.
    expected = {"people_user": rows + 1, "people_team": 1}

    for changelist, queries in CHANGELIST_QUERIES.items():
        with django_assert_max_num_queries(queries + MANAGER_PERMISSION_QUERIES, info=changelist):
            response = client.get(reverse(f"admin:{changelist}_changelist"))
        assert response.status_code == 200
        shown = response.context["cl"].result_list
        if changelist == "kpis_dirtycell":
            assert {cell.rep.team_id for cell in shown} == {manager.team_id}
        else:
            assert len(shown) == expected.get(changelist, rows), changelist
