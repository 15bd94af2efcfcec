"""The stages and opportunities endpoints, and stage moves through `opportunity_move_stage`."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from pipeline.models import Opportunity, StageChange
from pipeline.services import opportunity_move_stage
from pipeline.tests.factories import CompanyFactory, ContactFactory, OpportunityFactory
from saljsite.tests.api_support import API, build_org, client_for

pytestmark = pytest.mark.django_db

URL = f"{API}/opportunities/"
STAGES = f"{API}/stages/"


@pytest.fixture
def org():
    return build_org()


def detail(opp: Opportunity) -> str:
    return f"{URL}{opp.pk}/"


def move(opp: Opportunity) -> str:
    return f"{URL}{opp.pk}/move/"


def ids(response) -> list[int]:
    return [row["id"] for row in response.data["results"]]


# ---------------------------------------------------------------------------
# Stages
# ---------------------------------------------------------------------------
def test_stages_are_listed_in_order_with_slug_name_order_outcome(org):
    response = client_for(org.anna).get(STAGES)

    assert [row["slug"] for row in response.data["results"]] == [
        "qualification", "meeting", "proposal", "negotiation", "won", "lost",
    ]  # fmt: skip
    assert response.data["results"][0] == {
        "slug": "qualification",
        "name": "Qualification",
        "order": 10,
        "outcome": "open",
    }


def test_a_stage_is_read_by_slug_and_an_unknown_slug_is_404(org):
    client = client_for(org.anna)

    assert client.get(f"{STAGES}won/").data["outcome"] == "won"
    assert client.get(f"{STAGES}nope/").status_code == 404


def test_stages_are_filtered_by_outcome_and_read_only(org):
    client = client_for(org.root)

    response = client.get(STAGES, {"outcome": "open"})

    assert response.data["count"] == 4
    assert client.post(STAGES, {"slug": "x"}).status_code == 405


def test_the_stages_list_makes_the_same_queries_for_6_and_30(org, django_assert_max_num_queries):
    from pipeline.models import Stage

    client = client_for(org.anna)
    counts = []
    for size in (6, 30):
        while Stage.objects.count() < size:
            n = Stage.objects.count()
            Stage.objects.create(slug=f"extra-{n}", name=f"Extra {n}", order=50 + n)
        with django_assert_max_num_queries(2) as captured:
            response = client.get(STAGES, {"page_size": 100})
        assert response.data["count"] == size
        counts.append(len(captured))

    assert counts[0] == counts[1]


# ---------------------------------------------------------------------------
# Create and update
# ---------------------------------------------------------------------------
def test_rep_opens_an_opportunity_in_the_first_stage_as_owner_and_creator(org):
    company = CompanyFactory(owner=org.anna)

    response = client_for(org.anna).post(
        URL, {"name": "Acme licences", "company": company.pk, "amount": "125000.50"}
    )

    assert response.status_code == 201, response.data
    opp = Opportunity.objects.get()
    assert (opp.owner, opp.created_by, opp.stage.slug) == (org.anna, org.anna, "qualification")
    assert response.data["stage"] == "qualification"
    assert response.data["amount"] == "125000.50"
    assert StageChange.objects.filter(opportunity=opp, from_stage=None).count() == 1
    assert set(response.data) == {
        "id", "name", "company", "owner", "created_by", "kind", "lead_source", "channel",
        "amount", "stage", "lead", "contact", "created_at", "closed_at", "lost_reason",
        "external_id", "updated_at",
    }  # fmt: skip


def test_sdr_opens_a_deal_owned_by_a_teammate_ae(org):
    company = CompanyFactory(owner=org.anna)

    response = client_for(org.sam).post(
        URL, {"name": "Deal", "company": company.pk, "owner": org.anna.pk, "stage": "meeting"}
    )

    assert response.status_code == 201, response.data
    opp = Opportunity.objects.get()
    assert (opp.owner, opp.created_by, opp.stage.slug) == (org.anna, org.sam, "meeting")


def test_an_unknown_stage_slug_is_400_on_stage(org):
    company = CompanyFactory()

    response = client_for(org.anna).post(
        URL, {"name": "Deal", "company": company.pk, "stage": "signed"}
    )

    assert response.status_code == 400
    assert "Unknown stage" in str(response.data["stage"][0])


def test_opening_in_a_closed_stage_is_400_on_stage(org):
    company = CompanyFactory()

    response = client_for(org.anna).post(
        URL, {"name": "Deal", "company": company.pk, "stage": "won"}
    )

    assert response.status_code == 400
    assert "stage" in response.data


def test_a_contact_of_another_company_is_400_on_contact(org):
    company, elsewhere = CompanyFactory(), ContactFactory()

    response = client_for(org.anna).post(
        URL, {"name": "Deal", "company": company.pk, "contact": elsewhere.pk}
    )

    assert response.status_code == 400
    assert "another company" in str(response.data["contact"][0])


def test_a_lost_reason_on_a_new_opportunity_is_400_on_lost_reason(org):
    company = CompanyFactory()

    response = client_for(org.anna).post(
        URL, {"name": "Deal", "company": company.pk, "lost_reason": "Too expensive"}
    )

    assert response.status_code == 400
    assert set(response.data) == {"lost_reason"}


def test_a_negative_amount_is_400_on_amount(org):
    company = CompanyFactory()

    response = client_for(org.anna).post(URL, {"name": "Deal", "company": company.pk, "amount": -1})

    assert response.status_code == 400
    assert set(response.data) == {"amount"}


@pytest.mark.parametrize(
    ("field", "value"),
    [("owner", "bo"), ("created_by", "sam"), ("created_at", "2026-01-05T10:00:00Z")],
)
def test_rep_writing_as_someone_else_or_back_dating_is_403(org, field, value):
    company = CompanyFactory()
    value = getattr(org, value).pk if field != "created_at" else value

    response = client_for(org.anna).post(URL, {"name": "Deal", "company": company.pk, field: value})

    assert response.status_code == 403
    assert not Opportunity.objects.exists()


def test_manager_back_fills_an_opportunity_for_a_team_member(org):
    company = CompanyFactory()

    response = client_for(org.mia).post(
        URL,
        {
            "name": "Import",
            "company": company.pk,
            "owner": org.anna.pk,
            "created_by": org.sam.pk,
            "created_at": "2026-01-05T10:00:00Z",
        },
    )

    assert response.status_code == 201, response.data
    opp = Opportunity.objects.get()
    assert opp.created_by == org.sam
    assert opp.created_day == dt.date(2026, 1, 5)


def test_manager_opening_a_deal_for_another_teams_rep_is_403(org):
    company = CompanyFactory()

    response = client_for(org.mia).post(
        URL, {"name": "Deal", "company": company.pk, "owner": org.bo.pk}
    )

    assert response.status_code == 403


def test_rep_updates_the_amount_of_their_deal(org):
    opp = OpportunityFactory(owner=org.anna)

    response = client_for(org.anna).patch(detail(opp), {"amount": "90000.00", "channel": "inside"})

    assert response.status_code == 200, response.data
    opp.refresh_from_db()
    assert (str(opp.amount), opp.channel) == ("90000.00", "inside")


def test_changing_the_stage_with_a_patch_is_400_and_points_to_move(org):
    opp = OpportunityFactory(owner=org.anna)

    response = client_for(org.anna).patch(detail(opp), {"stage": "won"})

    assert response.status_code == 400
    assert "stage" in response.data
    opp.refresh_from_db()
    assert opp.stage.slug == "qualification"


def test_put_of_a_fetched_opportunity_keeps_it(org):
    opp = OpportunityFactory(owner=org.anna)
    client = client_for(org.anna)
    body = client.get(detail(opp)).data

    response = client.put(detail(opp), body)

    assert response.status_code == 200, response.data


def test_rep_editing_a_teammates_deal_is_403_and_another_teams_404(org):
    teammates, other = OpportunityFactory(owner=org.sam), OpportunityFactory(owner=org.bo)
    client = client_for(org.anna)

    assert client.patch(detail(teammates), {"name": "x"}).status_code == 403
    assert client.patch(detail(other), {"name": "x"}).status_code == 404
    assert client.get(detail(teammates)).status_code == 200
    assert client.get(detail(other)).status_code == 404


def test_opportunities_cannot_be_deleted(org):
    opp = OpportunityFactory(owner=org.anna)

    assert client_for(org.root).delete(detail(opp)).status_code == 405


def test_posting_an_opportunitys_external_id_again_returns_it_with_200(org):
    company = CompanyFactory()
    client = client_for(org.anna)
    body = {"name": "Deal", "company": company.pk, "external_id": "crm-opp-1"}

    first, second = client.post(URL, body), client.post(URL, body)

    assert (first.status_code, second.status_code) == (201, 200)
    assert first.data["id"] == second.data["id"]
    assert Opportunity.objects.count() == 1


# ---------------------------------------------------------------------------
# Moves
# ---------------------------------------------------------------------------
def test_owner_moves_their_deal_and_the_move_is_appended_to_history(org):
    opp = OpportunityFactory(owner=org.anna)

    response = client_for(org.anna).post(move(opp), {"stage": "proposal"})

    assert response.status_code == 200, response.data
    assert response.data["stage"] == "proposal"
    change = StageChange.objects.filter(opportunity=opp).latest("changed_at")
    assert (change.to_stage.slug, change.changed_by) == ("proposal", org.anna)


def test_a_win_closes_the_deal_with_the_new_amount(org):
    opp = OpportunityFactory(owner=org.anna, amount=0)

    response = client_for(org.anna).post(move(opp), {"stage": "won", "amount": "5000"})

    assert response.status_code == 200, response.data
    assert response.data["closed_at"] is not None
    assert response.data["amount"] == "5000.00"


def test_moving_to_an_unknown_stage_is_400_on_stage(org):
    opp = OpportunityFactory(owner=org.anna)

    response = client_for(org.anna).post(move(opp), {"stage": "signed"})

    assert response.status_code == 400
    assert "Unknown stage" in str(response.data["stage"][0])


def test_losing_without_a_reason_is_400_on_lost_reason(org):
    opp = OpportunityFactory(owner=org.anna)

    response = client_for(org.anna).post(move(opp), {"stage": "lost"})

    assert response.status_code == 400
    assert set(response.data) == {"lost_reason"}


def test_a_move_without_a_stage_is_400_on_stage(org):
    opp = OpportunityFactory(owner=org.anna)

    response = client_for(org.anna).post(move(opp), {})

    assert response.status_code == 400
    assert set(response.data) == {"stage"}


def test_rep_back_dating_a_move_is_403(org):
    opp = OpportunityFactory(owner=org.anna)
    at = (timezone.now() - dt.timedelta(hours=1)).isoformat()

    response = client_for(org.anna).post(move(opp), {"stage": "proposal", "at": at})

    assert response.status_code == 403
    assert StageChange.objects.filter(opportunity=opp).count() == 1


def test_manager_back_fills_a_move_at_a_past_time(org):
    opp = OpportunityFactory(owner=org.anna)
    at = timezone.now() - dt.timedelta(hours=3)

    response = client_for(org.mia).post(move(opp), {"stage": "proposal", "at": at.isoformat()})

    assert response.status_code == 200, response.data
    change = StageChange.objects.filter(opportunity=opp).latest("changed_at")
    assert change.changed_at == at
    assert change.changed_by == org.mia


def test_a_move_dated_in_the_future_is_400_on_at(org):
    opp = OpportunityFactory(owner=org.anna)
    at = (timezone.now() + dt.timedelta(days=1)).isoformat()

    response = client_for(org.mia).post(move(opp), {"stage": "proposal", "at": at})

    assert response.status_code == 400
    assert set(response.data) == {"at"}


def test_rep_moving_a_teammates_deal_is_403_and_another_teams_404(org):
    teammates, other = OpportunityFactory(owner=org.sam), OpportunityFactory(owner=org.bo)
    client = client_for(org.anna)

    assert client.post(move(teammates), {"stage": "proposal"}).status_code == 403
    assert client.post(move(other), {"stage": "proposal"}).status_code == 404


def test_anonymous_is_401(org):
    opp = OpportunityFactory(owner=org.anna)

    assert client_for().get(URL).status_code == 401
    assert client_for().post(move(opp), {"stage": "won"}).status_code == 401


# ---------------------------------------------------------------------------
# Filters and query counts
# ---------------------------------------------------------------------------
def test_opportunities_are_filtered_by_stage_slug_outcome_owner_and_creation(org):
    early = OpportunityFactory(owner=org.anna, created_at=dt.datetime(2026, 1, 5, tzinfo=dt.UTC))
    late = OpportunityFactory(owner=org.anna, created_at=dt.datetime(2026, 6, 5, tzinfo=dt.UTC))
    won = OpportunityFactory(owner=org.sam)
    opportunity_move_stage(opportunity=won, to_stage="won", changed_by=org.sam)
    client = client_for(org.anna)

    assert ids(client.get(URL, {"outcome": "won"})) == [won.pk]
    assert set(ids(client.get(URL, {"stage": "qualification"}))) == {early.pk, late.pk}
    assert ids(
        client.get(URL, {"owner": org.anna.pk, "created_at__lt": "2026-03-01T00:00:00Z"})
    ) == [early.pk]
    assert client.get(URL, {"outcome": "maybe"}).status_code == 400


def test_the_opportunities_list_makes_the_same_queries_for_3_and_30(
    org, django_assert_max_num_queries
):
    company = CompanyFactory(owner=org.anna)
    client = client_for(org.mia)
    counts = []
    for size in (3, 30):
        while Opportunity.objects.count() < size:
            opp = OpportunityFactory(owner=org.anna, company=company)
            if opp.pk % 2:
                opportunity_move_stage(opportunity=opp, to_stage="proposal", changed_by=org.anna)
        with django_assert_max_num_queries(2) as captured:
            response = client.get(URL, {"page_size": 100})
        assert response.data["count"] == size
        counts.append(len(captured))

    assert counts[0] == counts[1]
