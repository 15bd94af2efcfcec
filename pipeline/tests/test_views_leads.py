"""The SDR's leads inbox: a live "waiting for" clock, one-tap first response, convert."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from activities import services as activity_services
from activities.models import Activity
from people.tests.workspace import build_org
from pipeline import services
from pipeline.models import Lead, Opportunity

pytestmark = pytest.mark.django_db

LEADS = reverse("pipeline:leads")


@pytest.fixture
def org():
    return build_org()


@pytest.fixture
def sdr_client(client, org):
    client.force_login(org.sdr)
    return client


def test_the_inbox_lists_the_reps_open_leads_with_the_time_they_have_waited(sdr_client, org):
    services.lead_create(name="Closed one", assigned_to=org.sdr)
    Lead.objects.filter(name="Closed one").update(status="disqualified")
    response = sdr_client.get(LEADS)
    assert response.status_code == 200
    inbox = response.context["inbox"]
    assert [row.lead for row in inbox.waiting] == [org.lead]
    assert inbox.answered == []
    html = response.content.decode()
    # The server renders the waiting time, and the start as ISO 8601 for static/js/clock.js.
    assert re.search(r'data-since="[^"]+"[^>]*>42 min</strong>', html)
    since = timezone.localtime(org.lead.received_at).isoformat()
    assert f'data-since="{since}"' in html
    assert 'id="wait-formats"' in html
    assert "js/clock.js" in html
    assert "Gamma lead" not in html  # Another team's.


def test_waiting_times_read_in_hours_and_days(sdr_client, org):
    services.lead_create(
        name="Old",
        assigned_to=org.sdr,
        received_at=timezone.now() - dt.timedelta(days=2, hours=3, minutes=10),
    )
    services.lead_create(
        name="Morning", assigned_to=org.sdr, received_at=timezone.now() - dt.timedelta(hours=3)
    )
    html = sdr_client.get(LEADS).content.decode()
    assert ">2 d 3 h</strong>" in html
    assert ">3 h 0 min</strong>" in html


def test_one_tap_responds_with_a_call_and_marks_the_lead_contacted(sdr_client, org):
    response = sdr_client.post(
        reverse("pipeline:lead_respond", args=[org.lead.pk]), {"kind": "call"}
    )
    assert response.status_code == 302
    assert response.url == LEADS
    call = Activity.objects.get(lead=org.lead)
    assert (call.kind, call.status, call.direction, call.owner) == (
        "call",
        "completed",
        "outbound",
        org.sdr,
    )
    assert (call.contact, call.company) == (org.contact, org.company)
    org.lead.refresh_from_db()
    assert org.lead.status == "contacted"
    page = sdr_client.get(LEADS)
    assert [row.lead for row in page.context["inbox"].answered] == [org.lead]
    assert "Call logged for Webbförfrågan Acme." in page.content.decode()
    assert "Answered in 42 min" in page.content.decode()


def test_an_email_response_is_logged_as_an_email(sdr_client, org):
    sdr_client.post(reverse("pipeline:lead_respond", args=[org.lead.pk]), {"kind": "email"})
    assert Activity.objects.get(lead=org.lead).kind == "email"


def test_a_response_other_than_a_call_or_an_email_is_refused(sdr_client, org):
    response = sdr_client.post(
        reverse("pipeline:lead_respond", args=[org.lead.pk]), {"kind": "lunch"}, follow=True
    )
    assert "Answer a lead with a call or an email." in response.content.decode()
    assert not Activity.objects.filter(lead=org.lead).exists()


def test_a_closed_lead_is_not_answered(sdr_client, org):
    Lead.objects.filter(pk=org.lead.pk).update(status="converted")
    response = sdr_client.post(
        reverse("pipeline:lead_respond", args=[org.lead.pk]), {"kind": "call"}, follow=True
    )
    assert "This lead is closed (Converted)." in response.content.decode()
    assert not Activity.objects.filter(lead=org.lead).exists()


def test_an_answered_lead_keeps_its_status_when_answered_again(sdr_client, org):
    services.lead_update(lead=org.lead, status="qualified")
    sdr_client.post(reverse("pipeline:lead_respond", args=[org.lead.pk]), {"kind": "call"})
    org.lead.refresh_from_db()
    assert org.lead.status == "qualified"


def test_convert_opens_a_prefilled_form(sdr_client, org):
    response = sdr_client.get(reverse("pipeline:lead_convert", args=[org.lead.pk]))
    form = response.context["form"]
    assert form["name"].value() == "Webbförfrågan Acme"
    assert form["who"].value() == "Karin Lind"
    assert form["contact"].value() == org.contact.pk
    assert form["owner"].value() == org.sdr.pk


def test_converting_creates_the_opportunity_for_a_teammate_and_closes_the_lead(sdr_client, org):
    response = sdr_client.post(
        reverse("pipeline:lead_convert", args=[org.lead.pk]),
        {
            "name": "Acme servicepaket",
            "who": "Karin Lind",
            "contact": org.contact.pk,
            "amount": "80 000",
            "stage": "",
            "owner": org.ae.pk,
            "kind": "new_business",
            "channel": "inside",
        },
    )
    assert response.status_code == 200  # No stage chosen: the form asks for one.
    assert "stage" in response.context["form"].errors
    assert 'value="80 000"' in response.content.decode()

    stage = response.context["form"].fields["stage"].queryset.first()
    response = sdr_client.post(
        reverse("pipeline:lead_convert", args=[org.lead.pk]),
        {
            "name": "Acme servicepaket",
            "who": "Karin Lind",
            "contact": org.contact.pk,
            "amount": "80 000",
            "stage": stage.pk,
            "owner": org.ae.pk,
            "kind": "new_business",
            "channel": "inside",
        },
    )
    opp = Opportunity.objects.get(name="Acme servicepaket")
    assert response.status_code == 302
    assert response.url == reverse("pipeline:opportunity_detail", args=[opp.pk])
    assert (opp.owner, opp.created_by, opp.lead, opp.company) == (
        org.ae,
        org.sdr,
        org.lead,
        org.company,
    )
    assert opp.amount == Decimal("80000")
    assert opp.lead_source == org.lead.source
    org.lead.refresh_from_db()
    assert org.lead.status == "converted"
    # The SDR who converted it may open the deal.
    assert sdr_client.get(response.url).status_code == 200


def test_convert_needs_a_customer(sdr_client, org):
    lead = services.lead_create(name="Anonym förfrågan", assigned_to=org.sdr)
    response = sdr_client.post(
        reverse("pipeline:lead_convert", args=[lead.pk]),
        {"name": "X", "who": "", "stage": "", "owner": org.sdr.pk, "kind": "new_business"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["who"] == [
        "Pick the customer: a company or one of its contacts."
    ]


def test_another_teams_lead_is_not_found_and_a_teammates_is_forbidden(client, org):
    teammate_lead = services.lead_create(name="Annas lead", assigned_to=org.ae2)
    client.force_login(org.sdr)
    for view in ("lead_respond", "lead_convert"):
        assert client.post(reverse(f"pipeline:{view}", args=[org.other_lead.pk])).status_code == (
            404
        )
        assert client.post(reverse(f"pipeline:{view}", args=[teammate_lead.pk])).status_code == (
            403
        )
    assert not Activity.objects.exists()


def test_the_teams_manager_may_answer_a_members_lead(client, org):
    client.force_login(org.manager)
    response = client.post(reverse("pipeline:lead_respond", args=[org.lead.pk]), {"kind": "call"})
    assert response.status_code == 302
    assert Activity.objects.get(lead=org.lead).owner == org.manager


def test_an_answered_lead_counts_as_answered_in_the_inbox(sdr_client, org):
    activity_services.activity_log(owner=org.sdr, kind="email", lead=org.lead)
    inbox = sdr_client.get(LEADS).context["inbox"]
    assert inbox.waiting == []
    assert inbox.answered[0].response_seconds is not None
