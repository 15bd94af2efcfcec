"""Search as you type: a rep finds their team's accounts and the unowned (shared) prospects with
their contacts, never another team's accounts."""

from __future__ import annotations

import pytest
from django.urls import reverse

from people.tests.workspace import build_org
from pipeline.tests.factories import CompanyFactory, ContactFactory

pytestmark = pytest.mark.django_db

SEARCH = reverse("pipeline:search")


@pytest.fixture
def org():
    return build_org()


def _labels(client, query, **params):
    response = client.get(SEARCH, {"q": query, **params})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return [(hit["type"], hit["label"]) for hit in response.json()["results"]]


def test_a_rep_finds_the_teams_accounts_and_the_shared_prospects(client, org):
    client.force_login(org.sdr)
    assert _labels(client, "AB") == [
        ("company", "Acme Verkstad AB"),  # Owned by a teammate.
        ("company", "Delta Logistik AB"),  # Unowned: shared.
        ("contact", "Karin Lind"),  # Matches on its company's name.
    ]


def test_another_teams_accounts_and_their_contacts_are_not_found(client, org):
    client.force_login(org.sdr)
    assert _labels(client, "Gamma") == []
    assert _labels(client, "Göran") == []
    client.force_login(org.other_rep)
    assert _labels(client, "Gamma") == [("company", "Gamma Bygg AB"), ("contact", "Göran Gamma")]


def test_a_manager_finds_the_accounts_of_the_teams_they_manage(client, org):
    client.force_login(org.manager)
    assert ("company", "Acme Verkstad AB") in _labels(client, "acme")
    assert _labels(client, "gamma") == []


def test_contacts_come_with_their_company_to_fill_both_ids(client, org):
    client.force_login(org.ae)
    (hit,) = client.get(SEARCH, {"q": "karin"}).json()["results"]
    assert hit == {
        "type": "contact",
        "id": org.contact.pk,
        "label": "Karin Lind",
        "detail": "Purchaser · Acme Verkstad AB",
        "company_id": org.company.pk,
    }


def test_search_needs_two_characters_and_can_be_limited_to_companies(client, org):
    client.force_login(org.ae)
    assert _labels(client, "a") == []
    assert _labels(client, "acme", types="company") == [("company", "Acme Verkstad AB")]


def test_search_returns_a_bounded_number_of_hits(client, org):
    company = CompanyFactory(name="Massa AB", owner=None)
    for i in range(20):
        ContactFactory(company=company, name=f"Massa {i}")
    client.force_login(org.ae)
    assert len(_labels(client, "Massa")) == 1 + 8


def test_anonymous_search_is_sent_to_sign_in(client, db):
    response = client.get(SEARCH, {"q": "acme"})
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
