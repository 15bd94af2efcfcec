"""The pipeline's write use cases: leads, opportunities, stage moves and rep costs."""

from __future__ import annotations

import datetime as dt
import re
from datetime import UTC
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from people.tests.factories import UserFactory
from pipeline.models import Lead, Opportunity, RepCost, Stage, StageChange
from pipeline.services import (
    lead_assign,
    lead_create,
    opportunity_create,
    opportunity_move_stage,
    opportunity_update,
    rep_cost_set,
)
from pipeline.tests.factories import CompanyFactory, ContactFactory

pytestmark = pytest.mark.django_db

CREATED_AT = dt.datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
# Sunday 23:30 UTC is Monday 00:30 in Stockholm (CET, UTC+1).
SUNDAY_LATE = dt.datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
MONDAY = dt.date(2026, 11, 23)


@pytest.fixture
def stages():
    return {stage.slug: stage for stage in Stage.objects.all()}


@pytest.fixture
def rep():
    return UserFactory(role="ae")


@pytest.fixture
def sdr():
    return UserFactory(role="sdr")


@pytest.fixture
def company():
    return CompanyFactory(name="Acme AB")


@pytest.fixture
def opportunity(rep, company):
    """An open deal in the first stage, created by its owner on 2026-10-01."""
    return opportunity_create(
        name="Acme licences",
        company=company,
        owner=rep,
        created_by=rep,
        amount=Decimal("50000"),
        created_at=CREATED_AT,
    )


def _move(opportunity, to_stage, at, **fields) -> StageChange:
    return opportunity_move_stage(
        opportunity=opportunity, to_stage=to_stage, changed_by=opportunity.owner, at=at, **fields
    )


def _row(model, pk) -> dict:
    """The stored row, to show a refused write left it exactly as it was."""
    return model.objects.filter(pk=pk).values().get()


def _history(opportunity) -> list[tuple[str | None, str, int]]:
    return [
        (
            change.from_stage.slug if change.from_stage else None,
            change.to_stage.slug,
            change.owner_id,
        )
        for change in StageChange.objects.filter(opportunity=opportunity).select_related(
            "from_stage", "to_stage"
        )
    ]


# ---------------------------------------------------------------------------
# Leads
# ---------------------------------------------------------------------------
def test_lead_create_stores_the_received_day_in_site_time(sdr):
    lead = lead_create(name="Inbound", assigned_to=sdr, received_at=SUNDAY_LATE)

    lead.refresh_from_db()
    assert lead.received_day == MONDAY


def test_lead_create_takes_the_company_of_its_contact(sdr):
    contact = ContactFactory()

    lead = lead_create(name="Inbound", assigned_to=sdr, contact=contact)

    assert lead.company == contact.company


def test_lead_create_refuses_an_unknown_source_and_writes_nothing(sdr):
    with pytest.raises(ValidationError) as excinfo:
        lead_create(name="Inbound", assigned_to=sdr, source="carrier_pigeon")

    assert "source" in excinfo.value.message_dict
    assert Lead.objects.count() == 0


def test_lead_create_refuses_a_duplicate_external_id(sdr):
    lead_create(name="First", assigned_to=sdr, external_id="web-1")

    with pytest.raises(ValidationError) as excinfo:
        lead_create(name="Second", assigned_to=sdr, external_id="web-1")

    assert re.search(r"external[ _]id", str(excinfo.value.messages), re.IGNORECASE)
    assert Lead.objects.count() == 1


def test_lead_assign_hands_the_lead_to_another_rep(sdr):
    lead = lead_create(name="Inbound", assigned_to=sdr)
    other = UserFactory(role="sdr")

    lead_assign(lead=lead, to=other)

    lead.refresh_from_db()
    assert lead.assigned_to == other


