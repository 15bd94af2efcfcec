"""`activities_log_bulk` does for each item what `activity_log` does, set-based."""

from __future__ import annotations

import datetime as dt
import warnings
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Q

from activities.bulk import ActivityBatchError, activities_log_bulk
from activities.bulk.conditions import _holds
from activities.bulk.postgres import _insert_sql, _values
from activities.models import Activity, ActivityChange
from activities.serializers import ActivitySerializer
from activities.services import activity_log
from kpis.models import DirtyCell, Source
from people.models import User
from people.tests.factories import UserFactory
from pipeline.tests.factories import (
    CompanyFactory,
    ContactFactory,
    LeadFactory,
    OpportunityFactory,
)

pytestmark = pytest.mark.django_db

UTC = dt.UTC
MONDAY = dt.datetime(2025, 3, 10, 9, tzinfo=UTC)
# 23:30 UTC on a Sunday is Monday in Stockholm: the local day is what counts.
LATE_SUNDAY = dt.datetime(2025, 3, 9, 23, 30, tzinfo=UTC)


@pytest.fixture
def people():
    rep = UserFactory(username="anna", role=User.Role.AE)
    sdr = UserFactory(username="sam", role=User.Role.SDR, team=rep.team)
    return rep, sdr


def varied_items(rep: User, sdr: User) -> list[dict]:
    company = CompanyFactory(owner=rep)
    contact = ContactFactory(company=company)
    lead = LeadFactory(assigned_to=sdr, company=company)
    deal = OpportunityFactory(owner=rep, company=company)
    return [
        {"owner": rep, "kind": "call", "occurred_at": MONDAY, "outcome": "connected",
         "duration_seconds": 200, "external_id": "tel-1"},
        {"owner": rep, "kind": "email", "occurred_at": LATE_SUNDAY, "replied": True},
        {"owner": rep, "kind": "meeting", "status": "planned", "occurred_at": MONDAY,
         "booked_by": sdr, "booked_at": LATE_SUNDAY, "contact": contact, "mode": "digital"},
        {"owner": rep, "kind": "demo", "occurred_at": MONDAY, "contact": contact,
         "mode": "physical", "subject": "Demo"},
        {"owner": sdr, "kind": "call", "occurred_at": MONDAY, "lead": lead},
        {"owner": rep, "kind": "email", "occurred_at": MONDAY, "opportunity": deal,
         "notes": "Offer"},
    ]  # fmt: skip


def stored_state():
    skip = {"id", "created_at", "updated_at"}
    fields = [f.attname for f in Activity._meta.concrete_fields if f.name not in skip]
    rows = [{name: getattr(a, name) for name in fields} for a in Activity.objects.order_by("id")]
    history = list(
        ActivityChange.objects.order_by("id").values_list("action", "changed_by", "before", "after")
    )
    cells = set(DirtyCell.objects.values_list("rep_id", "day"))
    return rows, history, cells


def wipe():
    ActivityChange.objects.all().delete()
    Activity.objects.all().delete()
    DirtyCell.objects.all().delete()


def test_bulk_stores_what_activity_log_stores_item_by_item(people):
    rep, sdr = people
    items = varied_items(rep, sdr)
    DirtyCell.objects.all().delete()  # The fixtures' own (leads, deals) are not under test.
    for item in items:
        activity_log(**item, changed_by=sdr)
    one_by_one = stored_state()
    wipe()

    created = activities_log_bulk(items=items, changed_by=sdr)

    assert [a.pk for a in created] == list(
        Activity.objects.order_by("id").values_list("id", flat=True)
    )
    assert stored_state() == one_by_one
    # The company came from the opportunity; local days are site time.
    email = Activity.objects.get(notes="Offer")
    assert email.company_id == items[-1]["opportunity"].company_id
    assert Activity.objects.get(kind="email", replied=True).occurred_day == dt.date(2025, 3, 10)


def test_a_single_create_stores_what_activity_log_stores(people):
    # The API's single create (`rows_read`, `unique_on_insert`): on PostgreSQL one statement
    # when the item needs no query (the meeting and demo with a contact take the transaction).
    rep, sdr = people
    items = varied_items(rep, sdr)
    DirtyCell.objects.all().delete()
    for item in items:
        activity_log(**item, changed_by=sdr)
    one_by_one = stored_state()
    wipe()

    for item in items:
        activities_log_bulk(items=[item], changed_by=sdr, rows_read=True, unique_on_insert=True)

    assert stored_state() == one_by_one
    bits = dict(DirtyCell.objects.values_list("rep_id", "sources"))
    assert bits[rep.pk] & Source.ACTIVITY and bits[sdr.pk] & Source.COUNTERS


