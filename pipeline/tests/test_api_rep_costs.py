"""The rep-costs endpoint: managers set their teams' costs through `rep_cost_set`."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from pipeline.models import RepCost
from pipeline.services import rep_cost_set
from saljsite.tests.api_support import API, build_org, client_for

pytestmark = pytest.mark.django_db

URL = f"{API}/rep-costs/"
OCTOBER = dt.date(2026, 10, 1)


@pytest.fixture
def org():
    return build_org()


def ids(response) -> set[int]:
    return {row["id"] for row in response.data["results"]}


def test_manager_sets_a_team_members_monthly_cost(org):
    response = client_for(org.mia).post(
        URL, {"rep": org.anna.pk, "month": "2026-10-01", "kind": "salary", "amount": "52000.00"}
    )

    assert response.status_code == 201, response.data
    assert response.data == {
        "id": RepCost.objects.get().pk,
        "rep": org.anna.pk,
        "month": "2026-10-01",
        "kind": "salary",
        "amount": "52000.00",
    }


def test_setting_the_same_rep_month_and_kind_again_replaces_the_amount_with_200(org):
    client = client_for(org.mia)
    body = {"rep": org.anna.pk, "month": "2026-10-01", "kind": "bonus", "amount": "1000"}

    first = client.post(URL, body)
    second = client.post(URL, {**body, "amount": "1500"})

    assert (first.status_code, second.status_code) == (201, 200)
    assert first.data["id"] == second.data["id"]
    assert RepCost.objects.get().amount == Decimal("1500")


def test_a_month_that_is_not_its_first_day_is_400_on_month(org):
    response = client_for(org.mia).post(
        URL, {"rep": org.anna.pk, "month": "2026-10-15", "amount": "1"}
    )

    assert response.status_code == 400
    assert set(response.data) == {"month"}


def test_a_negative_amount_is_400_on_amount(org):
    response = client_for(org.mia).post(
        URL, {"rep": org.anna.pk, "month": "2026-10-01", "amount": "-1"}
    )

    assert response.status_code == 400
    assert set(response.data) == {"amount"}


def test_a_rep_writing_a_cost_is_403_even_their_own(org):
    response = client_for(org.anna).post(
        URL, {"rep": org.anna.pk, "month": "2026-10-01", "amount": "99999"}
    )

    assert response.status_code == 403
    assert not RepCost.objects.exists()


def test_manager_setting_another_teams_cost_is_403(org):
    response = client_for(org.mia).post(
        URL, {"rep": org.bo.pk, "month": "2026-10-01", "amount": "1"}
    )

    assert response.status_code == 403


def test_rep_reads_only_their_own_costs(org):
    own = rep_cost_set(rep=org.anna, month=OCTOBER, kind="salary", amount=1)
    teammates = rep_cost_set(rep=org.sam, month=OCTOBER, kind="salary", amount=1)
    client = client_for(org.anna)

    assert ids(client.get(URL)) == {own.pk}
    assert client.get(f"{URL}{teammates.pk}/").status_code == 404


def test_manager_reads_their_teams_costs_and_another_teams_are_404(org):
    anna = rep_cost_set(rep=org.anna, month=OCTOBER, kind="salary", amount=1)
    sam = rep_cost_set(rep=org.sam, month=OCTOBER, kind="salary", amount=1)
    bo = rep_cost_set(rep=org.bo, month=OCTOBER, kind="salary", amount=1)
    client = client_for(org.mia)

    assert ids(client.get(URL)) == {anna.pk, sam.pk}
    assert client.get(f"{URL}{bo.pk}/").status_code == 404
    assert client.patch(f"{URL}{bo.pk}/", {"amount": "2"}).status_code == 404


def test_manager_changes_an_amount_but_not_the_month(org):
    cost = rep_cost_set(rep=org.anna, month=OCTOBER, kind="salary", amount=1)
    client = client_for(org.mia)

    assert client.patch(f"{URL}{cost.pk}/", {"amount": "2.50"}).status_code == 200
    refused = client.patch(f"{URL}{cost.pk}/", {"month": "2026-11-01"})
    assert refused.status_code == 400
    assert "month" in refused.data
    cost.refresh_from_db()
    assert (cost.amount, cost.month) == (Decimal("2.50"), OCTOBER)


def test_costs_are_filtered_by_rep_and_month_range(org):
    rep_cost_set(rep=org.anna, month=dt.date(2026, 9, 1), kind="salary", amount=1)
    october = rep_cost_set(rep=org.anna, month=OCTOBER, kind="salary", amount=1)
    rep_cost_set(rep=org.sam, month=OCTOBER, kind="salary", amount=1)

    response = client_for(org.mia).get(URL, {"rep": org.anna.pk, "month__gte": "2026-10-01"})

    assert ids(response) == {october.pk}


def test_anonymous_is_401(org):
    assert client_for().get(URL).status_code == 401


def test_the_rep_costs_list_makes_the_same_queries_for_3_and_30(org, django_assert_max_num_queries):
    client = client_for(org.mia)
    counts = []
    for size in (3, 30):
        while (made := RepCost.objects.count()) < size:
            month = dt.date(2024 + made // 12, made % 12 + 1, 1)
            rep_cost_set(rep=org.anna, month=month, kind="salary", amount=made)
        with django_assert_max_num_queries(2) as captured:
            response = client.get(URL, {"page_size": 100})
        assert response.data["count"] == size
        counts.append(len(captured))

    assert counts[0] == counts[1]