# ---------------------------------------------------------------------------
# opportunity_create
# ---------------------------------------------------------------------------
def test_opportunity_create_records_the_first_stage_entry(rep, sdr, company, stages):
    opp = opportunity_create(
        name="Deal", company=company, owner=rep, created_by=sdr, created_at=SUNDAY_LATE
    )

    change = StageChange.objects.get(opportunity=opp)
    assert change.from_stage is None
    assert change.to_stage == stages["qualification"]
    assert change.changed_at == SUNDAY_LATE
    assert change.changed_day == MONDAY
    assert change.owner == rep
    assert change.changed_by == sdr


def test_opportunity_create_stores_created_day_in_site_time(rep, company):
    opp = opportunity_create(
        name="Deal", company=company, owner=rep, created_by=rep, created_at=SUNDAY_LATE
    )

    opp.refresh_from_db()
    assert opp.created_day == MONDAY
    assert opp.closed_at is None
    assert opp.closed_day is None


def test_opportunity_create_starts_in_the_first_open_stage_by_default(rep, company, stages):
    opp = opportunity_create(name="Deal", company=company, owner=rep, created_by=rep)

    assert opp.stage == stages["qualification"]


@pytest.mark.parametrize("stage", ["proposal", "negotiation"])
def test_opportunity_create_starts_in_the_given_open_stage(rep, company, stages, stage):
    opp = opportunity_create(name="Deal", company=company, owner=rep, created_by=rep, stage=stage)

    assert opp.stage == stages[stage]
    assert StageChange.objects.get(opportunity=opp).to_stage == stages[stage]


@pytest.mark.parametrize("stage", ["won", "lost"])
def test_opportunity_create_refuses_a_closed_starting_stage(rep, company, stages, stage):
    with pytest.raises(ValidationError) as excinfo:
        opportunity_create(
            name="Deal",
            company=company,
            owner=rep,
            created_by=rep,
            amount=100,
            stage=stages[stage],
        )

    assert excinfo.value.message_dict == {"stage": ["An opportunity starts in an open stage."]}
    assert Opportunity.objects.count() == 0
    assert StageChange.objects.count() == 0


def test_opportunity_create_refuses_an_unknown_stage_slug(rep, company):
    with pytest.raises(ValidationError) as excinfo:
        opportunity_create(name="Deal", company=company, owner=rep, created_by=rep, stage="pitch")

    assert "pitch" in excinfo.value.message_dict["stage"][0]
    assert Opportunity.objects.count() == 0


def test_opportunity_create_refuses_a_contact_of_another_company(rep, company):
    stranger = ContactFactory()

    with pytest.raises(ValidationError) as excinfo:
        opportunity_create(
            name="Deal", company=company, owner=rep, created_by=rep, contact=stranger
        )

    assert excinfo.value.message_dict == {"contact": ["This contact belongs to another company."]}
    assert Opportunity.objects.count() == 0


def test_opportunity_create_refuses_a_negative_amount_and_writes_nothing(rep, company):
    with pytest.raises(ValidationError) as excinfo:
        opportunity_create(name="Deal", company=company, owner=rep, created_by=rep, amount=-1)

    assert "greater than or equal to 0" in excinfo.value.message_dict["amount"][0]
    assert Opportunity.objects.count() == 0
    assert StageChange.objects.count() == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [("kind", "charity"), ("lead_source", "carrier_pigeon"), ("channel", "telepathy")],
)
def test_opportunity_create_refuses_an_unknown_choice_on_the_field(rep, company, field, value):
    with pytest.raises(ValidationError) as excinfo:
        opportunity_create(
            name="Deal", company=company, owner=rep, created_by=rep, **{field: value}
        )

    assert list(excinfo.value.message_dict) == [field]
    assert Opportunity.objects.count() == 0


