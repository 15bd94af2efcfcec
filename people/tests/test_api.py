"""The users and teams endpoints: read-only, within the caller's scope."""

from __future__ import annotations

import pytest

from people.tests.factories import TeamFactory, UserFactory
from saljsite.tests.api_support import API, build_org, client_for

pytestmark = pytest.mark.django_db

USERS = f"{API}/users/"
TEAMS = f"{API}/teams/"


@pytest.fixture
def org():
    return build_org()


def usernames(response) -> set[str]:
    return {row["username"] for row in response.data["results"]}


def test_user_fields_are_id_username_name_role_team(org):
    response = client_for(org.anna).get(f"{USERS}{org.sam.pk}/")

    assert response.status_code == 200
    assert response.data == {
        "id": org.sam.pk,
        "username": "sam",
        "name": org.sam.get_full_name(),
        "role": "sdr",
        "team": org.north.pk,
    }


def test_a_user_without_a_team_has_team_null_as_the_schema_says(org):
    response = client_for(org.root).get(f"{USERS}{org.root.pk}/")
    schema = client_for(org.root).get(f"{API}/schema/", {"format": "json"}).json()

    assert (response.status_code, response.data["team"]) == (200, None)
    user = schema["components"]["schemas"]["User"]["properties"]
    team = schema["components"]["schemas"]["Team"]["properties"]
    assert user["team"]["nullable"] is True
    assert team["manager"]["nullable"] is True


def test_a_team_without_a_manager_has_manager_null(org):
    west = TeamFactory(name="West")
    west.manager = None
    west.save()

    response = client_for(org.root).get(f"{TEAMS}{west.pk}/")

    assert (response.status_code, response.data["manager"], response.data["members"]) == (
        200,
        None,
        [],
    )


def test_rep_reads_the_users_of_their_team(org):
    assert usernames(client_for(org.anna).get(USERS)) == {"anna", "sam", "mia"}


def test_manager_reads_the_members_of_the_teams_they_manage(org):
    assert usernames(client_for(org.max).get(USERS)) == {"max", "bo"}


def test_superuser_reads_every_user(org):
    assert usernames(client_for(org.root).get(USERS)) == {
        "anna", "sam", "mia", "max", "bo", "root",
    }  # fmt: skip


def test_a_user_of_another_team_is_404(org):
    assert client_for(org.anna).get(f"{USERS}{org.bo.pk}/").status_code == 404


def test_users_are_filtered_by_role(org):
    assert usernames(client_for(org.anna).get(USERS, {"role": "sdr"})) == {"sam"}


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_users_are_read_only(org, method):
    response = getattr(client_for(org.root), method)(f"{USERS}{org.anna.pk}/", {"role": "sdr"})

    assert response.status_code == 405


def test_anonymous_is_401(org):
    assert client_for().get(USERS).status_code == 401
    assert client_for().get(TEAMS).status_code == 401


def test_rep_reads_their_own_team_with_its_members(org):
    response = client_for(org.anna).get(TEAMS)

    assert response.data["results"] == [
        {
            "id": org.north.pk,
            "name": "North",
            "manager": org.mia.pk,
            "members": sorted([org.mia.pk, org.anna.pk, org.sam.pk]),
        }
    ]


def test_manager_reads_the_teams_they_manage(org):
    east = TeamFactory(name="East")
    east.manager = org.mia
    east.save()

    names = {row["name"] for row in client_for(org.mia).get(TEAMS).data["results"]}

    assert names == {"North", "East"}


def test_another_team_is_404(org):
    assert client_for(org.anna).get(f"{TEAMS}{org.south.pk}/").status_code == 404


def test_teams_are_read_only(org):
    assert client_for(org.root).post(TEAMS, {"name": "West"}).status_code == 405


def test_the_users_list_makes_the_same_queries_for_3_and_30_users(
    org, django_assert_max_num_queries
):
    team = TeamFactory(name="Big")
    viewer = UserFactory(username="viewer", team=team)
    client = client_for(viewer)
    counts = []
    for size in (3, 30):
        while team.members.count() < size:
            UserFactory(team=team)
        with django_assert_max_num_queries(2) as captured:
            response = client.get(USERS, {"page_size": 100})
        assert response.data["count"] == size
        counts.append(len(captured))

    assert counts[0] == counts[1]


def test_the_teams_list_makes_the_same_queries_for_3_and_30_teams(
    org, django_assert_max_num_queries
):
    client = client_for(org.root)
    counts = []
    for size in (3, 30):
        while (made := TeamFactory._meta.model.objects.count()) < size:
            team = TeamFactory(name=f"Team {made}")
            UserFactory(team=team)
        with django_assert_max_num_queries(3) as captured:
            response = client.get(TEAMS, {"page_size": 100})
        assert response.data["count"] == size
        counts.append(len(captured))

    assert counts[0] == counts[1]
