"""Logging, booking, editing, completing, cancelling and deleting activities."""

from __future__ import annotations

import datetime as dt
import re
from datetime import UTC

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import timezone

from activities.models import Activity
from activities.services import (
    activity_book,
    activity_cancel,
    activity_complete,
    activity_delete,
    activity_log,
    activity_update,
)
from activities.tests.factories import ActivityFactory
from people.tests.factories import UserFactory
from pipeline.services import lead_create, opportunity_create
from pipeline.tests.factories import CompanyFactory, ContactFactory

pytestmark = pytest.mark.django_db

AT = dt.datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # Monday 10:00 in Stockholm.
MEETING_AT = dt.datetime(2026, 12, 3, 13, 0, tzinfo=UTC)


@pytest.fixture
def rep():
    return UserFactory(role="ae")


@pytest.fixture
def sdr():
    return UserFactory(role="sdr")


@pytest.fixture
def company():
    return CompanyFactory(name="Acme AB")


@pytest.fixture
def booking(sdr, rep):
    """A meeting the SDR booked on 2026-11-02 for the AE, planned for 2026-12-03."""
    return activity_book(
        booked_by=sdr, owner=rep, kind="meeting", occurred_at=MEETING_AT, booked_at=AT
    )


def _row(activity) -> dict:
    """The stored row, to show a refused write left it exactly as it was."""
    return Activity.objects.filter(pk=activity.pk).values().get()


# ---------------------------------------------------------------------------
# activity_log: local days
# ---------------------------------------------------------------------------
def test_activity_log_stores_the_activity_as_completed_by_default(rep):
    call = activity_log(
        owner=rep, kind="call", occurred_at=AT, outcome="connected", duration_seconds=200
    )

    stored = _row(call)
    assert stored["status"] == "completed"
    assert stored["owner_id"] == rep.pk
    assert (stored["outcome"], stored["duration_seconds"]) == ("connected", 200)
    assert (stored["booked_by_id"], stored["booked_at"], stored["booked_day"]) == (None,) * 3


def test_call_late_on_sunday_utc_falls_on_monday_in_site_time(rep):
    call = activity_log(
        owner=rep, kind="call", occurred_at=dt.datetime(2026, 11, 29, 23, 30, tzinfo=UTC)
    )

    assert _row(call)["occurred_day"] == dt.date(2026, 11, 30)


@pytest.mark.parametrize(
    ("occurred_at", "local_day"),
    [
        # 2026-03-29: clocks go forward at 01:00 UTC; the local day lasts 23 hours,
        # from 2026-03-28 23:00 UTC (00:00 CET) to 2026-03-29 22:00 UTC (00:00 CEST).
        (dt.datetime(2026, 3, 28, 22, 59, tzinfo=UTC), dt.date(2026, 3, 28)),
        (dt.datetime(2026, 3, 28, 23, 0, tzinfo=UTC), dt.date(2026, 3, 29)),
        (dt.datetime(2026, 3, 29, 0, 59, tzinfo=UTC), dt.date(2026, 3, 29)),  # 01:59 CET
        (dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC), dt.date(2026, 3, 29)),  # 03:00 CEST
        (dt.datetime(2026, 3, 29, 21, 59, tzinfo=UTC), dt.date(2026, 3, 29)),  # 23:59 CEST
        (dt.datetime(2026, 3, 29, 22, 0, tzinfo=UTC), dt.date(2026, 3, 30)),
    ],
)
def test_call_on_the_spring_dst_day_falls_on_its_local_day(rep, occurred_at, local_day):
    call = activity_log(owner=rep, kind="call", occurred_at=occurred_at)

    assert _row(call)["occurred_day"] == local_day


# ---------------------------------------------------------------------------
# activity_log: the company of a linked object
# ---------------------------------------------------------------------------
def test_activity_with_a_contact_but_no_company_takes_the_contacts_company(rep):
    contact = ContactFactory()

    meeting = activity_log(owner=rep, kind="meeting", occurred_at=AT, contact=contact)

    assert _row(meeting)["company_id"] == contact.company_id


