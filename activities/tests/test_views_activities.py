"""The activity pages: quick log, booking, My day and week, complete, cancel, edit, delete."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils import timezone

from activities import services
from activities.models import Activity, ActivityChange
from kpis.models import Target
from kpis.periods import period_containing
from kpis.workdays import working_days_in_period
from people.tests.workspace import build_org
from pipeline import services as pipeline_services

pytestmark = pytest.mark.django_db

LOG = reverse("activities:log")
BOOK = reverse("activities:book")


@pytest.fixture
def org():
    return build_org()


@pytest.fixture
def ae_client(client, org):
    client.force_login(org.ae)
    return client


def _now_input() -> str:
    return timezone.localtime().strftime("%Y-%m-%dT%H:%M")


# ---------------------------------------------------------------------------
# Quick log
# ---------------------------------------------------------------------------
def test_quick_log_opens_on_a_call_with_now_outbound_and_done_preselected(ae_client):
    response = ae_client.get(LOG)
    assert response.status_code == 200
    form = response.context["form"]
    assert response.context["kind"] == "call"
    assert set(form.fields) >= {"outcome", "duration", "who", "status", "direction"}
    assert not {"replied", "clicked", "mode"} & set(form.fields)
    assert form["status"].value() == "completed"
    assert form["direction"].value() == "outbound"
    shown = form["occurred_at"].value()  # In site time, as the input shows it.
    assert abs(shown - timezone.localtime().replace(tzinfo=None)) < dt.timedelta(minutes=1)
    html = response.content.decode()
    assert 'aria-current="page">Call</a>' in html


@pytest.mark.parametrize(
    ("kind", "present", "absent"),
    [
        ("email", {"replied", "clicked"}, {"outcome", "duration", "mode"}),
        ("meeting", {"mode"}, {"outcome", "duration", "replied"}),
        ("demo", {"mode"}, {"outcome", "replied"}),
        ("lunch", set(), {"outcome", "duration", "replied", "clicked", "mode"}),
    ],
)
def test_each_kind_shows_only_its_own_fields(ae_client, kind, present, absent):
    form = ae_client.get(LOG, {"kind": kind}).context["form"]
    assert present <= set(form.fields)
    assert not absent & set(form.fields)


def test_a_call_is_logged_with_outcome_and_duration_typed_as_mm_ss(ae_client, org):
    response = ae_client.post(
        f"{LOG}?kind=call",
        {
            "kind": "call",
            "outcome": "connected",
            "duration": "4:30",
            "who": "Karin Lind",
            "company": "",
            "contact": org.contact.pk,
            "subject": "Uppföljning",
            "occurred_at": _now_input(),
            "status": "completed",
            "direction": "outbound",
        },
    )
    assert response.status_code == 302
    assert response.url == reverse("home")
    call = Activity.objects.get(owner=org.ae, subject="Uppföljning")
    assert (call.kind, call.status, call.direction) == ("call", "completed", "outbound")
    assert (call.outcome, call.duration_seconds) == ("connected", 270)
    assert (call.contact, call.company) == (org.contact, org.company)
    change = ActivityChange.objects.get(activity_id_ref=call.pk)
    assert (change.action, change.changed_by) == ("created", org.ae)


def test_save_and_log_another_returns_to_an_empty_form_of_the_same_kind(ae_client, org):
    response = ae_client.post(
        f"{LOG}?kind=email",
        {
            "kind": "email",
            "replied": "on",
            "occurred_at": _now_input(),
            "status": "completed",
            "direction": "outbound",
            "another": "1",
        },
    )
    assert response.status_code == 302
    assert response.url == f"{LOG}?kind=email"
    email = Activity.objects.get(owner=org.ae)
    assert (email.kind, email.replied, email.clicked) == ("email", True, False)
    follow = ae_client.get(response.url)
    assert "Email logged." in follow.content.decode()


@pytest.mark.parametrize("typed", ["4.30", "4,30", "0:04:30", "04:30"])
def test_duration_accepts_the_ways_people_type_minutes_and_seconds(ae_client, org, typed):
    ae_client.post(
        LOG,
        {
            "kind": "call",
            "duration": typed,
            "occurred_at": _now_input(),
            "status": "completed",
            "direction": "outbound",
        },
    )
    assert Activity.objects.get(owner=org.ae).duration_seconds == 270


def test_an_invalid_duration_re_renders_the_form_with_the_error_and_the_input_kept(ae_client, org):
    response = ae_client.post(
        f"{LOG}?kind=call",
        {
            "kind": "call",
            "outcome": "connected",
            "duration": "4:75",
            "subject": "Samtal med Karin",
            "notes": "Vill ha offert",
            "occurred_at": _now_input(),
            "status": "completed",
            "direction": "outbound",
        },
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["duration"] == ["Enter the duration as mm:ss, for example 4:30."]
    html = response.content.decode()
    assert 'value="4:75"' in html
    assert 'value="Samtal med Karin"' in html
    assert "Vill ha offert</textarea>" in html
    assert re.search(r'<input[^>]*value="connected"[^>]*checked', html)
    assert 'aria-invalid="true"' in html
    assert not Activity.objects.filter(owner=org.ae).exists()


def test_a_service_rule_is_shown_on_the_form(ae_client, org):
    # The lead's company and the opportunity's differ: the service refuses the pair.
    other_lead = pipeline_services.lead_create(
        name="Delta inbound", assigned_to=org.ae, company=org.shared_company
    )
    response = ae_client.post(
        LOG,
        {
            "kind": "call",
            "occurred_at": _now_input(),
            "status": "completed",
            "direction": "outbound",
            "lead": other_lead.pk,
            "opportunity": org.opportunity.pk,
        },
    )
    assert response.status_code == 200
    assert "belongs to another company" in response.content.decode()
    assert not Activity.objects.filter(owner=org.ae).exists()


def test_a_typed_name_is_resolved_without_javascript(ae_client, org):
    ae_client.post(
        LOG,
        {
            "kind": "call",
            "who": "delta logistik ab",
            "occurred_at": _now_input(),
            "status": "completed",
            "direction": "outbound",
        },
    )
    assert Activity.objects.get(owner=org.ae).company == org.shared_company


def test_an_unknown_name_asks_to_pick_from_the_suggestions(ae_client, org):
    response = ae_client.post(
        LOG,
        {
            "kind": "call",
            "who": "Nobody AB",
            "occurred_at": _now_input(),
            "status": "completed",
            "direction": "outbound",
        },
    )
    assert response.status_code == 200
    assert "none is named “Nobody AB”" in response.content.decode()
    assert 'value="Nobody AB"' in response.content.decode()


def test_another_teams_company_cannot_be_picked_by_id(ae_client, org):
    response = ae_client.post(
        LOG,
        {
            "kind": "call",
            "who": org.other_company.name,
            "company": org.other_company.pk,
            "occurred_at": _now_input(),
            "status": "completed",
            "direction": "outbound",
        },
    )
    assert response.status_code == 200
    assert "company" in response.context["form"].errors
    assert not Activity.objects.filter(owner=org.ae).exists()


def test_links_offer_only_the_reps_own_open_leads_and_deals(client, org):
    client.force_login(org.sdr)
    form = client.get(LOG).context["form"]
    assert list(form.fields["lead"].queryset) == [org.lead]
    assert list(form.fields["opportunity"].queryset) == []
    client.force_login(org.ae)
    form = client.get(LOG).context["form"]
    assert list(form.fields["lead"].queryset) == []
    assert list(form.fields["opportunity"].queryset) == [org.opportunity]


def test_a_lead_link_is_prefilled_from_the_inbox(client, org):
    client.force_login(org.sdr)
    response = client.get(LOG, {"lead": org.lead.pk})
    assert response.context["form"]["lead"].value() == str(org.lead.pk)
    assert response.context["form"].more_open


def test_a_lead_of_someone_else_cannot_be_linked(client, org):
    client.force_login(org.ae)
    response = client.post(
        LOG,
        {
            "kind": "email",
            "lead": org.lead.pk,  # The SDR's.
            "occurred_at": _now_input(),
            "status": "completed",
            "direction": "outbound",
        },
    )
    assert response.status_code == 200
    assert "lead" in response.context["form"].errors


# ---------------------------------------------------------------------------
# Bookings
# ---------------------------------------------------------------------------
def _book(client, org, owner, **extra):
    data = {
        "kind": "meeting",
        "owner": owner.pk,
        "occurred_at": (timezone.localtime() + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "mode": "digital",
        "who": "Karin Lind",
        "contact": org.contact.pk,
        "subject": "Behovsanalys",
    }
    data.update(extra)
    return client.post(BOOK, data)


def test_an_sdr_books_a_meeting_for_an_ae_of_the_team(client, org):
    client.force_login(org.sdr)
    response = _book(client, org, org.ae)
    assert response.status_code == 302
    meeting = Activity.objects.get(subject="Behovsanalys")
    assert (meeting.owner, meeting.booked_by, meeting.status) == (org.ae, org.sdr, "planned")
    assert meeting.mode == "digital"
    assert meeting.booked_at is not None
    follow = client.get(reverse("home"))
    assert "Meeting booked for Erik Ek." in follow.content.decode()


def test_the_booking_can_only_be_for_the_reps_own_team(client, org):
    client.force_login(org.sdr)
    form = client.get(BOOK).context["form"]
    assert set(form.fields["owner"].queryset) == {org.sdr, org.ae, org.ae2}
    response = _book(client, org, org.other_rep)
    assert response.status_code == 200
    assert "owner" in response.context["form"].errors
    assert not Activity.objects.exists()


def test_a_booked_meeting_is_due_in_the_owners_day_and_listed_in_the_bookers_week(client, org):
    meeting = services.activity_book(
        booked_by=org.sdr,
        owner=org.ae,
        kind="meeting",
        occurred_at=timezone.now() - dt.timedelta(minutes=5),
        subject="Behovsanalys",
    )
    client.force_login(org.ae)
    day = client.get(reverse("home")).context["day"]
    assert day.due == [meeting]
    client.force_login(org.sdr)
    assert client.get(reverse("home")).context["day"].due == []
    week = client.get(reverse("activities:week")).context["week"]
    assert week.booked_for_others == [meeting]


def test_the_owner_completes_a_booked_meeting_with_how_it_went(client, org):
    meeting = services.activity_book(
        booked_by=org.sdr, owner=org.ae, kind="meeting", occurred_at=timezone.now()
    )
    client.force_login(org.ae)
    url = reverse("activities:complete", args=[meeting.pk])
    assert client.get(url).status_code == 200
    response = client.post(
        url, {"mode": "physical", "occurred_at": _now_input(), "notes": "Offert nästa vecka"}
    )
    assert response.status_code == 302
    meeting.refresh_from_db()
    assert (meeting.status, meeting.mode, meeting.notes) == (
        "completed",
        "physical",
        "Offert nästa vecka",
    )
    assert ActivityChange.objects.filter(
        activity_id_ref=meeting.pk, action="completed", changed_by=org.ae
    ).exists()


def test_completing_twice_shows_the_services_refusal(client, org):
    meeting = services.activity_book(
        booked_by=org.sdr, owner=org.ae, kind="meeting", occurred_at=timezone.now()
    )
    services.activity_complete(activity=meeting)
    client.force_login(org.ae)
    response = client.post(
        reverse("activities:complete", args=[meeting.pk]), {"occurred_at": _now_input()}
    )
    assert response.status_code == 200
    assert "Only a planned activity can be completed." in response.content.decode()


def test_the_owner_cancels_a_planned_meeting(client, org):
    meeting = services.activity_book(
        booked_by=org.sdr, owner=org.ae, kind="meeting", occurred_at=timezone.now()
    )
    client.force_login(org.ae)
    response = client.post(reverse("activities:cancel", args=[meeting.pk]), {"next": "/"})
    assert response.status_code == 302
    assert response.url == "/"
    meeting.refresh_from_db()
    assert meeting.status == "cancelled"


def test_cancel_ignores_a_next_url_of_another_site(client, org):
    meeting = services.activity_book(
        booked_by=org.sdr, owner=org.ae, kind="meeting", occurred_at=timezone.now()
    )
    client.force_login(org.ae)
    response = client.post(
        reverse("activities:cancel", args=[meeting.pk]), {"next": "https://evil.example/"}
    )
    assert response.url == reverse("home")


# ---------------------------------------------------------------------------
# My day and My week
# ---------------------------------------------------------------------------
def test_my_day_counts_today_against_the_daily_pace_of_the_week_target(client, org):
    today = timezone.localdate()
    Target.objects.create(
        kpi="calls_made",
        scope="rep",
        rep=org.ae,
        period="week",
        value=Decimal(40),
        valid_from=today - dt.timedelta(days=today.weekday()),
    )
    services.activity_log(owner=org.ae, kind="call", outcome="connected")
    services.activity_log(owner=org.ae, kind="call", direction="inbound")  # Not a call made.
    client.force_login(org.ae)
    response = client.get(reverse("home"))
    counters = {c.code: c for c in response.context["day"].counters}
    working = working_days_in_period(period=period_containing("week", today))
    assert counters["calls_made"].value == 1
    assert counters["calls_made"].target == Decimal(40) / working
    assert counters["emails_sent"].target is None
    html = response.content.decode()
    assert f"of {floatformat(Decimal(40) / working, '-1')} today" in html
    assert '<span class="sr-only">No target</span>' in html


def test_my_day_falls_back_to_the_months_target(client, org):
    today = timezone.localdate()
    Target.objects.create(
        kpi="emails_sent",
        scope="role",
        role="ae",
        period="month",
        value=Decimal(84),
        valid_from=today.replace(day=1),
    )
    client.force_login(org.ae)
    counters = {c.code: c for c in client.get(reverse("home")).context["day"].counters}
    working = working_days_in_period(period=period_containing("month", today))
    assert counters["emails_sent"].target == Decimal(84) / working


def test_my_day_lists_todays_activities_and_my_week_every_day(client, org):
    call = services.activity_log(owner=org.ae, kind="call", subject="Dagens samtal")
    client.force_login(org.ae)
    assert client.get(reverse("home")).context["day"].done == [call]
    week = client.get(reverse("activities:week")).context["week"]
    assert len(week.days) == 7
    assert [a for d in week.days for a in d.activities] == [call]


# ---------------------------------------------------------------------------
# Edit, history, delete
# ---------------------------------------------------------------------------
def test_editing_an_activity_saves_and_records_only_what_changed(client, org):
    call = services.activity_log(owner=org.ae, kind="call", outcome="busy", subject="Första")
    client.force_login(org.ae)
    url = reverse("activities:edit", args=[call.pk])
    form = client.get(url).context["form"]
    data = {
        name: form[name].value() if form[name].value() is not None else "" for name in form.fields
    }
    data.update(
        {
            "outcome": "connected",
            "duration": "2:05",
            "occurred_at": timezone.localtime(call.occurred_at).strftime("%Y-%m-%dT%H:%M"),
        }
    )
    response = client.post(url, data)
    assert response.status_code == 302
    call.refresh_from_db()
    assert (call.outcome, call.duration_seconds, call.subject) == ("connected", 125, "Första")
    change = ActivityChange.objects.filter(activity_id_ref=call.pk).order_by("-id").first()
    assert change.after == {"outcome": "connected", "duration_seconds": 125}
    detail = client.get(reverse("activities:detail", args=[call.pk])).content.decode()
    assert "<del>Busy</del> → <ins>Connected</ins>" in detail


def test_a_manager_may_edit_their_teams_activities(client, org):
    call = services.activity_log(owner=org.ae, kind="call")
    client.force_login(org.manager)
    assert client.get(reverse("activities:edit", args=[call.pk])).status_code == 200


def test_deleting_asks_first_then_deletes_and_keeps_the_history(client, org):
    call = services.activity_log(owner=org.ae, kind="call", subject="Fel nummer")
    client.force_login(org.ae)
    url = reverse("activities:delete", args=[call.pk])
    assert "Delete activity?" in client.get(url).content.decode()
    response = client.post(url)
    assert response.status_code == 302
    assert not Activity.objects.filter(pk=call.pk).exists()
    assert ActivityChange.objects.filter(
        activity_id_ref=call.pk, action="deleted", changed_by=org.ae
    ).exists()
