"""Guessing URLs: another team's activity is missing (404); a teammate's activity exists for a
rep but is not theirs to see or change (403). The booker, the owner's manager and the owner may."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from activities import services
from activities.models import Activity
from people.tests.workspace import build_org

pytestmark = pytest.mark.django_db

VIEWS = ["detail", "edit", "complete", "delete"]


@pytest.fixture
def org():
    return build_org()


@pytest.fixture
def meeting(org):
    """A meeting the SDR booked for the AE."""
    return services.activity_book(
        booked_by=org.sdr, owner=org.ae, kind="meeting", occurred_at=timezone.now()
    )


@pytest.fixture
def other_teams_call(org):
    return services.activity_log(owner=org.other_rep, kind="call")


@pytest.mark.parametrize("view", VIEWS)
def test_another_teams_activity_is_not_found(client, org, other_teams_call, view):
    client.force_login(org.ae)
    url = reverse(f"activities:{view}", args=[other_teams_call.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {}).status_code == 404


@pytest.mark.parametrize("view", ["cancel", "delete", "edit", "complete"])
def test_another_teams_activity_cannot_be_changed_by_post(client, org, view):
    planned = services.activity_book(
        booked_by=org.other_rep, owner=org.other_rep, kind="demo", occurred_at=timezone.now()
    )
    client.force_login(org.ae)
    response = client.post(reverse(f"activities:{view}", args=[planned.pk]), {"mode": "digital"})
    assert response.status_code == 404
    planned.refresh_from_db()
    assert planned.status == "planned"


@pytest.mark.parametrize("view", VIEWS)
def test_a_teammates_activity_is_forbidden(client, org, view):
    call = services.activity_log(owner=org.ae2, kind="call")
    client.force_login(org.ae)
    url = reverse(f"activities:{view}", args=[call.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {}).status_code == 403
    assert Activity.objects.filter(pk=call.pk).exists()


def test_a_teammate_cannot_cancel_a_meeting_that_is_not_theirs(client, org, meeting):
    client.force_login(org.ae2)
    assert client.post(reverse("activities:cancel", args=[meeting.pk])).status_code == 403
    meeting.refresh_from_db()
    assert meeting.status == "planned"


@pytest.mark.parametrize("who", ["ae", "sdr", "manager"])
def test_the_owner_the_booker_and_the_teams_manager_may_open_a_booking(client, org, meeting, who):
    client.force_login(getattr(org, who))
    for view in VIEWS:
        assert client.get(reverse(f"activities:{view}", args=[meeting.pk])).status_code == 200


def test_another_teams_manager_does_not_find_it(client, org, meeting):
    client.force_login(org.other_manager)
    assert client.get(reverse("activities:detail", args=[meeting.pk])).status_code == 404


def test_a_missing_activity_is_not_found(client, org):
    client.force_login(org.ae)
    response = client.get(reverse("activities:detail", args=[999_999]))
    assert response.status_code == 404
    assert "There is nothing here, or nothing you can see." in response.content.decode()


def test_a_forbidden_page_says_so_in_the_workspace_layout(client, org):
    call = services.activity_log(owner=org.ae2, kind="call")
    client.force_login(org.ae)
    response = client.get(reverse("activities:detail", args=[call.pk]))
    assert response.status_code == 403
    html = response.content.decode()
    assert "No access" in html
    assert 'aria-label="Main"' in html
