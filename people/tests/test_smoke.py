import pytest

from activities.tests.factories import ActivityFactory
from people.tests.factories import UserFactory
from pipeline.tests.factories import OpportunityFactory


@pytest.mark.django_db
def test_signed_in_rep_sees_todays_calls_on_home(client):
    rep = UserFactory()
    ActivityFactory(owner=rep, kind="call", outcome="connected", duration_seconds=200)
    OpportunityFactory(owner=rep)
    client.force_login(rep)
    response = client.get("/")
    assert response.status_code == 200
    counts = {c.kind: c.count for c in response.context["counts"]}
    assert counts["call"] == 1


def test_the_site_icon_is_served_and_named_by_every_page(client):
    # /favicon.ico, asked for by browsers on pages that name no icon (the admin's), leads to it.
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    icon = client.get(response["Location"])
    assert icon.status_code == 200
    assert b"<svg" in b"".join(icon.streaming_content)
    # The pages name it.
    assert f'<link rel="icon" href="{response["Location"]}"' in client.get("/accounts/login/").text
