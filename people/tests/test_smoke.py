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
