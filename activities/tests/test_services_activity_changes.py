"""Every write of an activity through the services is recorded: who, when, what changed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from activities import services
from activities.models import Activity, ActivityChange
from activities.selectors import activity_history
from people.tests.factories import UserFactory
from pipeline.tests.factories import CompanyFactory, ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rep():
    return UserFactory(first_name="Erik", last_name="Ek")


def _changes(activity_id: int) -> list[ActivityChange]:
    return list(ActivityChange.objects.filter(activity_id_ref=activity_id).order_by("id"))


def test_logging_records_the_creation_with_its_author_and_values(rep):
    contact = ContactFactory(name="Karin Lind", company__name="Acme AB")
    call = services.activity_log(
        owner=rep,
        kind="call",
        outcome="connected",
        duration_seconds=270,
        contact=contact,
        changed_by=rep,
    )
    (change,) = _changes(call.pk)
    assert change.action == ActivityChange.Action.CREATED
    assert change.changed_by == rep
    assert change.before is None
    assert change.after["kind"] == "call"
    assert change.after["outcome"] == "connected"
    assert change.after["duration_seconds"] == 270
    assert change.after["contact"] == {"id": contact.pk, "label": "Karin Lind (Acme AB)"}
    assert change.after["company"] == {"id": contact.company_id, "label": "Acme AB"}
    assert change.after["owner"]["id"] == rep.pk
    assert "replied" not in change.after  # False and empty values are left out.


def test_callers_without_an_author_are_recorded_without_one(rep):
    call = services.activity_log(owner=rep, kind="call")
    services.activity_update(activity=call, subject="Intro")
    assert [(c.action, c.changed_by) for c in _changes(call.pk)] == [
        ("created", None),
        ("changed", None),
    ]


def test_an_update_records_only_the_fields_that_changed_with_old_and_new_values(rep):
    call = services.activity_log(owner=rep, kind="call", outcome="no_answer", subject="Intro")
    editor = UserFactory()
    services.activity_update(
        activity=call, outcome="connected", subject="Intro", duration_seconds=90, changed_by=editor
    )
    change = _changes(call.pk)[-1]
    assert change.action == "changed"
    assert change.changed_by == editor
    assert change.before == {"outcome": "no_answer", "duration_seconds": None}
    assert change.after == {"outcome": "connected", "duration_seconds": 90}


def test_an_update_that_changes_nothing_records_nothing(rep):
    call = services.activity_log(owner=rep, kind="call", subject="Intro")
    services.activity_update(activity=call, subject="Intro", changed_by=rep)
    assert len(_changes(call.pk)) == 1


def test_linking_a_contact_records_the_company_it_lends(rep):
    call = services.activity_log(owner=rep, kind="call")
    contact = ContactFactory(company=CompanyFactory(name="Beta AB"), name="Bo")
    services.activity_update(activity=call, contact=contact, changed_by=rep)
    change = _changes(call.pk)[-1]
    assert change.before == {"contact": None, "company": None}
    assert change.after["company"] == {"id": contact.company_id, "label": "Beta AB"}


def test_a_new_time_is_recorded_as_iso_8601(rep):
    call = services.activity_log(owner=rep, kind="call")
    new_time = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
    services.activity_update(activity=call, occurred_at=new_time, changed_by=rep)
    assert _changes(call.pk)[-1].after == {"occurred_at": "2026-03-02T09:30:00+00:00"}


def test_completing_and_cancelling_are_recorded_as_such(rep):
    booker = UserFactory()
    meeting = services.activity_book(
        booked_by=booker,
        owner=rep,
        kind="meeting",
        occurred_at=timezone.now(),
        changed_by=booker,
    )
    services.activity_complete(activity=meeting, mode="physical", changed_by=rep)
    demo = services.activity_book(
        booked_by=booker, owner=rep, kind="demo", occurred_at=timezone.now()
    )
    services.activity_cancel(activity=demo, changed_by=rep)

    created, completed = _changes(meeting.pk)
    assert created.changed_by == booker
    assert completed.action == "completed"
    assert completed.changed_by == rep
    assert completed.before == {"status": "planned", "mode": ""}
    assert completed.after == {"status": "completed", "mode": "physical"}
    cancelled = _changes(demo.pk)[-1]
    assert (cancelled.action, cancelled.before, cancelled.after) == (
        "cancelled",
        {"status": "planned"},
        {"status": "cancelled"},
    )


def test_a_deleted_activity_keeps_its_history_with_the_deletion(rep):
    call = services.activity_log(owner=rep, kind="call", subject="Wrong number", changed_by=rep)
    services.activity_delete(activity=call, changed_by=rep)
    assert not Activity.objects.filter(pk=call.pk).exists()
    _created, deleted = _changes(call.pk)
    assert deleted.action == "deleted"
    assert deleted.changed_by == rep
    assert deleted.before["subject"] == "Wrong number"
    assert deleted.after is None


def test_the_history_is_append_only(rep):
    call = services.activity_log(owner=rep, kind="call")
    change = _changes(call.pk)[0]
    change.action = "changed"
    with pytest.raises(ValueError, match="append-only"):
        change.save()


def test_a_failed_update_records_nothing(rep):
    call = services.activity_log(owner=rep, kind="call")
    with pytest.raises(Exception):  # noqa: B017 - the model's validation error
        services.activity_update(activity=call, replied=True, changed_by=rep)
    assert len(_changes(call.pk)) == 1


def test_history_shows_labels_and_display_values_newest_first(rep):
    call = services.activity_log(owner=rep, kind="call", outcome="busy", changed_by=rep)
    services.activity_update(
        activity=call, outcome="connected", duration_seconds=275, changed_by=rep
    )
    newest, oldest = activity_history(activity_id=call.pk)
    assert oldest.change.action == "created"
    lines = {line.label: (line.before, line.after) for line in newest.lines}
    assert lines == {"call outcome": ("Busy", "Connected"), "duration": (None, "4:35")}