def test_opportunity_create_refuses_a_duplicate_external_id(rep, company):
    opportunity_create(name="A", company=company, owner=rep, created_by=rep, external_id="erp-1")

    with pytest.raises(ValidationError) as excinfo:
        opportunity_create(
            name="B", company=company, owner=rep, created_by=rep, external_id="erp-1"
        )

    assert re.search(r"external[ _]id", str(excinfo.value.messages), re.IGNORECASE)
    assert Opportunity.objects.count() == 1
    assert StageChange.objects.count() == 1


# ---------------------------------------------------------------------------
# opportunity_move_stage
# ---------------------------------------------------------------------------
def test_move_forward_changes_the_stage_and_appends_one_history_row(opportunity, rep, stages):
    at = CREATED_AT + dt.timedelta(days=3)

    change = _move(opportunity, "proposal", at)

    opportunity.refresh_from_db()
    assert opportunity.stage == stages["proposal"]
    assert opportunity.closed_at is None
    assert (change.from_stage, change.to_stage) == (stages["qualification"], stages["proposal"])
    assert (change.changed_at, change.changed_day) == (at, dt.date(2026, 10, 4))
    assert change.changed_by == rep
    assert _history(opportunity) == [
        (None, "qualification", rep.pk),
        ("qualification", "proposal", rep.pk),
    ]


def test_move_backward_is_allowed_and_recorded(opportunity, rep, stages):
    _move(opportunity, "negotiation", CREATED_AT + dt.timedelta(days=1))

    _move(opportunity, "meeting", CREATED_AT + dt.timedelta(days=2))

    opportunity.refresh_from_db()
    assert opportunity.stage == stages["meeting"]
    assert _history(opportunity) == [
        (None, "qualification", rep.pk),
        ("qualification", "negotiation", rep.pk),
        ("negotiation", "meeting", rep.pk),
    ]


def test_move_accepts_a_stage_instance(opportunity, stages):
    _move(opportunity, stages["meeting"], CREATED_AT + dt.timedelta(hours=1))

    opportunity.refresh_from_db()
    assert opportunity.stage == stages["meeting"]


def test_move_to_won_sets_closed_at_and_closed_day(opportunity):
    at = CREATED_AT + dt.timedelta(days=10)

    _move(opportunity, "won", at)

    opportunity.refresh_from_db()
    assert opportunity.closed_at == at
    assert opportunity.closed_day == dt.date(2026, 10, 11)


def test_move_to_won_late_on_sunday_utc_closes_on_monday_in_site_time(opportunity):
    change = _move(opportunity, "won", SUNDAY_LATE)

    opportunity.refresh_from_db()
    assert opportunity.closed_at == SUNDAY_LATE
    assert opportunity.closed_day == MONDAY
    assert change.changed_day == MONDAY


@pytest.mark.parametrize(
    ("at", "local_day"),
    [
        # 2026-10-25: clocks go back at 01:00 UTC; the local day lasts 25 hours,
        # from 2026-10-24 22:00 UTC (00:00 CEST) to 2026-10-25 23:00 UTC (00:00 CET).
        (dt.datetime(2026, 10, 24, 21, 59, tzinfo=UTC), dt.date(2026, 10, 24)),
        (dt.datetime(2026, 10, 24, 22, 0, tzinfo=UTC), dt.date(2026, 10, 25)),
        (dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC), dt.date(2026, 10, 25)),  # 02:30 CEST
        (dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC), dt.date(2026, 10, 25)),  # 02:30 CET
        (dt.datetime(2026, 10, 25, 22, 30, tzinfo=UTC), dt.date(2026, 10, 25)),  # 23:30 CET
        (dt.datetime(2026, 10, 25, 23, 0, tzinfo=UTC), dt.date(2026, 10, 26)),
    ],
)
def test_move_to_won_on_the_autumn_dst_day_closes_on_the_local_day(opportunity, at, local_day):
    change = _move(opportunity, "won", at)

    opportunity.refresh_from_db()
    assert opportunity.closed_day == local_day
    assert change.changed_day == local_day


