"""The database refuses activity rows the services would refuse (model validation bypassed).

The matching service-level refusals, with their messages, are in `test_services.py`.
"""

from __future__ import annotations

import datetime as dt
from datetime import UTC

import pytest
from django.db import IntegrityError, transaction

from activities.models import Activity
from people.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

AT = dt.datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def rep():
    return UserFactory()


def _activity(owner, **fields) -> Activity:
    """An unsaved, valid completed call (local day filled in, as the services do)."""
    values = {
        "owner": owner,
        "kind": "call",
        "status": "completed",
        "occurred_at": AT,
        "occurred_day": AT.date(),
    }
    values.update(fields)
    return Activity(**values)


REP = object()  # Stands for the test's rep in the parametrized rows below.


def _booking(**fields) -> dict:
    return {
        "kind": "meeting",
        "status": "planned",
        "booked_by": REP,
        "booked_at": AT,
        "booked_day": AT.date(),
    } | fields


def test_a_valid_row_is_accepted(rep):
    # The baseline the refusals below differ from by one field.
    Activity.objects.bulk_create(
        [
            _activity(rep, outcome="connected", duration_seconds=240),
            _activity(rep, kind="email", replied=True, clicked=True),
            _activity(rep, **_booking(booked_by=rep, mode="digital")),
            _activity(rep, **_booking(booked_by=rep, kind="lunch")),
        ]
    )

    assert Activity.objects.count() == 4


CHECKS = [
    ({"kind": "fax"}, "activity_kind_valid"),
    ({"status": "postponed"}, "activity_status_valid"),
    ({"direction": "sideways"}, "activity_direction_valid"),
    ({"outcome": "hung_up"}, "activity_outcome_valid"),
    ({"kind": "meeting", "mode": "hologram"}, "activity_mode_valid"),
    ({"kind": "email", "outcome": "connected"}, "activity_call_fields_only_on_calls"),
    ({"kind": "meeting", "duration_seconds": 600}, "activity_call_fields_only_on_calls"),
    ({"kind": "call", "replied": True}, "activity_email_fields_only_on_emails"),
    ({"kind": "meeting", "clicked": True}, "activity_email_fields_only_on_emails"),
    ({"kind": "call", "mode": "physical"}, "activity_mode_only_on_meetings_demos"),
    ({"kind": "lunch", "mode": "physical"}, "activity_mode_only_on_meetings_demos"),
    (_booking(booked_at=None, booked_day=None), "activity_booking_complete"),
    (_booking(booked_by=None), "activity_booking_complete"),
    (_booking(booked_day=None), "activity_booking_complete"),
    (_booking(kind="call"), "activity_only_meetings_demos_lunches_booked"),
    (_booking(kind="email"), "activity_only_meetings_demos_lunches_booked"),
]
CHECK_IDS = [
    "kind",
    "status",
    "direction",
    "outcome",
    "mode",
    "outcome-on-email",
    "duration-on-meeting",
    "replied-on-call",
    "clicked-on-meeting",
    "mode-on-call",
    "mode-on-lunch",
    "booked-by-without-booked-at",
    "booked-at-without-booked-by",
    "booking-without-booked-day",
    "booked-call",
    "booked-email",
]


@pytest.mark.parametrize(("fields", "constraint"), CHECKS, ids=CHECK_IDS)
def test_database_refuses_an_activity_breaking_a_check(rep, fields, constraint):
    bad = _activity(rep, **{name: rep if value is REP else value for name, value in fields.items()})

    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        Activity.objects.bulk_create([bad])

    # SQLite: "CHECK constraint failed: <name>";
    # PostgreSQL: '... violates check constraint "<name>"'.
    assert constraint in str(excinfo.value)
    assert Activity.objects.count() == 0


def test_database_refuses_a_negative_duration(rep):
    # Both the column's own check (PositiveIntegerField) and `activity_duration_gte_0` forbid it.
    with pytest.raises(IntegrityError), transaction.atomic():
        Activity.objects.bulk_create([_activity(rep, duration_seconds=-1)])

    assert Activity.objects.count() == 0


def test_database_refuses_a_duplicate_external_id(rep):
    _activity(rep, external_id="tel-42").save()
    duplicate = _activity(rep, external_id="tel-42")

    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()

    assert Activity.objects.count() == 1


def test_database_accepts_many_activities_without_external_id(rep):
    Activity.objects.bulk_create([_activity(rep), _activity(rep)])

    assert Activity.objects.filter(external_id="").count() == 2
