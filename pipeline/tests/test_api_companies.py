"""The companies and contacts endpoints (plain saves with full_clean: they have no services)."""

from __future__ import annotations

import datetime as dt

import pytest

from pipeline.models import Company, Contact
from pipeline.tests.factories import CompanyFactory, ContactFactory
from saljsite.tests.api_support import API, build_org, client_for

pytestmark = pytest.mark.django_db

COMPANIES = f"{API}/companies/"
CONTACTS = f"{API}/contacts/"
LAST_YEAR = "2025-03-01T09:00:00+01:00"


@pytest.fixture
def org():
    return build_org()


def ids(response) -> set[int]:
    return {row["id"] for row in response.data["results"]}


# ---------------------------------------------------------------------------
# Companies
# ---------------------------------------------------------------------------
def test_rep_creates_a_company_and_the_org_number_is_normalised(org):
    response = client_for(org.anna).post(
        COMPANIES, {"name": "Acme AB", "org_number": "55 60 36 07 93", "owner": org.anna.pk}
    )

    assert response.status_code == 201, response.data
    assert response.data["org_number"] == "556036-0793"
    assert response.data["owner"] == org.anna.pk
    assert Company.objects.get().org_number == "556036-0793"
    assert set(response.data) == {"id", "name", "org_number", "owner", "external_id", "created_at"}


def test_an_invalid_org_number_is_400_on_org_number(org):
    response = client_for(org.anna).post(COMPANIES, {"name": "Acme", "org_number": "556036-0794"})

    assert response.status_code == 400
    assert "check digit" in str(response.data["org_number"][0])


def test_a_taken_org_number_in_another_form_is_400_on_org_number(org):
    CompanyFactory(org_number="556036-0793")

    response = client_for(org.anna).post(COMPANIES, {"name": "Acme", "org_number": "5560360793"})

    assert response.status_code == 400
    assert "exists" in str(response.data["org_number"][0])


def test_a_missing_name_is_400_on_name(org):
    response = client_for(org.anna).post(COMPANIES, {"org_number": ""})

    assert response.status_code == 400
    assert set(response.data) == {"name"}


def test_rep_making_a_teammate_the_owner_is_403(org):
    response = client_for(org.anna).post(COMPANIES, {"name": "Acme", "owner": org.sam.pk})

    assert response.status_code == 403
    assert not Company.objects.exists()


def test_rep_setting_created_at_is_403_and_a_manager_may(org):
    body = {"name": "Acme", "created_at": LAST_YEAR}

    assert client_for(org.anna).post(COMPANIES, body).status_code == 403
    response = client_for(org.mia).post(COMPANIES, body)
    assert response.status_code == 201, response.data
    assert Company.objects.get().created_at == dt.datetime.fromisoformat(LAST_YEAR)


def test_rep_reads_unowned_and_their_teams_companies_but_another_teams_are_404(org):
    unowned = CompanyFactory(owner=None)
    teammates = CompanyFactory(owner=org.sam)
    other_team = CompanyFactory(owner=org.bo)
    client = client_for(org.anna)

    assert ids(client.get(COMPANIES)) == {unowned.pk, teammates.pk}
    assert client.get(f"{COMPANIES}{other_team.pk}/").status_code == 404


def test_rep_edits_their_own_company_but_a_teammates_is_403(org):
    own, teammates = CompanyFactory(owner=org.anna), CompanyFactory(owner=org.sam)
    client = client_for(org.anna)

    assert client.patch(f"{COMPANIES}{own.pk}/", {"name": "Renamed"}).status_code == 200
    assert client.patch(f"{COMPANIES}{teammates.pk}/", {"name": "No"}).status_code == 403
    own.refresh_from_db()
    assert own.name == "Renamed"


def test_changing_created_at_afterwards_is_400(org):
    company = CompanyFactory(owner=org.mia)

    response = client_for(org.mia).patch(f"{COMPANIES}{company.pk}/", {"created_at": LAST_YEAR})

    assert response.status_code == 400
    assert "created_at" in response.data


def test_companies_cannot_be_deleted(org):
    company = CompanyFactory(owner=org.anna)

    assert client_for(org.anna).delete(f"{COMPANIES}{company.pk}/").status_code == 405