def test_move_to_won_needs_an_amount_above_zero(rep, company):
    opp = opportunity_create(
        name="Deal", company=company, owner=rep, created_by=rep, amount=0, created_at=CREATED_AT
    )
    before = _row(Opportunity, opp.pk)

    with pytest.raises(ValidationError) as excinfo:
        _move(opp, "won", CREATED_AT + dt.timedelta(days=1))

    assert excinfo.value.message_dict == {"amount": ["A won deal needs an amount above zero."]}
    assert _row(Opportunity, opp.pk) == before
    assert StageChange.objects.filter(opportunity=opp).count() == 1


def test_move_to_won_can_set_the_amount(rep, company):
    opp = opportunity_create(
        name="Deal", company=company, owner=rep, created_by=rep, amount=0, created_at=CREATED_AT
    )

    _move(opp, "won", CREATED_AT + dt.timedelta(days=1), amount="12500.50")

    opp.refresh_from_db()
    assert opp.amount == Decimal("12500.50")
    assert opp.stage.slug == "won"


def test_move_to_won_refuses_a_zero_amount_given_with_the_move(opportunity):
    with pytest.raises(ValidationError) as excinfo:
        _move(opportunity, "won", CREATED_AT + dt.timedelta(days=1), amount=0)

    assert "amount" in excinfo.value.message_dict
    opportunity.refresh_from_db()
    assert opportunity.amount == Decimal("50000")


def test_move_to_lost_sets_closed_at_and_stores_the_reason(opportunity):
    at = CREATED_AT + dt.timedelta(days=5)

    _move(opportunity, "lost", at, lost_reason="  Chose a competitor  ")

    opportunity.refresh_from_db()
    assert opportunity.closed_at == at
    assert opportunity.closed_day == dt.date(2026, 10, 6)
    assert opportunity.lost_reason == "Chose a competitor"


@pytest.mark.parametrize("reason", ["", "   "])
def test_move_to_lost_needs_a_reason(opportunity, reason):
    before = _row(Opportunity, opportunity.pk)

    with pytest.raises(ValidationError) as excinfo:
        _move(opportunity, "lost", CREATED_AT + dt.timedelta(days=1), lost_reason=reason)

    assert excinfo.value.message_dict == {"lost_reason": ["A lost deal needs a reason."]}
    assert _row(Opportunity, opportunity.pk) == before
    assert StageChange.objects.filter(opportunity=opportunity).count() == 1


def test_reopening_a_won_deal_clears_closed_at_and_closed_day(opportunity, stages):
    _move(opportunity, "won", CREATED_AT + dt.timedelta(days=1))

    change = _move(opportunity, "negotiation", CREATED_AT + dt.timedelta(days=2))

    opportunity.refresh_from_db()
    assert opportunity.stage == stages["negotiation"]
    assert opportunity.closed_at is None
    assert opportunity.closed_day is None
    assert (change.from_stage, change.to_stage) == (stages["won"], stages["negotiation"])


def test_reopening_a_lost_deal_clears_closed_at_and_the_lost_reason(opportunity):
    _move(opportunity, "lost", CREATED_AT + dt.timedelta(days=1), lost_reason="No budget")

    _move(opportunity, "proposal", CREATED_AT + dt.timedelta(days=2))

    opportunity.refresh_from_db()
    assert opportunity.closed_at is None
    assert opportunity.closed_day is None
    assert opportunity.lost_reason == ""


def test_move_from_lost_to_won_closes_again_at_the_new_move(opportunity):
    _move(opportunity, "lost", CREATED_AT + dt.timedelta(days=1), lost_reason="No budget")
    won_at = CREATED_AT + dt.timedelta(days=4)

    _move(opportunity, "won", won_at)

    opportunity.refresh_from_db()
    assert opportunity.closed_at == won_at
    assert opportunity.closed_day == dt.date(2026, 10, 5)
    assert opportunity.lost_reason == ""


