"""The KPI read endpoints (registry, values, scorecards) and the recompute runs."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from activities.services import activity_book, activity_log
from kpis.compute.run import recompute_full
from kpis.models import KPIValue, RepDay, RolePreset
from kpis.periods import period_containing
from kpis.registry import CODES, role_preset
from kpis.target_services import target_set
from kpis.targets import pace
from kpis.tests.test_tasks_broker import real_broker  # noqa: F401 - a fixture
from people.models import User
from people.tests.factories import UserFactory
from saljsite.tests.api_support import API, build_org, client_for

pytestmark = pytest.mark.django_db

KPIS_URL = f"{API}/kpis/"
VALUES_URL = f"{API}/kpi-values/"
RECOMPUTE_URL = f"{API}/kpis/recompute/"
UTC = dt.UTC
# A past month with data: March 2025 (Stockholm time; mid-day UTC stays on the same day).
MARCH = dt.date(2025, 3, 1)
FEBRUARY = dt.date(2025, 2, 1)


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def calls(rep: User, count: int, day: dt.date, *, connected: int = 0) -> None:
    for i in range(count):
        activity_log(
            owner=rep,
            kind="call",
            occurred_at=at(day),
            outcome="connected" if i < connected else "no_answer",
        )


def month_target(*, kpi: str = "calls_made", value: int, valid_from=FEBRUARY, **subject):
    scope = "rep" if "rep" in subject else "team" if "team" in subject else "all"
    return target_set(
        kpi=kpi,
        scope=scope,
        period="month",
        value=value,
        valid_from=valid_from,
        changed_by=None,
        **subject,
    )


@pytest.fixture
def org():
    return build_org()


@pytest.fixture
def march(org):
    """Anna 8 calls (2 connected), Sam 4 calls, Bo (South) 5 calls, all on 2025-03-10."""
    calls(org.anna, 8, dt.date(2025, 3, 10), connected=2)
    calls(org.sam, 4, dt.date(2025, 3, 10))
    calls(org.bo, 5, dt.date(2025, 3, 10))
    recompute_full()
    return org


def values(client, **params) -> list[dict]:
    params.setdefault("page_size", 1000)
    response = client.get(VALUES_URL, params)
    assert response.status_code == 200, response.data
    return response.data["results"]


def plain(rows, **match) -> list[dict]:
    return [r for r in rows if all(r[k] == v for k, v in match.items())]


# ---------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------
def test_the_registry_lists_every_kpi_with_its_names_in_english_and_swedish(org):
    response = client_for(org.anna).get(KPIS_URL, {"page_size": 100})

    assert response.status_code == 200
    assert response.data["count"] == len(CODES)
    rows = response.data["results"]
    assert [row["code"] for row in rows] == list(CODES)
    calls_made = rows[0]
    assert calls_made == {
        "code": "calls_made",
        "name": {"en": "Calls made", "sv": calls_made["name"]["sv"]},
        "description": {"en": "Completed outbound calls.", "sv": calls_made["description"]["sv"]},
        "category": "activity",
        "kind": "leading",
        "unit": "count",
        "direction": "up",
        "roles": ["ae", "am", "sdr"],
        "additive": True,
        "dimensions": [],
    }
    assert calls_made["name"]["sv"] not in ("", "Calls made")


def test_one_kpi_by_code_and_an_unknown_code_is_404(org):
    client = client_for(org.anna)

    win_rate = client.get(f"{KPIS_URL}win_rate/").data
    assert (win_rate["kind"], win_rate["unit"], win_rate["additive"]) == ("lagging", "ratio", False)
    assert client.get(f"{KPIS_URL}avg_deal_size/").data["dimensions"] == [
        "lead_source",
        "customer_type",
        "channel",
    ]
    assert client.get(f"{KPIS_URL}no_such_kpi/").status_code == 404


@pytest.mark.parametrize(
    "url",
    [KPIS_URL, VALUES_URL, f"{API}/scorecards/1/", RECOMPUTE_URL],
)
def test_anonymous_is_401(url):
    assert client_for().get(url).status_code == 401


# ---------------------------------------------------------------------------
# KPI values: happy paths
# ---------------------------------------------------------------------------
def test_a_reps_month_value_with_target_attainment_and_status(march):
    org = march
    month_target(rep=org.anna, value=10)

    rows = values(
        client_for(org.anna),
        kpi="calls_made",
        scope="rep",
        rep=org.anna.pk,
        start="2025-03-05",
        end="2025-03-06",
    )

    assert rows == [
        {
            "kpi": "calls_made",
            "scope": "rep",
            "rep": org.anna.pk,
            "team": org.north.pk,
            "period": "month",
            "period_start": "2025-03-01",
            "dimension": "",
            "value": 8.0,
            "numerator": 8.0,
            "denominator": None,
            "target": 10.0,
            "attainment": 0.8,
            "status": "close",
        }
    ]


def test_a_ratio_carries_numerator_and_denominator(march):
    org = march
    (row,) = values(
        client_for(org.anna),
        kpi="call_connect_rate",
        scope="rep",
        rep=org.anna.pk,
        start="2025-03-01",
        end="2025-03-31",
    )

    assert (row["value"], row["numerator"], row["denominator"]) == (0.25, 2.0, 8.0)
    assert row["target"] is None and row["attainment"] is None and row["status"] is None


def test_a_period_without_data_is_a_row_with_a_null_value_beside_its_target(march):
    org = march
    month_target(rep=org.anna, value=10)

    rows = values(
        client_for(org.anna),
        kpi="calls_made",
        scope="rep",
        rep=org.anna.pk,
        start="2025-02-01",
        end="2025-04-30",
    )

    assert [(r["period_start"], r["value"], r["target"], r["status"]) for r in rows] == [
        ("2025-02-01", None, 10.0, None),
        ("2025-03-01", 8.0, 10.0, "close"),
        ("2025-04-01", None, 10.0, None),
    ]


def test_weeks_quarters_and_years_bucket_the_same_data(march):
    org = march
    client = client_for(org.anna)
    common = {"kpi": "calls_made", "scope": "rep", "rep": org.anna.pk, "start": "2025-03-10"}
    common["end"] = common["start"]

    week = values(client, period="week", **common)
    quarter = values(client, period="quarter", **common)
    year = values(client, period="year", **common)

    assert [(r["period_start"], r["value"]) for r in week] == [("2025-03-10", 8.0)]
    assert [(r["period_start"], r["value"]) for r in quarter] == [("2025-01-01", 8.0)]
    assert [(r["period_start"], r["value"]) for r in year] == [("2025-01-01", 8.0)]


def test_team_values_sum_the_members_and_their_targets(march):
    org = march
    month_target(rep=org.anna, value=10)
    month_target(rep=org.sam, value=10)

    rows = values(
        client_for(org.mia),
        kpi="calls_made",
        scope="team",
        team=org.north.pk,
        start="2025-03-01",
        end="2025-03-31",
    )

    assert [(r["team"], r["rep"], r["value"], r["target"], r["attainment"]) for r in rows] == [
        (org.north.pk, None, 12.0, 20.0, 0.6)
    ]
    assert rows[0]["status"] == "behind"


def test_org_values_cover_everyone_and_a_rep_reads_them(march):
    org = march
    month_target(value=15)  # An everyone target: each rep's (additive), so the org's sums them.

    (row,) = values(
        client_for(org.sam), kpi="calls_made", scope="org", start="2025-03-01", end="2025-03-31"
    )

    assert (row["rep"], row["team"], row["value"]) == (None, None, 17.0)
    reps = User.objects.filter(role__in=["sdr", "ae", "am"]).count()
    assert row["target"] == 15.0 * reps


def test_several_kpis_at_once_in_registry_order(march):
    org = march
    rows = values(
        client_for(org.anna),
        kpi=["call_connect_rate", "calls_made"],
        scope="rep",
        rep=org.anna.pk,
        start="2025-03-01",
        end="2025-03-31",
    )

    assert [r["kpi"] for r in rows] == ["calls_made", "call_connect_rate"]


def test_manager_reads_the_reps_of_their_team_by_team(march):
    org = march
    rows = values(
        client_for(org.mia),
        kpi="calls_made",
        scope="rep",
        team=org.north.pk,
        start="2025-03-01",
        end="2025-03-31",
    )

    # The team's sales reps (not its manager), by id.
    assert [(r["rep"], r["value"]) for r in rows] == sorted([(org.anna.pk, 8.0), (org.sam.pk, 4.0)])


def test_a_rep_reads_a_teammates_values(march):
    org = march
    rows = values(
        client_for(org.sam),
        kpi="calls_made",
        scope="rep",
        rep=org.anna.pk,
        start="2025-03-01",
        end="2025-03-31",
    )

    assert [r["value"] for r in rows] == [8.0]


def test_team_scope_without_a_team_lists_every_team_the_caller_reads(march):
    org = march
    client = client_for(org.root)

    rows = values(client, kpi="calls_made", scope="team", start="2025-03-01", end="2025-03-31")

    assert [(r["team"], r["value"]) for r in rows] == sorted(
        [(org.north.pk, 12.0), (org.south.pk, 5.0)]
    )
    assert [r["team"] for r in values(client_for(org.anna), kpi="calls_made", scope="team")] == [
        org.north.pk
    ]


def test_dimension_filters_and_kpis_without_a_plain_value(march):
    org = march
    client = client_for(org.anna)
    common = {"scope": "rep", "rep": org.anna.pk, "start": "2025-03-01", "end": "2025-03-31"}

    # Per stage only: no plain row, and no stage rows without data.
    assert values(client, kpi="days_in_stage", **common) == []
    # The plain value only.
    rows = values(client, kpi="avg_deal_size", dimension="", **common)
    assert [r["dimension"] for r in rows] == [""]
    # A family: its keys only (none with data here).
    assert values(client, kpi="avg_deal_size", dimension="lead_source", **common) == []


def test_the_list_is_paginated(march):
    org = march
    client = client_for(org.anna)
    common = {"kpi": "calls_made", "scope": "rep", "rep": org.anna.pk, "period": "week"}

    first = client.get(VALUES_URL, {**common, "start": "2025-01-01", "end": "2025-03-31"})
    assert first.status_code == 200
    assert first.data["count"] == 14  # The ISO weeks overlapping Q1 2025.
    small = client.get(
        VALUES_URL, {**common, "start": "2025-01-01", "end": "2025-03-31", "page_size": 5}
    )
    assert len(small.data["results"]) == 5
    assert small.data["next"] is not None


# ---------------------------------------------------------------------------
# KPI values: scope
# ---------------------------------------------------------------------------
def test_another_teams_rep_or_team_is_simply_not_there(march):
    org = march
    client = client_for(org.anna)

    assert (
        values(
            client,
            kpi="calls_made",
            scope="rep",
            rep=org.bo.pk,
            start="2025-03-01",
            end="2025-03-31",
        )
        == []
    )
    assert values(client, kpi="calls_made", scope="rep", team=org.south.pk) == []
    assert values(client, kpi="calls_made", scope="team", team=org.south.pk) == []


def test_a_manager_does_not_read_another_teams_reps(march):
    org = march
    client = client_for(org.mia)

    assert values(client, kpi="calls_made", scope="rep", rep=org.bo.pk) == []
    assert values(client, kpi="calls_made", scope="team", team=org.south.pk) == []


def test_an_unknown_rep_is_an_empty_list(org):
    assert values(client_for(org.root), kpi="calls_made", scope="rep", rep=999_999) == []


# ---------------------------------------------------------------------------
# KPI values: validation
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"kpi": "no_such_kpi", "scope": "org"}, "kpi"),
        ({"scope": "org"}, "kpi"),
        ({"kpi": "calls_made"}, "scope"),
        ({"kpi": "calls_made", "scope": "galaxy"}, "scope"),
        ({"kpi": "calls_made", "scope": "org", "period": "fortnight"}, "period"),
        ({"kpi": "calls_made", "scope": "org", "start": "2025-03-02", "end": "2025-03-01"}, "end"),
        ({"kpi": "calls_made", "scope": "org", "start": "March"}, "start"),
        ({"kpi": "calls_made", "scope": "org", "end": "9999-12-31"}, "end"),
        ({"kpi": "calls_made", "scope": "rep"}, "rep"),
        ({"kpi": "calls_made", "scope": "team", "rep": 1}, "rep"),
        ({"kpi": "calls_made", "scope": "org", "team": 1}, "team"),
        ({"kpi": "calls_made", "scope": "rep", "rep": "x"}, "rep"),
        ({"kpi": "calls_made", "scope": "rep", "rep": 2**63}, "rep"),
        ({"kpi": "calls_made", "scope": "org", "dimension": "stage"}, "dimension"),
    ],
)
def test_invalid_queries_are_400_on_their_fields(org, params, field):
    response = client_for(org.anna).get(VALUES_URL, params)

    assert response.status_code == 400
    assert field in response.data, response.data
    assert all(isinstance(message, str) for message in response.data[field])


def test_an_oversized_request_is_400(org):
    response = client_for(org.root).get(
        VALUES_URL,
        {"kpi": list(CODES), "scope": "team", "period": "week", "start": "1900-01-01"},
    )

    assert response.status_code == 400
    assert "non_field_errors" in response.data


def test_the_values_list_makes_the_same_queries_for_few_and_many_reps(
    org, django_assert_max_num_queries
):
    client = client_for(org.root)
    counts = []
    reps = [org.anna, org.sam]
    for size in (2, 12):
        while len(reps) < size:
            reps.append(
                UserFactory(username=f"extra{len(reps)}", role=User.Role.SDR, team=org.north)
            )
        for rep in reps:
            calls(rep, 2, dt.date(2025, 3, 10))
            month_target(rep=rep, value=5, valid_from=dt.date(2024, 1, 1) + dt.timedelta(len(reps)))
        recompute_full()
        with django_assert_max_num_queries(8) as captured:
            rows = values(
                client,
                kpi=["calls_made", "call_connect_rate", "quota_attainment", "open_opportunities"],
                scope="rep",
                team=org.north.pk,
                start="2025-01-01",
                end="2025-03-31",
            )
        assert len(rows) == 4 * size * 3
        counts.append(len(captured))

    assert counts[0] == counts[1]


# ---------------------------------------------------------------------------
# Scorecards
# ---------------------------------------------------------------------------
def scorecard_url(user: User) -> str:
    return f"{API}/scorecards/{user.pk}/"


def test_a_past_scorecard_groups_the_role_preset_leading_then_lagging(march):
    org = march
    month_target(rep=org.anna, value=10)

    response = client_for(org.anna).get(
        scorecard_url(org.anna), {"period": "month", "date": "2025-03-20"}
    )

    assert response.status_code == 200, response.data
    card = response.data
    assert (card["rep"], card["role"], card["period"]) == (org.anna.pk, "ae", "month")
    assert (card["period_start"], card["period_end"]) == ("2025-03-01", "2025-03-31")
    assert (card["date"], card["current"]) == ("2025-03-20", False)
    assert [(g["kind"], g["category"]) for g in card["groups"]] == [
        ("leading", "activity"),
        ("leading", "efficiency"),
        ("leading", "progress"),
        ("lagging", "result"),
    ]
    codes = [line["kpi"] for group in card["groups"] for line in group["kpis"]]
    preset = list(RolePreset.objects.filter(role="ae").values_list("kpi", flat=True))
    assert sorted(codes) == sorted(preset)
    (calls_made,) = [
        line for g in card["groups"] for line in g["kpis"] if line["kpi"] == "calls_made"
    ]
    assert calls_made == {
        "kpi": "calls_made",
        "name": "Calls made",
        "unit": "count",
        "direction": "up",
        "value": 8.0,
        "numerator": 8.0,
        "denominator": None,
        "target": 10.0,
        "attainment": 0.8,
        "status": "close",
        "pace": None,  # Not the current period.
        "projection": None,
    }


def test_the_current_scorecard_has_pace_and_projection(org):
    today = timezone.localdate()
    activity_log(owner=org.anna, kind="call", occurred_at=timezone.now())
    activity_log(owner=org.anna, kind="call", occurred_at=timezone.now())
    recompute_full()
    month_target(rep=org.anna, value=40, valid_from=dt.date(2020, 1, 1))

    card = client_for(org.anna).get(scorecard_url(org.anna)).data

    assert card["current"] is True
    assert card["date"] == today.isoformat()
    (line,) = [ln for g in card["groups"] for ln in g["kpis"] if ln["kpi"] == "calls_made"]
    expected = pace(
        code="calls_made",
        value=2.0,
        target=Decimal(40),
        period=period_containing("month", today),
        today=today,
    )
    assert line["value"] == 2.0
    assert line["pace"] == {
        "expected_to_date": float(expected.expected_to_date),
        "on_pace": expected.on_pace,
        "elapsed_working_days": expected.elapsed_working_days,
        "working_days": expected.working_days,
    }
    projection = expected.projection
    assert line["projection"] == (float(projection) if projection is not None else None)
    # Non-additive KPIs have no pace.
    (win_rate,) = [ln for g in card["groups"] for ln in g["kpis"] if ln["kpi"] == "win_rate"]
    assert win_rate["pace"] is None


def test_the_scorecard_follows_the_stored_preset_and_falls_back_to_the_registry(org):
    RolePreset.objects.filter(role="sdr").delete()
    client = client_for(org.sam)

    fallback = client.get(scorecard_url(org.sam)).data
    codes = [ln["kpi"] for g in fallback["groups"] for ln in g["kpis"]]
    assert sorted(codes) == sorted(k.code for k in role_preset("sdr"))

    RolePreset.objects.create(role="sdr", kpi="win_rate", order=2)
    RolePreset.objects.create(role="sdr", kpi="emails_sent", order=1)
    RolePreset.objects.create(role="sdr", kpi="calls_made", order=3)
    edited = client.get(scorecard_url(org.sam)).data
    assert [(g["category"], [ln["kpi"] for ln in g["kpis"]]) for g in edited["groups"]] == [
        ("activity", ["emails_sent", "calls_made"]),
        ("result", ["win_rate"]),
    ]


@pytest.mark.parametrize(
    ("caller", "subject", "expected"),
    [
        ("anna", "anna", 200),
        ("anna", "sam", 404),  # Teammates do not read each other's scorecards.
        ("anna", "bo", 404),
        ("mia", "anna", 200),
        ("mia", "bo", 404),
        ("max", "bo", 200),
        ("root", "bo", 200),
    ],
)
def test_scorecard_permissions(org, caller, subject, expected):
    response = client_for(getattr(org, caller)).get(scorecard_url(getattr(org, subject)))

    assert response.status_code == expected


@pytest.mark.parametrize("user_id", [999_999, 2**63, 2**70])
def test_an_unknown_user_has_no_scorecard(org, user_id):
    assert client_for(org.root).get(f"{API}/scorecards/{user_id}/").status_code == 404


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"period": "decade"}, "period"),
        ({"date": "yesterday"}, "date"),
        ({"date": "0001-01-01"}, "date"),
    ],
)
def test_invalid_scorecard_queries_are_400_on_their_fields(org, params, field):
    response = client_for(org.anna).get(scorecard_url(org.anna), params)

    assert response.status_code == 400
    assert field in response.data


def test_the_scorecard_makes_a_constant_number_of_queries(march, django_assert_max_num_queries):
    org = march
    client = client_for(org.mia)
    for rep in (org.anna, org.sam):
        with django_assert_max_num_queries(9):
            assert client.get(scorecard_url(rep), {"date": "2025-03-10"}).status_code == 200


# ---------------------------------------------------------------------------
# Recompute runs
# ---------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def test_a_manager_queues_a_recompute_after_commit_and_follows_it(
    org, django_capture_on_commit_callbacks
):
    activity_log(owner=org.anna, kind="call", occurred_at=at(dt.date(2025, 3, 10)))
    client = client_for(org.mia)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(RECOMPUTE_URL, {}, format="json")
        # Nothing ran inside the request's transaction.
        assert not RepDay.objects.exists()

    assert response.status_code == 202, response.data
    assert response.data["state"] == "PENDING"
    assert response.data["full"] is False
    assert len(callbacks) >= 1
    assert RepDay.objects.filter(rep=org.anna, calls_made=1).exists()
    state = client.get(f"{RECOMPUTE_URL}{response.data['task_id']}/")
    assert state.status_code == 200
    assert state.data == {"task_id": response.data["task_id"], "state": "SUCCESS", "full": False}


def test_a_full_recompute_rebuilds_everything(org, django_capture_on_commit_callbacks):
    activity_log(owner=org.anna, kind="call", occurred_at=at(dt.date(2025, 3, 10)))
    recompute_full()
    KPIValue.objects.all().delete()
    RepDay.objects.all().delete()  # Lost rollups: only a full run rebuilds them.

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(org.root).post(RECOMPUTE_URL, {"full": True}, format="json")

    assert response.status_code == 202
    assert response.data["full"] is True
    assert RepDay.objects.filter(rep=org.anna, calls_made=1).exists()
    state = client_for(org.root).get(f"{RECOMPUTE_URL}{response.data['task_id']}/").data
    assert (state["state"], state["full"]) == ("SUCCESS", True)


def test_a_rep_may_not_queue_or_follow_a_recompute(org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        queued = client_for(org.mia).post(RECOMPUTE_URL, {}, format="json").data

    assert client_for(org.anna).post(RECOMPUTE_URL, {}, format="json").status_code == 403
    assert client_for(org.anna).get(f"{RECOMPUTE_URL}{queued['task_id']}/").status_code == 403


def test_an_unknown_task_is_404_and_a_bad_body_is_400(org):
    client = client_for(org.mia)

    assert client.get(f"{RECOMPUTE_URL}00000000-0000-4000-8000-000000000000/").status_code == 404
    assert client.get(f"{RECOMPUTE_URL}not-a-uuid/").status_code == 404
    bad = client.post(RECOMPUTE_URL, {"full": "maybe"}, format="json")
    assert bad.status_code == 400
    assert "full" in bad.data


def test_a_booking_counts_for_the_booker_in_the_values(org):
    # The values endpoint reads the engine's attribution: a booking counts for `booked_by`.
    activity_book(
        booked_by=org.sam,
        owner=org.anna,
        kind="meeting",
        occurred_at=at(dt.date(2025, 3, 20)),
        booked_at=at(dt.date(2025, 3, 10)),
    )
    recompute_full()

    rows = values(
        client_for(org.mia),
        kpi="meetings_booked",
        scope="rep",
        team=org.north.pk,
        start="2025-03-01",
        end="2025-03-31",
    )

    assert {r["rep"]: r["value"] for r in rows} == {org.anna.pk: None, org.sam.pk: 1.0}


@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("real_broker")
def test_a_queued_recompute_runs_on_a_real_worker_and_its_state_is_followed():
    # No ManagerFactory: an earlier transactional test's flush may have removed the Managers
    # group its data migration seeds; the API knows a manager by role.
    anna = UserFactory(username="anna-broker")
    mia = UserFactory(username="mia-broker", role=User.Role.MANAGER, team=anna.team)
    activity_log(owner=anna, kind="call", occurred_at=at(dt.date(2025, 3, 10)))
    client = client_for(mia)

    queued = client.post(RECOMPUTE_URL, {}, format="json")

    assert queued.status_code == 202
    url = f"{RECOMPUTE_URL}{queued.data['task_id']}/"
    deadline = time.monotonic() + 90
    state = client.get(url).data["state"]
    while state not in ("SUCCESS", "FAILURE") and time.monotonic() < deadline:
        time.sleep(0.2)
        state = client.get(url).data["state"]
    assert state == "SUCCESS"
    assert RepDay.objects.filter(rep=anna, calls_made=1).exists()
