"""The activities endpoint: logging, booking, editing and deleting through the services."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from activities.models import Activity, ActivityChange
from activities.services import activity_book, activity_log
from kpis.models import DirtyCell, Source
from people.tests.factories import TeamFactory, UserFactory
from pipeline.tests.factories import CompanyFactory, OpportunityFactory
from saljsite.tests.api_support import API, build_org, client_for

pytestmark = pytest.mark.django_db

URL = f"{API}/activities/"
YESTERDAY = timezone.now() - dt.timedelta(days=1)
NEXT_WEEK = timezone.now() + dt.timedelta(days=7)


@pytest.fixture
def org():
    return build_org()


def detail(activity: Activity) -> str:
    return f"{URL}{activity.pk}/"


# ---------------------------------------------------------------------------
# Happy paths
# ---------------------------------------------------------------------------
def test_rep_logs_a_call_as_its_owner_by_default(org):
    response = client_for(org.anna).post(
        URL,
        {
            "kind": "call",
            "outcome": "connected",
            "duration_seconds": 240,
            "occurred_at": YESTERDAY.isoformat(),
        },
    )

    assert response.status_code == 201, response.data
    activity = Activity.objects.get()
    assert response.data["id"] == activity.pk
    assert response.data["owner"] == org.anna.pk
    assert response.data["status"] == "completed"
    assert activity.owner == org.anna
    assert activity.duration_seconds == 240
    assert set(response.data) == {
        "id", "kind", "status", "owner", "booked_by", "booked_at", "occurred_at", "direction",
        "outcome", "duration_seconds", "replied", "clicked", "mode", "company", "contact",
        "lead", "opportunity", "subject", "notes", "external_id", "created_at", "updated_at",
    }  # fmt: skip


def test_api_writes_are_recorded_in_the_history_with_the_caller_as_author(org):
    from activities.models import ActivityChange

    client = client_for(org.mia)
    created = client.post(URL, {"kind": "call", "owner": org.sam.pk})
    client.patch(f"{URL}{created.data['id']}/", {"notes": "Follow up"})
    client.delete(f"{URL}{created.data['id']}/")

    assert list(ActivityChange.objects.order_by("id").values_list("action", "changed_by")) == [
        ("created", org.mia.pk),
        ("changed", org.mia.pk),
        ("deleted", org.mia.pk),
    ]


def test_an_activity_linked_to_an_opportunity_takes_its_company(org):
    deal = OpportunityFactory(owner=org.anna)

    response = client_for(org.anna).post(URL, {"kind": "email", "opportunity": deal.pk})

    assert response.status_code == 201, response.data
    assert response.data["company"] == deal.company_id


def test_sdr_books_a_meeting_for_a_teammate_as_planned_with_booked_at_now(org):
    before = timezone.now()

    response = client_for(org.sam).post(
        URL,
        {
            "kind": "meeting",
            "owner": org.anna.pk,
            "booked_by": org.sam.pk,
            "occurred_at": NEXT_WEEK.isoformat(),
            "mode": "digital",
        },
    )

    assert response.status_code == 201, response.data
    meeting = Activity.objects.get()
    assert (meeting.owner, meeting.booked_by, meeting.status) == (org.anna, org.sam, "planned")
    assert meeting.booked_at >= before


def test_manager_logs_for_a_member_of_their_team(org):
    response = client_for(org.mia).post(URL, {"kind": "call", "owner": org.sam.pk})

    assert response.status_code == 201, response.data
    assert Activity.objects.get().owner == org.sam


def test_rep_edits_their_own_activity_through_the_service(org):
    call = activity_log(owner=org.anna, kind="call", occurred_at=YESTERDAY)

    response = client_for(org.anna).patch(detail(call), {"notes": "Call back in May"})

    assert response.status_code == 200, response.data
    call.refresh_from_db()
    assert call.notes == "Call back in May"


def test_rep_deletes_their_own_activity(org):
    call = activity_log(owner=org.anna, kind="call")

    response = client_for(org.anna).delete(detail(call))

    assert response.status_code == 204
    assert not Activity.objects.exists()


def test_owner_edits_a_meeting_a_teammate_booked_for_them(org):
    meeting = activity_book(
        booked_by=org.sam, owner=org.anna, kind="meeting", occurred_at=NEXT_WEEK
    )

    response = client_for(org.anna).patch(detail(meeting), {"notes": "Bring the demo laptop"})

    assert response.status_code == 200, response.data


def test_put_of_a_fetched_activity_saves_it_unchanged(org):
    call = activity_log(owner=org.anna, kind="call", outcome="busy", occurred_at=YESTERDAY)
    client = client_for(org.anna)
    body = client.get(detail(call)).data

    response = client.put(detail(call), body)

    assert response.status_code == 200, response.data
    assert response.data["outcome"] == "busy"


# ---------------------------------------------------------------------------
# Validation: 400 with field messages
# ---------------------------------------------------------------------------
def test_a_call_with_a_mode_is_400_on_mode(org):
    response = client_for(org.anna).post(URL, {"kind": "call", "mode": "physical"})

    assert response.status_code == 400
    assert "meetings and demos only" in str(response.data["mode"][0])
    assert not Activity.objects.exists()


def test_a_negative_duration_is_400_on_duration_seconds(org):
    response = client_for(org.anna).post(URL, {"kind": "call", "duration_seconds": -5})

    assert response.status_code == 400
    assert set(response.data) == {"duration_seconds"}


def test_a_call_outcome_on_an_email_is_400_on_outcome(org):
    response = client_for(org.anna).post(URL, {"kind": "email", "outcome": "connected"})

    assert response.status_code == 400
    assert "calls only" in str(response.data["outcome"][0])


def test_an_unknown_kind_and_a_bad_time_are_400_on_their_fields(org):
    response = client_for(org.anna).post(URL, {"kind": "fax", "occurred_at": "yesterday"})

    assert response.status_code == 400
    assert set(response.data) == {"kind", "occurred_at"}


def test_changing_a_meeting_with_a_mode_into_a_call_is_400_on_kind(org):
    meeting = activity_log(owner=org.anna, kind="meeting", mode="physical")

    response = client_for(org.anna).patch(detail(meeting), {"kind": "call"})

    assert response.status_code == 400
    assert "kind" in response.data


def test_a_company_outside_the_callers_scope_does_not_exist_for_them(org):
    theirs = CompanyFactory(owner=org.bo)

    response = client_for(org.anna).post(URL, {"kind": "call", "company": theirs.pk})

    assert response.status_code == 400
    assert "does not exist" in str(response.data["company"][0])


@pytest.mark.parametrize("value", ["abc", True, 0, 2**70, [1]])
def test_a_malformed_related_id_is_400(org, value):
    response = client_for(org.anna).post(URL, {"kind": "call", "company": value})

    assert response.status_code == 400
    assert "company" in response.data


def test_an_unknown_user_id_is_400_not_403(org):
    response = client_for(org.anna).post(URL, {"kind": "call", "owner": 999_999})

    assert response.status_code == 400
    assert "owner" in response.data


# ---------------------------------------------------------------------------
# Permissions: 401, 403 for writing as someone else, 404 outside the scope
# ---------------------------------------------------------------------------
def test_anonymous_is_401(org):
    assert client_for().get(URL).status_code == 401
    assert client_for().post(URL, {"kind": "call"}).status_code == 401


@pytest.mark.parametrize("owner", ["sam", "bo"])
def test_rep_logging_as_another_owner_is_403(org, owner):
    response = client_for(org.anna).post(URL, {"kind": "call", "owner": getattr(org, owner).pk})

    assert response.status_code == 403
    assert not Activity.objects.exists()


def test_rep_booking_as_someone_else_is_403(org):
    response = client_for(org.anna).post(
        URL, {"kind": "meeting", "owner": org.anna.pk, "booked_by": org.sam.pk}
    )

    assert response.status_code == 403


def test_sdr_booking_for_another_teams_rep_is_403(org):
    response = client_for(org.sam).post(
        URL, {"kind": "meeting", "owner": org.bo.pk, "booked_by": org.sam.pk}
    )

    assert response.status_code == 403


def test_a_call_is_not_a_booking_so_an_sdr_cannot_log_it_for_a_teammate(org):
    response = client_for(org.sam).post(
        URL, {"kind": "call", "owner": org.anna.pk, "booked_by": org.sam.pk}
    )

    assert response.status_code == 403


def test_manager_logging_for_another_teams_rep_is_403(org):
    response = client_for(org.mia).post(URL, {"kind": "call", "owner": org.bo.pk})

    assert response.status_code == 403


def test_rep_handing_their_activity_to_a_teammate_is_403(org):
    call = activity_log(owner=org.anna, kind="call")

    response = client_for(org.anna).patch(detail(call), {"owner": org.sam.pk})

    assert response.status_code == 403


def test_rep_reads_their_teams_activities_but_another_teams_are_404(org):
    own = activity_log(owner=org.anna, kind="call")
    teammates = activity_log(owner=org.sam, kind="email")
    other_team = activity_log(owner=org.bo, kind="call")
    client = client_for(org.anna)

    listed = {row["id"] for row in client.get(URL).data["results"]}

    assert listed == {own.pk, teammates.pk}
    assert client.get(detail(teammates)).status_code == 200
    assert client.get(detail(other_team)).status_code == 404


def test_a_booking_is_read_by_the_bookers_team_as_well_as_the_owners(org):
    # Made by a superuser's import, say: Sam (North) booked a demo for Bo (South).
    demo = activity_book(booked_by=org.sam, owner=org.bo, kind="demo", occurred_at=NEXT_WEEK)
    west = UserFactory(username="wes", team=TeamFactory(name="West"))

    for reader in (org.sam, org.anna, org.mia, org.bo, org.max):
        assert client_for(reader).get(detail(demo)).status_code == 200
    assert client_for(west).get(detail(demo)).status_code == 404


@pytest.mark.parametrize("method", ["patch", "put", "delete"])
def test_rep_changing_a_teammates_activity_is_403(org, method):
    call = activity_log(owner=org.sam, kind="call")

    response = getattr(client_for(org.anna), method)(detail(call), {"kind": "call"})

    assert response.status_code == 403
    assert Activity.objects.filter(pk=call.pk).exists()


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_rep_changing_another_teams_activity_is_404(org, method):
    call = activity_log(owner=org.bo, kind="call")

    response = getattr(client_for(org.anna), method)(detail(call), {"notes": "x"})

    assert response.status_code == 404


def test_manager_edits_their_teams_activity_but_another_teams_is_404(org):
    own_team = activity_log(owner=org.sam, kind="call")
    other_team = activity_log(owner=org.bo, kind="call")
    client = client_for(org.mia)

    assert client.patch(detail(own_team), {"notes": "ok"}).status_code == 200
    assert client.patch(detail(other_team), {"notes": "no"}).status_code == 404


def test_superuser_reads_everything(org):
    activity_log(owner=org.anna, kind="call")
    activity_log(owner=org.bo, kind="call")

    assert client_for(org.root).get(URL).data["count"] == 2


# ---------------------------------------------------------------------------
# Idempotent external_id
# ---------------------------------------------------------------------------
def test_posting_the_same_external_id_again_returns_the_stored_activity_with_200(org):
    client = client_for(org.anna)
    body = {"kind": "call", "outcome": "connected", "external_id": "tel-4711"}

    first = client.post(URL, body)
    second = client.post(URL, body)

    assert (first.status_code, second.status_code) == (201, 200)
    assert second.data["id"] == first.data["id"]
    assert Activity.objects.count() == 1


def test_an_insert_losing_the_race_on_external_id_returns_the_winner(org, monkeypatch):
    # The race window: both requests passed validation before either inserted, so the second
    # insert hits the unique index (IntegrityError) rather than the model's constraint check.
    winner = activity_log(owner=org.anna, kind="call", external_id="tel-race")
    monkeypatch.setattr(Activity, "validate_constraints", lambda self, exclude=None: None)

    response = client_for(org.anna).post(URL, {"kind": "call", "external_id": "tel-race"})

    assert response.status_code == 200
    assert response.data["id"] == winner.pk
    assert Activity.objects.count() == 1


def test_an_external_id_used_outside_the_callers_scope_is_400(org):
    activity_log(owner=org.bo, kind="call", external_id="tel-bo")

    response = client_for(org.anna).post(URL, {"kind": "call", "external_id": "tel-bo"})

    assert response.status_code == 400
    assert "external_id" in response.data
    assert Activity.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_posts_of_one_external_id_create_one_activity(postgres_only):
    # No seeded rows needed (a transactional test starts from a flushed database).
    rep = UserFactory(username="caller", team=TeamFactory(name="Race"))
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def post() -> None:
        try:
            barrier.wait()
            response = client_for(rep).post(URL, {"kind": "call", "external_id": "tel-x"})
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200, 200, 200, 201]
    assert Activity.objects.filter(external_id="tel-x").count() == 1


# ---------------------------------------------------------------------------
# Filters and query counts
# ---------------------------------------------------------------------------
def test_filters_by_kind_owner_and_time_range(org):
    old = activity_log(owner=org.anna, kind="call", occurred_at=YESTERDAY - dt.timedelta(days=9))
    recent = activity_log(owner=org.anna, kind="call", occurred_at=YESTERDAY)
    activity_log(owner=org.anna, kind="email", occurred_at=YESTERDAY)
    activity_log(owner=org.sam, kind="call", occurred_at=YESTERDAY)
    client = client_for(org.anna)

    response = client.get(
        URL,
        {
            "kind": "call",
            "owner": org.anna.pk,
            "occurred_at__gte": (YESTERDAY - dt.timedelta(days=1)).isoformat(),
        },
    )

    assert [row["id"] for row in response.data["results"]] == [recent.pk]
    assert old.pk not in [row["id"] for row in response.data["results"]]


def test_an_invalid_filter_value_is_400(org):
    response = client_for(org.anna).get(URL, {"occurred_at__gte": "last tuesday"})

    assert response.status_code == 400
    assert "occurred_at__gte" in response.data


def test_the_list_makes_the_same_queries_for_3_and_30_activities(
    org, django_assert_max_num_queries
):
    company = CompanyFactory(owner=org.anna)
    client = client_for(org.mia)
    counts = []
    made = 0
    for size in (3, 30):
        for i in range(size - made):
            activity_book(
                booked_by=org.sam, owner=org.anna, kind="meeting", occurred_at=NEXT_WEEK,
                company=company, subject=f"Meeting {i}",
            )  # fmt: skip
        made = size
        with django_assert_max_num_queries(2) as captured:
            response = client.get(URL, {"page_size": 100})
        assert response.data["count"] == size
        counts.append(len(captured))

    assert counts[0] == counts[1]


# ---------------------------------------------------------------------------
# The cost of a single create
# ---------------------------------------------------------------------------
def test_a_create_reads_nothing_again_and_only_writes(org, django_assert_max_num_queries):
    # The caller is the owner (read by authentication) and the opportunity was read in the
    # caller's scope by the serializer: no existence check, and no external-id check either
    # (the unique index answers a repeat: see the idempotency tests above).
    deal = OpportunityFactory(owner=org.anna, company=CompanyFactory(owner=org.anna))
    client = client_for(org.anna)
    body = {"kind": "call", "outcome": "connected", "opportunity": deal.pk, "external_id": "t-1"}

    # The opportunity (with its company, lent to the activity), then the transaction: the
    # activity, its history row and its dirty KPI cell.
    with django_assert_max_num_queries(6) as captured:
        response = client.post(URL, body)

    assert response.status_code == 201, response.data
    reads = [q["sql"] for q in captured if q["sql"].lstrip().upper().startswith("SELECT")]
    assert len(reads) == 1 and '"pipeline_opportunity"' in reads[0]  # The serializer's.
    activity = Activity.objects.get()
    assert (activity.owner, activity.opportunity, activity.company_id) == (
        org.anna,
        deal,
        deal.company_id,
    )


@pytest.mark.postgres
def test_a_create_on_postgresql_prepares_the_token_lookup_and_its_statement(postgres_only, org):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=org.anna).key}")

    for key in ("t-1", "t-2"):
        response = client.post(URL, {"kind": "call", "outcome": "connected", "external_id": key})
        assert response.status_code == 201, response.data

    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [statement for (statement,) in cursor.fetchall()]
    assert len([s for s in prepared if s.startswith("WITH new_activity AS (")]) == 1
    assert len([s for s in prepared if '"authtoken_token"."key" = $1' in s]) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_create_on_postgresql_is_the_token_lookup_and_one_statement(
    postgres_only, settings, django_assert_max_num_queries, monkeypatch
):
    # No transaction around it: the activity, its history row and its dirty KPI cell are one
    # data-modifying WITH, atomic by itself. The KPI refresh is enqueued once it is stored.
    settings.KPI_RECOMPUTE_ON_WRITE = True
    enqueued: list[list[int]] = []

    def enqueue(rep_ids: list[int]) -> None:
        assert not connection.in_atomic_block  # Run once the write is committed.
        enqueued.append(rep_ids)

    monkeypatch.setattr("kpis.services._enqueue_rep_recompute", enqueue)
    rep = UserFactory(username="caller", team=TeamFactory(name="One"))
    token = Token.objects.create(user=rep)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    body = {"kind": "call", "outcome": "connected", "external_id": "t-1",
            "occurred_at": "2026-03-10T09:30:00+01:00"}  # fmt: skip

    with django_assert_max_num_queries(2) as captured:
        response = client.post(URL, body)

    assert response.status_code == 201, response.data
    assert [q["sql"].split()[0] for q in captured] == ["SELECT", "WITH"]
    activity = Activity.objects.get()
    assert response.data["id"] == activity.pk
    assert response.data["created_at"] is not None and response.data["updated_at"] is not None
    change = ActivityChange.objects.get()
    assert (change.activity_id_ref, change.action, change.changed_by_id) == (
        activity.pk,
        "created",
        rep.pk,
    )
    assert change.after["owner"] == {"id": rep.pk, "label": str(rep)}
    cell = DirtyCell.objects.get()
    assert (cell.rep_id, cell.day) == (rep.pk, dt.date(2026, 3, 10))
    assert cell.sources & Source.ACTIVITY
    assert enqueued == [[rep.pk]]

    # A repeat is answered with the stored activity; nothing more is written.
    again = client.post(URL, body)

    assert again.status_code == 200, again.data
    assert again.data["id"] == activity.pk
    assert (Activity.objects.count(), ActivityChange.objects.count()) == (1, 1)
    assert enqueued == [[rep.pk]]