def test_each_move_records_the_owner_at_the_moment_of_the_move(opportunity, rep):
    successor = UserFactory(role="ae")
    _move(opportunity, "meeting", CREATED_AT + dt.timedelta(days=1))
    opportunity_update(opportunity=opportunity, owner=successor)

    opportunity_move_stage(
        opportunity=opportunity,
        to_stage="proposal",
        changed_by=rep,
        at=CREATED_AT + dt.timedelta(days=2),
    )

    assert _history(opportunity) == [
        (None, "qualification", rep.pk),
        ("qualification", "meeting", rep.pk),
        ("meeting", "proposal", successor.pk),
    ]
    assert StageChange.objects.order_by("id").last().changed_by == rep


def test_move_to_an_unknown_stage_is_refused_and_writes_nothing(opportunity):
    before = _row(Opportunity, opportunity.pk)

    with pytest.raises(ValidationError) as excinfo:
        _move(opportunity, "pitch", CREATED_AT + dt.timedelta(days=1))

    assert excinfo.value.message_dict == {"stage": ["Unknown stage “pitch”."]}
    assert _row(Opportunity, opportunity.pk) == before
    assert StageChange.objects.filter(opportunity=opportunity).count() == 1


def test_move_to_the_same_stage_is_refused(opportunity):
    before = _row(Opportunity, opportunity.pk)

    with pytest.raises(ValidationError) as excinfo:
        _move(opportunity, "qualification", CREATED_AT + dt.timedelta(days=1))

    assert excinfo.value.message_dict == {"stage": ["The opportunity is already in this stage."]}
    assert _row(Opportunity, opportunity.pk) == before
    assert StageChange.objects.filter(opportunity=opportunity).count() == 1


def test_move_dated_before_the_previous_move_is_refused(opportunity):
    _move(opportunity, "meeting", CREATED_AT + dt.timedelta(days=2))
    before = _row(Opportunity, opportunity.pk)

    with pytest.raises(ValidationError) as excinfo:
        _move(opportunity, "proposal", CREATED_AT + dt.timedelta(days=1))

    message = excinfo.value.message_dict["at"][0]
    assert "cannot be dated before the previous one" in message
    assert "2026-10-03 11:00" in message  # The previous move, in site time (CEST).
    assert _row(Opportunity, opportunity.pk) == before
    assert StageChange.objects.filter(opportunity=opportunity).count() == 2


def test_move_dated_before_creation_is_refused_so_no_deal_closes_before_it_was_created(
    opportunity,
):
    with pytest.raises(ValidationError) as excinfo:
        _move(opportunity, "won", CREATED_AT - dt.timedelta(minutes=1))

    assert "at" in excinfo.value.message_dict
    opportunity.refresh_from_db()
    assert opportunity.closed_at is None


def test_move_dated_at_the_same_moment_as_the_previous_one_is_allowed(opportunity, stages):
    _move(opportunity, "meeting", CREATED_AT)

    opportunity.refresh_from_db()
    assert opportunity.stage == stages["meeting"]


def test_move_in_the_future_is_refused(opportunity):
    with pytest.raises(ValidationError) as excinfo:
        _move(opportunity, "meeting", timezone.now() + dt.timedelta(hours=1))

    assert excinfo.value.message_dict == {"at": ["A move cannot be dated in the future."]}
    assert StageChange.objects.filter(opportunity=opportunity).count() == 1


def test_move_without_a_date_happens_now(opportunity):
    start = timezone.now()

    change = opportunity_move_stage(
        opportunity=opportunity, to_stage="meeting", changed_by=opportunity.owner
    )

    assert start <= change.changed_at <= timezone.now()


# ---------------------------------------------------------------------------
# opportunity_update
# ---------------------------------------------------------------------------
def test_opportunity_update_changes_the_owner(opportunity):
    successor = UserFactory()

    opportunity_update(opportunity=opportunity, owner=successor, name="Renamed")

    opportunity.refresh_from_db()
    assert (opportunity.owner, opportunity.name) == (successor, "Renamed")