INVALID = [
    {"kind": "call", "mode": "physical"},
    {"kind": "call", "duration_seconds": -5},
    {"kind": "email", "outcome": "busy"},
    {"kind": "fax"},
    {"kind": "call", "status": "maybe", "direction": "sideways"},
    {"kind": "meeting", "booked_at": MONDAY},  # No booked_by.
    {"kind": "call", "subject": "x" * 201},
    {"kind": "call", "external_id": "taken"},
]


@pytest.mark.parametrize("fields", INVALID, ids=lambda f: "-".join(map(str, f)))
def test_bulk_errors_are_the_errors_of_activity_log(people, fields):
    rep, _sdr = people
    activity_log(owner=rep, kind="call", external_id="taken")
    item = {"owner": rep, "occurred_at": MONDAY, **fields}
    with pytest.raises(ValidationError) as single:
        activity_log(**item)

    with pytest.raises(ActivityBatchError) as batch:
        activities_log_bulk(items=[{"owner": rep, "kind": "call"}, item])

    assert list(batch.value.errors) == [1]
    assert batch.value.errors[1].message_dict == single.value.message_dict


def test_a_link_to_another_company_is_refused_as_activity_log_does(people):
    rep, _sdr = people
    contact = ContactFactory(company=CompanyFactory(owner=rep))
    item = {"owner": rep, "kind": "call", "company": CompanyFactory(owner=rep), "contact": contact}
    with pytest.raises(ValidationError) as single:
        activity_log(**item)

    with pytest.raises(ActivityBatchError) as batch:
        activities_log_bulk(items=[item])

    assert batch.value.errors[0].message_dict == single.value.message_dict


def test_a_vanished_owner_is_the_foreign_key_error_of_activity_log(people):
    ghost = User(pk=987_654, username="ghost")
    with pytest.raises(ValidationError) as single:
        activity_log(owner=ghost, kind="call")

    with pytest.raises(ActivityBatchError) as batch:
        activities_log_bulk(items=[{"owner": ghost, "kind": "call"}])

    assert batch.value.errors[0].message_dict == single.value.message_dict


def test_one_invalid_item_stores_nothing_and_every_invalid_item_is_reported(people):
    rep, _sdr = people
    items = [
        {"owner": rep, "kind": "call"},
        {"owner": rep, "kind": "call", "mode": "digital"},
        {"owner": rep, "kind": "email"},
        {"owner": rep, "kind": "email", "duration_seconds": 3},
    ]

    with pytest.raises(ActivityBatchError) as batch:
        activities_log_bulk(items=items)

    assert list(batch.value.errors) == [1, 3]
    assert not Activity.objects.exists()
    assert not ActivityChange.objects.exists()
    assert not DirtyCell.objects.exists()


def test_an_external_id_repeated_in_the_batch_is_refused_on_the_repeat(people):
    rep, _sdr = people
    items = [
        {"owner": rep, "kind": "call", "external_id": "a"},
        {"owner": rep, "kind": "call", "external_id": "b"},
        {"owner": rep, "kind": "call", "external_id": "a"},
    ]

    with pytest.raises(ActivityBatchError) as batch:
        activities_log_bulk(items=items)

    assert list(batch.value.errors) == [2]
    assert batch.value.errors[2].messages == [
        "Constraint “activity_external_id_unique” is violated."
    ]


def test_an_unknown_argument_is_a_type_error_as_for_activity_log(people):
    rep, _sdr = people
    with pytest.raises(TypeError):
        activities_log_bulk(items=[{"owner": rep, "kind": "call", "colour": "red"}])
    with pytest.raises(TypeError):
        activities_log_bulk(items=[{"kind": "call"}])


def test_the_queries_do_not_grow_with_the_number_of_items(people, django_assert_max_num_queries):
    rep, sdr = people
    company = CompanyFactory(owner=rep)
    contact = ContactFactory(company=company)
    lead = LeadFactory(assigned_to=sdr, company=company)

    def items(count: int, offset: int) -> list[dict]:
        return [
            {"owner": rep, "kind": "meeting", "occurred_at": MONDAY, "contact": contact,
             "lead": lead, "booked_by": sdr, "booked_at": MONDAY, "status": "planned",
             "external_id": f"m-{offset + i}"}
            for i in range(count)
        ]  # fmt: skip

    counts = {}
    for count, offset in ((10, 0), (100, 1000)):
        with django_assert_max_num_queries(20) as captured:
            activities_log_bulk(items=items(count, offset))
        counts[count] = [q["sql"] for q in captured.captured_queries]
    others = {n: [s for s in sqls if not s.startswith("INSERT")] for n, sqls in counts.items()}
    assert len(others[10]) == len(others[100])