def test_activity_with_a_lead_but_no_company_takes_the_leads_company(rep, sdr, company):
    lead = lead_create(name="Inbound", assigned_to=sdr, company=company, received_at=AT)

    call = activity_log(owner=sdr, kind="call", occurred_at=AT, lead=lead)

    assert _row(call)["company_id"] == company.pk


def test_activity_with_an_opportunity_but_no_company_takes_the_opportunitys_company(rep, company):
    opp = opportunity_create(name="Deal", company=company, owner=rep, created_by=rep, created_at=AT)

    demo = activity_log(owner=rep, kind="demo", occurred_at=AT, opportunity=opp)

    assert _row(demo)["company_id"] == company.pk


def test_activity_with_a_lead_without_company_keeps_no_company(rep, sdr):
    lead = lead_create(name="Inbound", assigned_to=sdr, received_at=AT)

    call = activity_log(owner=sdr, kind="call", occurred_at=AT, lead=lead)

    assert _row(call)["company_id"] is None


def test_activity_refuses_a_contact_of_another_company_than_the_given_one(rep, company):
    stranger = ContactFactory()

    with pytest.raises(ValidationError) as excinfo:
        activity_log(owner=rep, kind="call", occurred_at=AT, company=company, contact=stranger)

    assert excinfo.value.message_dict == {
        "contact": ["This contact belongs to another company than the activity."]
    }
    assert Activity.objects.count() == 0


def test_activity_refuses_links_that_point_at_different_companies(rep, company):
    opp = opportunity_create(name="Deal", company=company, owner=rep, created_by=rep, created_at=AT)
    stranger = ContactFactory()

    with pytest.raises(ValidationError) as excinfo:
        activity_log(owner=rep, kind="call", occurred_at=AT, opportunity=opp, contact=stranger)

    assert list(excinfo.value.message_dict) == ["contact"]
    assert Activity.objects.count() == 0


# ---------------------------------------------------------------------------
# activity_log: each database constraint has a clear service-level refusal
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"kind": "email", "outcome": "connected"},
            "Call outcome and duration apply to calls only.",
        ),
        (
            {"kind": "email", "duration_seconds": 60},
            "Call outcome and duration apply to calls only.",
        ),
        ({"kind": "call", "replied": True}, "Replied and clicked apply to emails only."),
        ({"kind": "meeting", "clicked": True}, "Replied and clicked apply to emails only."),
        (
            {"kind": "call", "mode": "physical"},
            "Mode (in person / remote) applies to meetings and demos only.",
        ),
        (
            {"kind": "lunch", "mode": "digital"},
            "Mode (in person / remote) applies to meetings and demos only.",
        ),
        (
            {"kind": "meeting", "status": "planned", "booked_at": AT},
            "A booking needs both who booked it and when.",
        ),
    ],
    ids=[
        "outcome-on-email",
        "duration-on-email",
        "replied-on-call",
        "clicked-on-meeting",
        "mode-on-call",
        "mode-on-lunch",
        "booked-at-without-booked-by",
    ],
)
def test_activity_log_refuses_fields_that_do_not_fit_the_kind(rep, fields, message):
    with pytest.raises(ValidationError) as excinfo:
        activity_log(owner=rep, occurred_at=AT, **fields)

    assert excinfo.value.message_dict == {NON_FIELD_ERRORS: [message]}
    assert Activity.objects.count() == 0


def test_activity_log_refuses_a_booking_without_booked_at(rep, sdr):
    with pytest.raises(ValidationError) as excinfo:
        activity_log(owner=rep, kind="meeting", status="planned", occurred_at=AT, booked_by=sdr)

    assert excinfo.value.messages == ["A booking needs both who booked it and when."]
    assert Activity.objects.count() == 0