def test_opportunity_update_refuses_the_stage_field(opportunity, stages):
    with pytest.raises(TypeError, match="stage"):
        opportunity_update(opportunity=opportunity, stage=stages["won"])

    opportunity.refresh_from_db()
    assert opportunity.stage == stages["qualification"]


def test_opportunity_update_refuses_a_contact_of_another_company_and_writes_nothing(
    opportunity,
):
    before = _row(Opportunity, opportunity.pk)

    with pytest.raises(ValidationError) as excinfo:
        opportunity_update(opportunity=opportunity, contact=ContactFactory())

    assert excinfo.value.message_dict == {"contact": ["This contact belongs to another company."]}
    assert _row(Opportunity, opportunity.pk) == before


def test_opportunity_update_refuses_a_negative_amount_and_writes_nothing(opportunity):
    before = _row(Opportunity, opportunity.pk)

    with pytest.raises(ValidationError) as excinfo:
        opportunity_update(opportunity=opportunity, amount=Decimal("-1"))

    assert "amount" in excinfo.value.message_dict
    assert _row(Opportunity, opportunity.pk) == before


# ---------------------------------------------------------------------------
# rep_cost_set
# ---------------------------------------------------------------------------
MONTH = dt.date(2026, 10, 1)


def test_rep_cost_set_stores_the_cost(rep):
    cost = rep_cost_set(rep=rep, month=MONTH, kind="salary", amount="45000")

    assert _row(RepCost, cost.pk) | {"id": None} == {
        "id": None,
        "rep_id": rep.pk,
        "month": MONTH,
        "kind": "salary",
        "amount": Decimal("45000.00"),
    }


def test_rep_cost_set_replaces_the_earlier_figure_of_that_kind_and_month(rep):
    rep_cost_set(rep=rep, month=MONTH, kind="salary", amount=45000)

    rep_cost_set(rep=rep, month=MONTH, kind="salary", amount=47000)

    assert list(RepCost.objects.values_list("kind", "amount")) == [("salary", Decimal("47000"))]


def test_rep_cost_set_keeps_other_kinds_apart(rep):
    rep_cost_set(rep=rep, month=MONTH, kind="salary", amount=45000)

    rep_cost_set(rep=rep, month=MONTH, kind="bonus", amount=5000)

    assert RepCost.objects.count() == 2


def test_rep_cost_set_refuses_a_month_not_on_the_first(rep):
    with pytest.raises(ValidationError) as excinfo:
        rep_cost_set(rep=rep, month=dt.date(2026, 10, 15), kind="salary", amount=45000)

    assert excinfo.value.message_dict == {
        "month": ["Use the first day of the month (costs are entered per month)."]
    }
    assert RepCost.objects.count() == 0


def test_rep_cost_set_refuses_a_negative_amount(rep):
    with pytest.raises(ValidationError) as excinfo:
        rep_cost_set(rep=rep, month=MONTH, kind="salary", amount=-1)

    assert "greater than or equal to 0" in excinfo.value.message_dict["amount"][0]
    assert RepCost.objects.count() == 0


def test_rep_cost_set_refuses_a_negative_amount_without_touching_the_earlier_figure(rep):
    cost = rep_cost_set(rep=rep, month=MONTH, kind="salary", amount=45000)

    with pytest.raises(ValidationError):
        rep_cost_set(rep=rep, month=MONTH, kind="salary", amount=-1)

    assert _row(RepCost, cost.pk)["amount"] == Decimal("45000")


def test_rep_cost_set_refuses_an_unknown_kind(rep):
    with pytest.raises(ValidationError) as excinfo:
        rep_cost_set(rep=rep, month=MONTH, kind="lottery", amount=1)

    assert list(excinfo.value.message_dict) == ["kind"]
    assert RepCost.objects.count() == 0
