"""Every page of the rep workspace renders in a constant number of SQL queries: measured with a
small organisation, then again after adding many more rows of everything, under the same bound."""

from __future__ import annotations

import pytest
from django.urls import reverse

from activities.models import Activity
from people.tests.workspace import build_org, grow

# The bound per page (session, user, then the page's own reads). The same at both sizes.
PAGES = {
    "home": ("ae", lambda org: reverse("home"), 10),
    "week": ("ae", lambda org: reverse("activities:week"), 9),
    "log_call": ("ae", lambda org: reverse("activities:log") + "?kind=call", 5),
    "log_meeting": ("ae", lambda org: reverse("activities:log") + "?kind=meeting", 5),
    "book": ("sdr", lambda org: reverse("activities:book"), 7),
    "activity": ("ae", lambda org: reverse("activities:detail", args=[_call(org)]), 5),
    "activity_edit": ("ae", lambda org: reverse("activities:edit", args=[_call(org)]), 6),
    "activity_complete": ("ae", lambda org: reverse("activities:complete", args=[_due(org)]), 4),
    "activity_delete": ("ae", lambda org: reverse("activities:delete", args=[_call(org)]), 4),
    "leads": ("sdr", lambda org: reverse("pipeline:leads"), 4),
    "lead_convert": ("sdr", lambda org: reverse("pipeline:lead_convert", args=[org.lead.pk]), 8),
    "board": ("ae", lambda org: reverse("pipeline:board"), 5),
    "opportunity_create": ("ae", lambda org: reverse("pipeline:opportunity_create"), 8),
    "opportunity": (
        "ae",
        lambda org: reverse("pipeline:opportunity_detail", args=[org.opportunity.pk]),
        10,
    ),
    "search": ("ae", lambda org: reverse("pipeline:search") + "?q=ab", 4),
    "password_change": ("ae", lambda org: reverse("people:password_change"), 3),
}


def _call(org) -> int:
    return Activity.objects.filter(owner=org.ae, kind="call").order_by("pk").first().pk


def _due(org) -> int:
    return Activity.objects.filter(owner=org.ae, status="planned").order_by("pk").first().pk


@pytest.mark.django_db
@pytest.mark.parametrize("page", list(PAGES))
def test_page_renders_in_a_constant_number_of_queries(client, django_assert_max_num_queries, page):
    username, url, bound = PAGES[page]
    org = build_org()
    grow(org, 1)
    client.force_login(getattr(org, username))

    counts = []
    for extra in (0, 6):  # Two data sizes: small, then seven times as much of everything.
        grow(org, extra)
        target = url(org)
        with django_assert_max_num_queries(bound) as captured:
            response = client.get(target)
        assert response.status_code == 200, (page, response.status_code)
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1], f"{page}: {counts[0]} queries, then {counts[1]}"


@pytest.mark.django_db
def test_sign_in_page_renders_in_a_constant_number_of_queries(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert client.get(reverse("login")).status_code == 200
