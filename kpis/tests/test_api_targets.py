"""The targets endpoint: everyone reads the targets of their scope, managers set them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kpis.models import Target, TargetChange
from kpis.target_services import target_set
from saljsite.tests.api_support import API, build_org, client_for

pytestmark = pytest.mark.django_db

URL = f"{API}/targets/"
JAN = dt.date(2026, 1, 1)


@pytest.fixture
def org():
    return build_org()


def ids(response) -> set[int]:
    return {row["id"] for row in response.data["results"]}


def rep_target(rep, value=10, kpi="calls_made", by=None) -> Target:
    return target_set(
        kpi=kpi, scope="rep", rep=rep, period="week", value=value, valid_from=JAN, changed_by=by
    )


def test_manager_sets_a_rep_target_for_a_team_member_and_it_is_logged(org):
    response = client_for(org.mia).post(
        URL,
        {
            "kpi": "calls_made",
            "scope": "rep",
            "rep": org.anna.pk,
            "period": "week",
            "value": "50",
            "valid_from": "2026-01-01",
        },
    )

    assert response.status_code == 201, response.data
    target = Target.objects.get()
    assert response.data == {
        "id": target.pk,
        "kpi": "calls_made",
        "scope": "rep",
        "rep": org.anna.pk,
        "team": None,
        "role": "",
        "period": "week",
        "value": "50.0000",
        "valid_from": "2026-01-01",
        "valid_to": None,
        "updated_at": response.data["updated_at"],
    }
    assert TargetChange.objects.get().changed_by == org.mia


def test_setting_the_same_target_again_updates_it_with_200(org):
    body = {
        "kpi": "meetings_booked", "scope": "team", "team": org.north.pk, "period": "month",
        "value": "40", "valid_from": "2026-01-01",
    }  # fmt: skip
    client = client_for(org.mia)

    first = client.post(URL, body)
    second = client.post(URL, {**body, "value": "45"})

    assert (first.status_code, second.status_code) == (201, 200)
    assert first.data["id"] == second.data["id"]
    assert Target.objects.get().value == Decimal("45")


def test_manager_sets_a_role_target(org):
    response = client_for(org.mia).post(
        URL,
        {"kpi": "emails_sent", "scope": "role", "role": "sdr", "period": "week", "value": "100",
         "valid_from": "2026-01-01"},
    )  # fmt: skip

    assert response.status_code == 201, response.data


def test_an_unknown_kpi_is_400_on_kpi(org):
    response = client_for(org.mia).post(
        URL,
        {
            "kpi": "happiness",
            "scope": "all",
            "period": "week",
            "value": "1",
            "valid_from": "2026-01-01",
        },
    )

    assert response.status_code == 400
    assert set(response.data) == {"kpi"}


def test_a_rep_scope_without_a_rep_is_400_on_scope(org):
    response = client_for(org.mia).post(
        URL,
        {
            "kpi": "calls_made",
            "scope": "rep",
            "period": "week",
            "value": "1",
            "valid_from": "2026-01-01",
        },
    )

    assert response.status_code == 400
    assert set(response.data) == {"scope"}


def test_an_end_before_the_start_is_400_on_valid_to(org):
    response = client_for(org.mia).post(
        URL,
        {"kpi": "calls_made", "scope": "all", "period": "week", "value": "1",
         "valid_from": "2026-02-01", "valid_to": "2026-01-01"},
    )  # fmt: skip

    assert response.status_code == 400
    assert set(response.data) == {"valid_to"}


def test_a_rep_writing_a_target_is_403(org):
    response = client_for(org.anna).post(
        URL,
        {"kpi": "calls_made", "scope": "rep", "rep": org.anna.pk, "period": "week", "value": "1",
         "valid_from": "2026-01-01"},
    )  # fmt: skip

    assert response.status_code == 403


@pytest.mark.parametrize("subject", ["rep", "team"])
def test_manager_setting_another_teams_target_is_403(org, subject):
    body = {"kpi": "calls_made", "scope": subject, "period": "week", "value": "1",
            "valid_from": "2026-01-01"}  # fmt: skip
    body[subject] = org.bo.pk if subject == "rep" else org.south.pk

    response = client_for(org.mia).post(URL, body)

    assert response.status_code == 403
    assert not Target.objects.exists()


def test_rep_reads_the_targets_that_concern_their_team_role_and_everyone(org):
    own = rep_target(org.anna)
    teammates = rep_target(org.sam)
    other = rep_target(org.bo)
    team = target_set(kpi="calls_made", scope="team", team=org.north, period="week", value=1,
                      valid_from=JAN, changed_by=None)  # fmt: skip
    other_team = target_set(kpi="calls_made", scope="team", team=org.south, period="week",
                            value=1, valid_from=JAN, changed_by=None)  # fmt: skip
    role = target_set(kpi="calls_made", scope="role", role="ae", period="week", value=1,
                      valid_from=JAN, changed_by=None)  # fmt: skip
    everyone = target_set(kpi="calls_made", scope="all", period="week", value=1, valid_from=JAN,
                          changed_by=None)  # fmt: skip
    client = client_for(org.anna)

    assert ids(client.get(URL)) == {own.pk, teammates.pk, team.pk, role.pk, everyone.pk}
    assert client.get(f"{URL}{other.pk}/").status_code == 404
    assert client.get(f"{URL}{other_team.pk}/").status_code == 404


def test_manager_changes_a_target_value_and_the_change_is_logged(org):
    target = rep_target(org.anna)

    response = client_for(org.mia).patch(f"{URL}{target.pk}/", {"value": "12"})

    assert response.status_code == 200, response.data
    target.refresh_from_db()
    assert target.value == Decimal("12")
    change = TargetChange.objects.filter(action="changed").get()
    assert (change.changed_by, change.after["value"]) == (org.mia, "12.0000")


def test_manager_deletes_a_target_and_the_deletion_is_logged(org):
    target = rep_target(org.anna)

    response = client_for(org.mia).delete(f"{URL}{target.pk}/")

    assert response.status_code == 204
    assert not Target.objects.exists()
    assert TargetChange.objects.filter(action="deleted", changed_by=org.mia).count() == 1


def test_manager_changing_another_teams_target_is_404(org):
    target = rep_target(org.bo)

    assert client_for(org.mia).patch(f"{URL}{target.pk}/", {"value": "1"}).status_code == 404
    assert client_for(org.mia).delete(f"{URL}{target.pk}/").status_code == 404


def test_manager_moving_a_target_to_another_teams_rep_is_403(org):
    target = rep_target(org.anna)

    response = client_for(org.mia).patch(f"{URL}{target.pk}/", {"rep": org.bo.pk})

    assert response.status_code == 403


def test_targets_are_filtered_by_kpi_and_rep(org):
    calls = rep_target(org.anna)
    rep_target(org.anna, kpi="emails_sent")
    rep_target(org.sam)

    response = client_for(org.mia).get(URL, {"kpi": "calls_made", "rep": org.anna.pk})

    assert ids(response) == {calls.pk}


def test_anonymous_is_401(org):
    assert client_for().get(URL).status_code == 401


def test_the_targets_list_makes_the_same_queries_for_3_and_30(org, django_assert_max_num_queries):
    client = client_for(org.anna)
    counts = []
    for size in (3, 30):
        while (made := Target.objects.count()) < size:
            target_set(kpi="calls_made", scope="rep", rep=org.anna, period="week", value=made,
                       valid_from=JAN + dt.timedelta(days=made), changed_by=None)  # fmt: skip
        with django_assert_max_num_queries(2) as captured:
            response = client.get(URL, {"page_size": 100})
        assert response.data["count"] == size
        counts.append(len(captured))

    assert counts[0] == counts[1]
