"""POST /api/v1/activities/batch/: many creates at once, all or nothing, idempotent."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from activities.models import Activity, ActivityChange
from activities.services import activity_log
from kpis.models import DirtyCell
from pipeline.tests.factories import CompanyFactory, ContactFactory, OpportunityFactory
from saljsite.tests.api_support import API, build_org, client_for

pytestmark = pytest.mark.django_db

URL = f"{API}/activities/batch/"
YESTERDAY = timezone.now() - dt.timedelta(days=1)
NEXT_WEEK = timezone.now() + dt.timedelta(days=7)


@pytest.fixture
def org():
    return build_org()


def post(user, items):
    return client_for(user).post(URL, {"items": items}, format="json")


def call(i: int = 0, **fields) -> dict:
    return {
        "kind": "call",
        "occurred_at": YESTERDAY.isoformat(),
        "external_id": f"tel-{i}",
        **fields,
    }


# ---------------------------------------------------------------------------
# Happy paths
# ---------------------------------------------------------------------------
def test_a_rep_syncs_several_activities_in_one_request(org):
    deal = OpportunityFactory(owner=org.anna)
    items = [
        call(1, outcome="connected", duration_seconds=310),
        {"kind": "email", "opportunity": deal.pk, "replied": True},
        call(2),
    ]

    response = post(org.anna, items)

    assert response.status_code == 201, response.data
    results = response.data["results"]
    assert [(r["index"], r["created"], r["external_id"]) for r in results] == [
        (0, True, "tel-1"),
        (1, True, ""),
        (2, True, "tel-2"),
    ]
    stored = {a.pk: a for a in Activity.objects.all()}
    assert set(stored) == {r["id"] for r in results}
    first, email = stored[results[0]["id"]], stored[results[1]["id"]]
    assert (first.owner, first.duration_seconds, first.outcome) == (org.anna, 310, "connected")
    assert email.company_id == deal.company_id  # Inferred, as a single create does.
    history = ActivityChange.objects.order_by().values_list("action", "changed_by").distinct()
    assert list(history) == [("created", org.anna.pk)]
    assert DirtyCell.objects.filter(rep=org.anna).exists()


def test_an_sdr_books_meetings_for_teammates_in_a_batch(org):
    before = timezone.now()
    items = [
        {"kind": "meeting", "owner": org.anna.pk, "booked_by": org.sam.pk,
         "occurred_at": NEXT_WEEK.isoformat(), "mode": "digital"},
    ]  # fmt: skip

    response = post(org.sam, items)

    assert response.status_code == 201, response.data
    meeting = Activity.objects.get()
    assert (meeting.owner, meeting.booked_by, meeting.status) == (org.anna, org.sam, "planned")
    assert meeting.booked_at >= before


def test_a_manager_syncs_for_the_members_of_their_team(org):
    response = post(org.mia, [call(1, owner=org.anna.pk), call(2, owner=org.sam.pk)])

    assert response.status_code == 201, response.data
    assert set(Activity.objects.values_list("owner", flat=True)) == {org.anna.pk, org.sam.pk}


def test_an_empty_batch_is_an_empty_answer(org):
    response = post(org.anna, [])

    assert response.status_code == 200
    assert response.data == {"results": []}


# ---------------------------------------------------------------------------
# Idempotency
# ---------------------------------------------------------------------------
def test_resending_a_batch_returns_the_stored_activities_without_duplicates(org):
    first = post(org.anna, [call(1), call(2)])

    again = post(org.anna, [call(1), call(2)])

    assert again.status_code == 200
    assert [r["id"] for r in again.data["results"]] == [r["id"] for r in first.data["results"]]
    assert [r["created"] for r in again.data["results"]] == [False, False]
    assert Activity.objects.count() == 2


def test_a_batch_mixing_new_and_stored_items_creates_only_the_new(org):
    stored = activity_log(owner=org.anna, kind="call", external_id="tel-1")

    response = post(org.anna, [call(1), call(2)])

    assert response.status_code == 201
    results = response.data["results"]
    assert (results[0]["id"], results[0]["created"]) == (stored.pk, False)
    assert results[1]["created"] is True
    assert Activity.objects.count() == 2


def test_an_external_id_stored_outside_the_callers_scope_is_400_on_that_item(org):
    activity_log(owner=org.bo, kind="call", external_id="tel-1")

    response = post(org.anna, [call(0), call(1)])

    assert response.status_code == 400
    assert response.data["errors"] == [
        {"index": 1, "errors": {"external_id": ["Another record already uses this external id."]}}
    ]
    assert Activity.objects.count() == 1


def test_an_external_id_repeated_within_the_batch_is_400_on_the_repeat(org):
    response = post(org.anna, [call(1), call(2), call(1)])

    assert response.status_code == 400
    (error,) = response.data["errors"]
    assert error["index"] == 2
    assert list(error["errors"]) == ["external_id"]
    assert not Activity.objects.exists()


# ---------------------------------------------------------------------------
# All or nothing, per-item errors
# ---------------------------------------------------------------------------
def test_one_invalid_item_stores_nothing_and_names_the_item_and_field(org):
    items = [call(1), call(2, mode="physical"), call(3)]

    response = post(org.anna, items)

    assert response.status_code == 400
    assert response.data == {
        "errors": [
            {
                "index": 1,
                "errors": {
                    "mode": ["Mode (in person / remote) applies to meetings and demos only."]
                },
            }
        ]
    }
    assert not Activity.objects.exists()
    assert not ActivityChange.objects.exists()
    assert not DirtyCell.objects.exists()


def test_every_invalid_item_is_reported_at_once(org):
    company_elsewhere = CompanyFactory(owner=org.bo)
    items = [
        call(0, kind="fax"),
        call(1),
        call(2, duration_seconds=-1),
        call(3, company=company_elsewhere.pk),
        "not an object",
        call(5, occurred_at="soon"),
        None,
    ]

    response = post(org.anna, items)

    assert response.status_code == 400
    errors = {e["index"]: e["errors"] for e in response.data["errors"]}
    assert set(errors) == {0, 2, 3, 4, 5, 6}
    assert "kind" in errors[0]
    assert "duration_seconds" in errors[2]
    assert "company" in errors[3]  # Another team's company does not exist for the caller.
    assert "non_field_errors" in errors[4]
    assert "occurred_at" in errors[5]
    assert "non_field_errors" in errors[6]
    assert not Activity.objects.exists()


def test_a_link_to_another_company_is_400_on_the_link(org):
    contact = ContactFactory(company=CompanyFactory(owner=org.anna))
    other = CompanyFactory(owner=org.anna)

    response = post(org.anna, [call(1, company=other.pk, contact=contact.pk)])

    assert response.status_code == 400
    assert list(response.data["errors"][0]["errors"]) == ["contact"]


@pytest.mark.parametrize(
    "body",
    [{}, {"items": "calls"}, {"items": {"kind": "call"}}, {"items": [{}] * 1001}],
    ids=["missing", "string", "object", "too-many"],
)
def test_a_malformed_envelope_is_400_on_items(org, body):
    response = client_for(org.anna).post(URL, body, format="json")

    assert response.status_code == 400
    assert "items" in response.data


# ---------------------------------------------------------------------------
# Permissions
# ---------------------------------------------------------------------------
def test_anonymous_is_401(org):
    assert client_for().post(URL, {"items": [call(1)]}, format="json").status_code == 401


def test_a_rep_writing_as_another_owner_is_403_and_nothing_is_stored(org):
    response = post(org.anna, [call(1), call(2, owner=org.sam.pk)])

    assert response.status_code == 403
    assert [e["index"] for e in response.data["errors"]] == [1]
    assert response.data["errors"][0]["detail"]
    assert not Activity.objects.exists()


def test_a_manager_writing_for_another_teams_rep_is_403(org):
    response = post(org.mia, [call(1, owner=org.bo.pk)])

    assert response.status_code == 403
    assert not Activity.objects.exists()


def test_a_rep_resending_a_stored_item_as_another_owner_is_still_403(org):
    activity_log(owner=org.sam, kind="call", external_id="tel-1")

    assert post(org.anna, [call(1, owner=org.sam.pk)]).status_code == 403


# ---------------------------------------------------------------------------
# Queries
# ---------------------------------------------------------------------------
def test_a_batch_of_10_and_of_100_make_the_same_queries(org, django_assert_max_num_queries):
    company = CompanyFactory(owner=org.anna)
    contact = ContactFactory(company=company)
    deal = OpportunityFactory(owner=org.anna, company=company)
    client = client_for(org.mia)

    def items(count: int, offset: int) -> list[dict]:
        kinds = [
            call(0, owner=org.anna.pk, company=company.pk),
            {"kind": "email", "owner": org.sam.pk, "opportunity": deal.pk},
            {"kind": "meeting", "owner": org.anna.pk, "booked_by": org.sam.pk,
             "contact": contact.pk, "occurred_at": NEXT_WEEK.isoformat()},
        ]  # fmt: skip
        batch = []
        for i in range(count):
            item = dict(kinds[i % 3])
            item["external_id"] = f"x-{offset + i}"
            batch.append(item)
        return batch

    statements = {}
    for count, offset in ((10, 0), (100, 1000)):
        with django_assert_max_num_queries(25) as captured:
            response = client.post(URL, {"items": items(count, offset)}, format="json")
        assert response.status_code == 201, response.data
        statements[count] = [q["sql"] for q in captured.captured_queries]

    # SQLite splits a long INSERT into chunks of 999 parameters; everything else is the same.
    others = {n: [s for s in sqls if not s.startswith("INSERT")] for n, sqls in statements.items()}
    assert len(others[10]) == len(others[100])
    assert Activity.objects.count() == 110


def test_the_external_id_lookups_carry_the_unique_indexs_condition(
    org, django_assert_max_num_queries
):
    # PostgreSQL infers a partial index's condition (external_id <> '') from an IN list of at
    # most 100 values; a batch sends up to 1 000, so the condition is spelled out, else every
    # batch scans the whole activity table.
    activity_log(owner=org.anna, kind="call", external_id="tel-0")
    items = [call(i) for i in range(150)]

    with django_assert_max_num_queries(25) as captured:
        response = post(org.anna, items)

    assert response.status_code == 201, response.data
    lookups = [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].startswith("SELECT") and '"external_id" IN' in q["sql"]
    ]
    assert len(lookups) == 2
    assert all("\"external_id\" = ''" in sql and "NOT" in sql for sql in lookups)
    assert response.data["results"][0] == {
        "index": 0,
        "id": Activity.objects.get(external_id="tel-0").pk,
        "created": False,
        "external_id": "tel-0",
    }
