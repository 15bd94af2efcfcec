"""The rep's pipeline: open deals by stage, a new deal, moving stages with the service's rules."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from activities import services as activity_services
from people.templatetags.saljsite_ui import money
from people.tests.workspace import build_org
from pipeline import services
from pipeline.models import Opportunity, Stage, StageChange

pytestmark = pytest.mark.django_db

BOARD = reverse("pipeline:board")
NEW = reverse("pipeline:opportunity_create")


@pytest.fixture
def org():
    return build_org()


@pytest.fixture
def ae_client(client, org):
    client.force_login(org.ae)
    return client


def _move(client, opp, stage_slug, **data):
    stage = Stage.objects.get(slug=stage_slug)
    return client.post(
        reverse("pipeline:opportunity_move", args=[opp.pk]), {"to_stage": stage.pk, **data}
    )


def test_the_board_shows_the_reps_open_deals_under_every_open_stage(ae_client, org):
    proposal = services.opportunity_create(
        name="Acme offert", company=org.company, owner=org.ae, created_by=org.ae, amount=50_000
    )
    services.opportunity_move_stage(opportunity=proposal, to_stage="proposal", changed_by=org.ae)
    won = services.opportunity_create(
        name="Acme klar", company=org.company, owner=org.ae, created_by=org.ae, amount=1
    )
    services.opportunity_move_stage(opportunity=won, to_stage="won", changed_by=org.ae)
    board = ae_client.get(BOARD).context["board"]
    columns = {c.stage.slug: [o.name for o in c.opportunities] for c in board.columns}
    assert columns == {
        "qualification": ["Acme maskinpark"],
        "meeting": [],
        "proposal": ["Acme offert"],
        "negotiation": [],
    }
    assert board.count == 2
    assert board.total == Decimal("200000")
    html = ae_client.get(BOARD).content.decode()
    assert "SEK\u00a0200,000" in html
    assert "Gamma deal" not in html


def test_money_follows_the_language_and_the_organisation_currency(settings):
    settings.SALJSITE_CURRENCY = "EUR"
    with translation.override("sv"):
        assert money(Decimal("1234567.00")) == "1\u00a0234\u00a0567\u00a0EUR"
        assert money(Decimal("99.5")) == "99,50\u00a0EUR"
    with translation.override("en"):
        assert money(Decimal("1234567")) == "EUR\u00a01,234,567"
    assert money(None) == ""


def test_a_new_opportunity_is_created_for_the_chosen_customer(ae_client, org):
    form = ae_client.get(NEW).context["form"]
    assert form["owner"].value() == org.ae.pk
    stage = Stage.objects.get(slug="meeting")
    response = ae_client.post(
        NEW,
        {
            "name": "Delta lager",
            "who": "Delta Logistik AB",
            "company": org.shared_company.pk,
            "amount": "250 000,50",
            "stage": stage.pk,
            "owner": org.ae.pk,
            "kind": "new_business",
            "channel": "field",
            "lead_source": "referral",
        },
    )
    opp = Opportunity.objects.get(name="Delta lager")
    assert response.status_code == 302
    assert response.url == reverse("pipeline:opportunity_detail", args=[opp.pk])
    assert (opp.company, opp.owner, opp.created_by, opp.stage) == (
        org.shared_company,
        org.ae,
        org.ae,
        stage,
    )
    assert opp.amount == Decimal("250000.50")
    assert opp.lead_source == "referral"
    assert StageChange.objects.get(opportunity=opp).from_stage is None


def test_a_new_opportunity_from_a_lead_converts_the_lead(client, org):
    client.force_login(org.sdr)
    stage = Stage.objects.get(slug="qualification")
    client.post(
        NEW,
        {
            "name": "Från lead",
            "who": "Karin Lind",
            "contact": org.contact.pk,
            "stage": stage.pk,
            "owner": org.ae.pk,
            "kind": "new_business",
            "channel": "inside",
            "lead_source": "other",
            "lead": org.lead.pk,
        },
    )
    opp = Opportunity.objects.get(name="Från lead")
    assert (opp.lead, opp.created_by, opp.owner) == (org.lead, org.sdr, org.ae)
    org.lead.refresh_from_db()
    assert org.lead.status == "converted"


def test_a_new_opportunity_needs_a_customer_and_keeps_the_input(ae_client, org):
    response = ae_client.post(
        NEW, {"name": "Utan kund", "who": "", "amount": "1 000", "kind": "upsell"}
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["who"] == ["Pick the customer: a company or one of its contacts."]
    html = response.content.decode()
    assert 'value="Utan kund"' in html
    assert 'value="1 000"' in html
    assert 'value="upsell" selected' in html


def test_moving_to_won_needs_an_amount_and_shows_the_services_error(ae_client, org):
    opp = services.opportunity_create(
        name="Noll", company=org.company, owner=org.ae, created_by=org.ae
    )
    response = _move(ae_client, opp, "won", amount="")
    assert response.status_code == 200
    form = response.context["move_form"]
    assert form.errors["amount"] == ["A won deal needs an amount above zero."]
    assert "A won deal needs an amount above zero." in response.content.decode()
    opp.refresh_from_db()
    assert opp.stage.slug == "qualification"

    response = _move(ae_client, opp, "won", amount="120 000")
    assert response.status_code == 302
    opp.refresh_from_db()
    assert (opp.stage.slug, opp.amount) == ("won", Decimal("120000"))
    assert opp.closed_at is not None
    page = ae_client.get(reverse("pipeline:opportunity_detail", args=[opp.pk]))
    assert "Moved to Won." in page.content.decode()
    history = page.context["detail"].history
    assert [(c.from_stage_id and c.from_stage.slug, c.to_stage.slug) for c in history] == [
        (None, "qualification"),
        ("qualification", "won"),
    ]


def test_moving_to_lost_needs_a_reason(ae_client, org):
    response = _move(ae_client, org.opportunity, "lost", lost_reason="  ")
    assert response.status_code == 200
    assert response.context["move_form"].errors["lost_reason"] == ["A lost deal needs a reason."]
    _move(ae_client, org.opportunity, "lost", lost_reason="Valde en konkurrent")
    org.opportunity.refresh_from_db()
    assert (org.opportunity.stage.slug, org.opportunity.lost_reason) == (
        "lost",
        "Valde en konkurrent",
    )


def test_the_current_stage_is_not_offered_as_a_move(ae_client, org):
    response = ae_client.get(reverse("pipeline:opportunity_detail", args=[org.opportunity.pk]))
    stages = list(response.context["move_form"].fields["to_stage"].queryset)
    assert org.opportunity.stage not in stages
    assert len(stages) == Stage.objects.count() - 1


def test_the_detail_page_lists_the_linked_activities(ae_client, org):
    activity_services.activity_log(
        owner=org.ae, kind="demo", mode="physical", opportunity=org.opportunity, subject="Demo"
    )
    response = ae_client.get(reverse("pipeline:opportunity_detail", args=[org.opportunity.pk]))
    assert [a.subject for a in response.context["detail"].activities] == ["Demo"]
    html = response.content.decode()
    assert "SEK\u00a0150,000" in html
    assert 'id="stage-outcomes"' in html


def test_get_on_the_move_url_goes_back_to_the_deal(ae_client, org):
    response = ae_client.get(reverse("pipeline:opportunity_move", args=[org.opportunity.pk]))
    assert response.status_code == 302


def test_another_teams_deal_is_not_found_and_a_teammates_is_forbidden(client, org):
    teammate_deal = services.opportunity_create(
        name="Annas", company=org.company, owner=org.ae2, created_by=org.ae2
    )
    client.force_login(org.ae)
    for view in ("opportunity_detail", "opportunity_move"):
        other = reverse(f"pipeline:{view}", args=[org.other_opportunity.pk])
        teammate = reverse(f"pipeline:{view}", args=[teammate_deal.pk])
        assert client.get(other).status_code == 404
        assert client.post(other, {}).status_code == 404
        assert client.get(teammate).status_code == 403
        assert client.post(teammate, {}).status_code == 403


def test_the_teams_manager_moves_a_members_deal(client, org):
    client.force_login(org.manager)
    response = _move(client, org.opportunity, "proposal")
    assert response.status_code == 302
    change = StageChange.objects.filter(opportunity=org.opportunity).last()
    assert (change.to_stage.slug, change.changed_by, change.owner) == (
        "proposal",
        org.manager,
        org.ae,
    )