def test_posting_a_companys_external_id_again_returns_it_with_200(org):
    client = client_for(org.anna)
    body = {"name": "Acme", "external_id": "erp-1"}

    first, second = client.post(COMPANIES, body), client.post(COMPANIES, body)

    assert (first.status_code, second.status_code) == (201, 200)
    assert first.data["id"] == second.data["id"]
    assert Company.objects.count() == 1


def test_companies_are_filtered_by_org_number_in_any_form(org):
    acme = CompanyFactory(org_number="556036-0793")
    CompanyFactory(org_number="556547-5489")

    response = client_for(org.root).get(COMPANIES, {"org_number": "5560360793"})

    assert ids(response) == {acme.pk}


def test_the_companies_list_makes_the_same_queries_for_3_and_30(org, django_assert_max_num_queries):
    client = client_for(org.mia)
    counts = []
    for size in (3, 30):
        while Company.objects.count() < size:
            CompanyFactory(owner=org.anna)
        with django_assert_max_num_queries(2) as captured:
            response = client.get(COMPANIES, {"page_size": 100})
        assert response.data["count"] == size
        counts.append(len(captured))

    assert counts[0] == counts[1]


# ---------------------------------------------------------------------------
# Contacts
# ---------------------------------------------------------------------------
def test_rep_adds_a_contact_to_a_company_they_read(org):
    company = CompanyFactory(owner=org.sam)

    response = client_for(org.anna).post(
        CONTACTS,
        {
            "company": company.pk,
            "name": "Eva CFO",
            "email": "eva@acme.se",
            "is_decision_maker": True,
        },
    )

    assert response.status_code == 201, response.data
    assert Contact.objects.get().is_decision_maker
    assert set(response.data) == {
        "id", "company", "name", "title", "email", "phone", "is_decision_maker", "external_id",
    }  # fmt: skip


def test_a_contact_on_another_teams_company_is_400_as_if_it_did_not_exist(org):
    company = CompanyFactory(owner=org.bo)

    response = client_for(org.anna).post(CONTACTS, {"company": company.pk, "name": "Eva"})

    assert response.status_code == 400
    assert "does not exist" in str(response.data["company"][0])


def test_an_invalid_email_is_400_on_email(org):
    company = CompanyFactory()

    response = client_for(org.anna).post(
        CONTACTS, {"company": company.pk, "name": "Eva", "email": "not-an-email"}
    )

    assert response.status_code == 400
    assert set(response.data) == {"email"}


def test_contacts_of_another_teams_company_are_404(org):
    own = ContactFactory(company=CompanyFactory(owner=org.anna))
    other = ContactFactory(company=CompanyFactory(owner=org.bo))
    client = client_for(org.anna)

    assert ids(client.get(CONTACTS)) == {own.pk}
    assert client.get(f"{CONTACTS}{other.pk}/").status_code == 404
    assert client.patch(f"{CONTACTS}{other.pk}/", {"name": "x"}).status_code == 404


def test_a_contact_is_edited_with_a_patch(org):
    contact = ContactFactory(company=CompanyFactory(owner=org.sam))

    response = client_for(org.anna).patch(f"{CONTACTS}{contact.pk}/", {"title": "CEO"})

    assert response.status_code == 200, response.data
    contact.refresh_from_db()
    assert contact.title == "CEO"


def test_posting_a_contacts_external_id_again_returns_it_with_200(org):
    company = CompanyFactory()
    client = client_for(org.anna)
    body = {"company": company.pk, "name": "Eva", "external_id": "crm-9"}

    first, second = client.post(CONTACTS, body), client.post(CONTACTS, body)

    assert (first.status_code, second.status_code) == (201, 200)
    assert first.data["id"] == second.data["id"]
    assert Contact.objects.count() == 1


def test_the_contacts_list_makes_the_same_queries_for_3_and_30(org, django_assert_max_num_queries):
    company = CompanyFactory(owner=org.anna)
    client = client_for(org.anna)
    counts = []
    for size in (3, 30):
        while Contact.objects.count() < size:
            ContactFactory(company=company)
        with django_assert_max_num_queries(2) as captured:
            response = client.get(CONTACTS, {"page_size": 100})
        assert response.data["count"] == size
        counts.append(len(captured))

    assert counts[0] == counts[1]