def test_activity_log_refuses_a_negative_duration_on_the_field(rep):
    with pytest.raises(ValidationError) as excinfo:
        activity_log(owner=rep, kind="call", occurred_at=AT, duration_seconds=-30)

    assert list(excinfo.value.message_dict) == ["duration_seconds"]
    assert "greater than or equal to 0" in excinfo.value.message_dict["duration_seconds"][0]
    assert Activity.objects.count() == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("kind", "fax"),
        ("status", "postponed"),
        ("direction", "sideways"),
        ("outcome", "hung_up"),
        ("mode", "hologram"),
    ],
)
def test_activity_log_refuses_an_unknown_choice_on_the_field(rep, field, value):
    fields = {"kind": "meeting" if field == "mode" else "call", field: value}

    with pytest.raises(ValidationError) as excinfo:
        activity_log(owner=rep, occurred_at=AT, **fields)

    assert list(excinfo.value.message_dict) == [field]
    assert f"Value '{value}' is not a valid choice." in excinfo.value.message_dict[field]
    assert Activity.objects.count() == 0


def test_activity_log_refuses_a_duplicate_external_id(rep):
    activity_log(owner=rep, kind="call", occurred_at=AT, external_id="tel-42")

    with pytest.raises(ValidationError) as excinfo:
        activity_log(owner=rep, kind="call", occurred_at=AT, external_id="tel-42")

    assert re.search(r"external[ _]id", str(excinfo.value.messages), re.IGNORECASE)
    assert Activity.objects.count() == 1


# ---------------------------------------------------------------------------
# activity_book
# ---------------------------------------------------------------------------
def test_activity_book_creates_a_planned_booking_for_the_owner(booking, sdr, rep):
    stored = _row(booking)

    assert stored["status"] == "planned"
    assert stored["owner_id"] == rep.pk
    assert stored["booked_by_id"] == sdr.pk
    assert stored["booked_at"] == AT
    assert stored["booked_day"] == dt.date(2026, 11, 2)
    assert stored["occurred_at"] == MEETING_AT
    assert stored["occurred_day"] == dt.date(2026, 12, 3)


def test_activity_book_stores_booked_day_in_site_time(sdr, rep):
    demo = activity_book(
        booked_by=sdr,
        owner=rep,
        kind="demo",
        occurred_at=MEETING_AT,
        booked_at=dt.datetime(2026, 11, 29, 23, 30, tzinfo=UTC),
    )

    assert _row(demo)["booked_day"] == dt.date(2026, 11, 30)


def test_activity_book_is_booked_now_by_default(sdr, rep):
    start = timezone.now()

    lunch = activity_book(booked_by=sdr, owner=rep, kind="lunch", occurred_at=MEETING_AT)

    assert start <= lunch.booked_at <= timezone.now()
    assert lunch.booked_day == timezone.localdate(lunch.booked_at)


@pytest.mark.parametrize("kind", ["call", "email"])
def test_activity_book_refuses_calls_and_emails(sdr, rep, kind):
    with pytest.raises(ValidationError) as excinfo:
        activity_book(booked_by=sdr, owner=rep, kind=kind, occurred_at=MEETING_AT, booked_at=AT)

    assert excinfo.value.messages == ["Only meetings, demos and lunches are booked."]
    assert Activity.objects.count() == 0


# ---------------------------------------------------------------------------
# activity_complete / activity_cancel: only from planned
# ---------------------------------------------------------------------------
def test_activity_complete_marks_a_planned_booking_done(booking):
    held_at = MEETING_AT + dt.timedelta(days=1)

    done = activity_complete(activity=booking, occurred_at=held_at, mode="physical")

    stored = _row(done)
    assert stored["status"] == "completed"
    assert stored["mode"] == "physical"
    assert (stored["occurred_at"], stored["occurred_day"]) == (held_at, dt.date(2026, 12, 4))
    assert stored["booked_day"] == dt.date(2026, 11, 2)  # The booking itself is unchanged.


def test_activity_complete_keeps_the_planned_time_by_default(booking):
    done = activity_complete(activity=booking)

    assert _row(done)["occurred_at"] == MEETING_AT