@pytest.mark.parametrize(
    ("condition", "fields", "expected"),
    [
        (Q(duration_seconds__gte=0), {"duration_seconds": None}, None),
        (
            Q(duration_seconds__isnull=True) | Q(duration_seconds__gte=0),
            {"duration_seconds": -1},
            False,
        ),
        (~Q(external_id=""), {"external_id": ""}, False),
        (Q(kind="call") | Q(outcome=""), {"kind": "email", "outcome": "busy"}, False),
        (Q(booked_by__isnull=True) | Q(kind__in=["meeting"]), {"kind": "call"}, True),
        (~Q(duration_seconds__gt=5), {"duration_seconds": None}, None),
    ],
)
def test_conditions_are_evaluated_with_sql_three_valued_logic(condition, fields, expected):
    assert _holds(condition, Activity(**fields)) is expected


def test_fields_the_caller_checked_skip_clean_fields_and_the_others_are_still_checked(people):
    # The API passes its ModelSerializer's fields as `checked_fields`; anything else a caller
    # sends (here the declared external id) is cleaned as `activity_log` cleans it.
    rep, _sdr = people
    checked = ActivitySerializer().model_checked_fields()
    item = {"owner": rep, "kind": "call", "outcome": "connected", "external_id": "x" * 101}
    with pytest.raises(ValidationError) as single:
        activity_log(**item)

    with pytest.raises(ActivityBatchError) as batch:
        activities_log_bulk(items=[item], checked_fields=checked)
    with pytest.raises(ActivityBatchError) as one:
        activities_log_bulk(
            items=[item], rows_read=True, unique_on_insert=True, checked_fields=checked
        )

    assert batch.value.errors[0].message_dict == single.value.message_dict
    assert one.value.errors[0].message_dict == single.value.message_dict
    # Cross-field rules are the constraints': still checked for checked fields.
    with pytest.raises(ActivityBatchError) as mixed:
        activities_log_bulk(
            items=[{"owner": rep, "kind": "email", "outcome": "busy"}], checked_fields=checked
        )
    assert "outcome" not in mixed.value.errors[0].message_dict
    assert mixed.value.errors[0].messages == ["Call outcome and duration apply to calls only."]


def test_row_values_are_what_the_orm_prepares(people):
    # `_values` takes plain strings, integers and booleans (and on PostgreSQL dates and aware
    # datetimes) as they are: the same parameters as each field's `get_db_prep_save` (the rows
    # `_insert_one` and `_insert_rows` write).
    rep, sdr = people
    at = dt.datetime(2025, 3, 10, 12, tzinfo=UTC)
    objs = []
    for item in varied_items(rep, sdr):
        activity = Activity(**{**item, "status": str(item.get("status", "completed"))})
        activity.occurred_day = activity.booked_day = dt.date(2025, 3, 10)
        objs.append(activity)
    objs.append(Activity(owner=rep, kind=Activity.Kind.CALL, duration_seconds=0, replied=False))
    objs.append(ActivityChange(activity_id_ref=7, action="created", changed_by=sdr, after={}))
    plus_one = dt.timezone(dt.timedelta(hours=1))
    objs.append(Activity(owner=rep, kind="call", occurred_at=at.astimezone(plus_one)))
    objs.append(Activity(owner=rep, kind="call", occurred_at=dt.datetime(2025, 3, 10, 9)))
    with (
        mock.patch("django.utils.timezone.now", return_value=at),
        warnings.catch_warnings(),  # The naive time: "received a naive datetime", both ways.
    ):
        warnings.simplefilter("ignore", RuntimeWarning)
        for obj in objs:
            fields = _insert_sql(type(obj), connection)[1]
            expected = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
            got = _values(obj, fields, connection)
            assert list(map(_param, got)) == list(map(_param, expected)), obj


def _param(value: object) -> tuple:
    """A parameter, comparable: psycopg's JSON wrapper by what it wraps and how it encodes."""
    if type(value).__name__ == "Jsonb":
        return (type(value), value.obj, value.dumps)
    return (type(value), value)


def test_items_sharing_a_constraints_values_share_its_verdict_each_reported(people):
    rep, _sdr = people
    bad = {"owner": rep, "kind": "call", "mode": "digital"}
    good = {"owner": rep, "kind": "call", "duration_seconds": 30}
    items = [bad, good, dict(bad), dict(good), {**bad, "duration_seconds": -1}]

    with pytest.raises(ActivityBatchError) as batch:
        activities_log_bulk(items=items)

    assert list(batch.value.errors) == [0, 2, 4]
    mode_only = ["Mode (in person / remote) applies to meetings and demos only."]
    assert batch.value.errors[0].messages == batch.value.errors[2].messages == mode_only
    assert batch.value.errors[4].message_dict == {
        "duration_seconds": ["Ensure this value is greater than or equal to 0."],
        "__all__": mode_only,
    }
