"""Every workspace page sends anonymous visitors to sign in, and every POST needs a CSRF token."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from activities import services
from people.tests.workspace import build_org

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return build_org()


@pytest.fixture
def meeting(org):
    return services.activity_book(
        booked_by=org.sdr, owner=org.ae, kind="meeting", occurred_at=timezone.now()
    )


def _urls(org, meeting) -> dict[str, str]:
    return {
        "home": reverse("home"),
        "log": reverse("activities:log"),
        "book": reverse("activities:book"),
        "week": reverse("activities:week"),
        "detail": reverse("activities:detail", args=[meeting.pk]),
        "edit": reverse("activities:edit", args=[meeting.pk]),
        "complete": reverse("activities:complete", args=[meeting.pk]),
        "cancel": reverse("activities:cancel", args=[meeting.pk]),
        "delete": reverse("activities:delete", args=[meeting.pk]),
        "search": reverse("pipeline:search"),
        "leads": reverse("pipeline:leads"),
        "lead_respond": reverse("pipeline:lead_respond", args=[org.lead.pk]),
        "lead_convert": reverse("pipeline:lead_convert", args=[org.lead.pk]),
        "board": reverse("pipeline:board"),
        "opportunity_create": reverse("pipeline:opportunity_create"),
        "opportunity_detail": reverse("pipeline:opportunity_detail", args=[org.opportunity.pk]),
        "opportunity_move": reverse("pipeline:opportunity_move", args=[org.opportunity.pk]),
        "password_change": reverse("people:password_change"),
    }


NAMES = [
    "home",
    "log",
    "book",
    "week",
    "detail",
    "edit",
    "complete",
    "cancel",
    "delete",
    "search",
    "leads",
    "lead_respond",
    "lead_convert",
    "board",
    "opportunity_create",
    "opportunity_detail",
    "opportunity_move",
    "password_change",
]


@pytest.mark.parametrize("name", NAMES)
def test_anonymous_visitors_are_sent_to_sign_in(client, org, meeting, name):
    url = _urls(org, meeting)[name]
    for response in (client.get(url), client.post(url, {})):
        assert response.status_code == 302
        assert response.url == f"{reverse('login')}?next={url}"


POSTS = [
    ("log", "ae", {"kind": "call", "status": "completed", "direction": "outbound"}),
    ("book", "sdr", {"kind": "meeting"}),
    ("edit", "ae", {"subject": "x"}),
    ("complete", "ae", {"mode": "digital"}),
    ("cancel", "ae", {}),
    ("delete", "ae", {}),
    ("lead_respond", "sdr", {"kind": "call"}),
    ("lead_convert", "sdr", {"name": "x"}),
    ("opportunity_create", "ae", {"name": "x"}),
    ("opportunity_move", "ae", {"amount": "1"}),
    ("password_change", "ae", {"old_password": "x"}),
]


@pytest.mark.parametrize(("name", "who", "data"), POSTS)
def test_every_post_needs_the_csrf_token(org, meeting, name, who, data):
    client = Client(enforce_csrf_checks=True)
    client.force_login(getattr(org, who))
    response = client.post(_urls(org, meeting)[name], data)
    assert response.status_code == 403
    assert b"CSRF" in response.content


def test_a_post_with_the_token_from_the_form_goes_through(org):
    client = Client(enforce_csrf_checks=True)
    client.force_login(org.sdr)
    page = client.get(reverse("pipeline:leads")).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    url = reverse("pipeline:lead_respond", args=[org.lead.pk])
    assert client.post(url, {"kind": "call"}).status_code == 403
    response = client.post(url, {"kind": "call", "csrfmiddlewaretoken": token})
    assert response.status_code == 302


@pytest.mark.parametrize("url", ["logout", "set_language"])
def test_sign_out_and_the_language_switcher_need_the_token_too(org, url):
    client = Client(enforce_csrf_checks=True)
    client.force_login(org.ae)
    assert client.post(reverse(url), {"language": "en"}).status_code == 403