def test_activity_complete_refuses_a_completed_activity(rep):
    call = activity_log(owner=rep, kind="call", occurred_at=AT)

    with pytest.raises(ValidationError) as excinfo:
        activity_complete(activity=call)

    assert excinfo.value.message_dict == {"status": ["Only a planned activity can be completed."]}


def test_activity_complete_refuses_a_cancelled_activity(booking):
    activity_cancel(activity=booking)
    before = _row(booking)

    with pytest.raises(ValidationError) as excinfo:
        activity_complete(activity=booking)  # `booking` is the stale, still planned instance.

    assert excinfo.value.message_dict == {"status": ["Only a planned activity can be completed."]}
    assert _row(booking) == before


def test_activity_cancel_cancels_a_planned_booking(booking):
    cancelled = activity_cancel(activity=booking)

    assert _row(cancelled)["status"] == "cancelled"


def test_activity_cancel_refuses_a_completed_activity(rep):
    call = activity_log(owner=rep, kind="call", occurred_at=AT)

    with pytest.raises(ValidationError) as excinfo:
        activity_cancel(activity=call)

    assert excinfo.value.message_dict == {"status": ["Only a planned activity can be cancelled."]}
    assert _row(call)["status"] == "completed"


def test_activity_cancel_refuses_a_cancelled_activity(booking):
    activity_cancel(activity=booking)

    with pytest.raises(ValidationError):
        activity_cancel(activity=booking)


# ---------------------------------------------------------------------------
# activity_update / activity_delete
# ---------------------------------------------------------------------------
def test_activity_update_re_dates_and_recomputes_the_local_day(rep):
    call = activity_log(owner=rep, kind="call", occurred_at=AT)

    activity_update(activity=call, occurred_at=dt.datetime(2026, 11, 29, 23, 30, tzinfo=UTC))

    assert _row(call)["occurred_day"] == dt.date(2026, 11, 30)


def test_activity_update_re_validates_and_writes_nothing_on_bad_input(rep):
    email = activity_log(owner=rep, kind="email", occurred_at=AT, subject="Offer")
    before = _row(email)

    with pytest.raises(ValidationError) as excinfo:
        activity_update(activity=email, outcome="connected", subject="Changed")

    assert excinfo.value.messages == ["Call outcome and duration apply to calls only."]
    assert _row(email) == before


def test_activity_update_refuses_a_kind_change_that_leaves_fields_of_the_old_kind(rep):
    call = activity_log(
        owner=rep, kind="call", occurred_at=AT, outcome="connected", duration_seconds=90
    )
    before = _row(call)

    with pytest.raises(ValidationError):
        activity_update(activity=call, kind="email")

    assert _row(call) == before


def test_activity_update_refuses_a_negative_duration_and_writes_nothing(rep):
    call = activity_log(owner=rep, kind="call", occurred_at=AT, duration_seconds=90)
    before = _row(call)

    with pytest.raises(ValidationError) as excinfo:
        activity_update(activity=call, duration_seconds=-1)

    assert "duration_seconds" in excinfo.value.message_dict
    assert _row(call) == before


def test_activity_update_refuses_fields_that_are_not_editable(rep):
    call = activity_log(owner=rep, kind="call", occurred_at=AT)

    with pytest.raises(TypeError, match="occurred_day"):
        activity_update(activity=call, occurred_day=dt.date(2020, 1, 1))

    assert _row(call)["occurred_day"] == AT.date()


def test_activity_update_infers_the_company_of_a_newly_linked_contact(rep):
    call = activity_log(owner=rep, kind="call", occurred_at=AT)
    contact = ContactFactory()

    activity_update(activity=call, contact=contact)

    assert _row(call)["company_id"] == contact.company_id


def test_activity_delete_removes_the_activity(rep):
    call = ActivityFactory(owner=rep)
    other = ActivityFactory(owner=rep)

    activity_delete(activity=call)

    assert list(Activity.objects.values_list("pk", flat=True)) == [other.pk]
