"""The pipeline's database constraints and its append-only stage history.

Each constraint is shown twice: the database refuses the bad row when model validation is bypassed
(`bulk_create` / `save()`), and `full_clean()` (what the admin and every service run) refuses it
with a readable message. Service-level refusals are in `test_services.py`.
"""

from __future__ import annotations

import datetime as dt
import re
from datetime import UTC
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.forms import modelform_factory

from people.tests.factories import UserFactory
from pipeline.exceptions import AppendOnlyError
from pipeline.models import Company, Contact, Lead, Opportunity, RepCost, Stage, StageChange
from pipeline.services import opportunity_create, opportunity_move_stage
from pipeline.tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db

CREATED_AT = dt.datetime(2026, 10, 1, 9, 0, tzinfo=UTC)


def assert_db_refuses(write, *, constraint: str | None = None) -> None:
    """The write raises IntegrityError (naming the check constraint); the test DB stays usable."""
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        write()
    if constraint is not None:
        # SQLite: "CHECK constraint failed: <name>";
        # PostgreSQL: '... violates check constraint "<name>"'.
        assert constraint in str(excinfo.value)


@pytest.fixture
def rep():
    return UserFactory()


@pytest.fixture
def company():
    return CompanyFactory(name="Acme AB")


@pytest.fixture
def stages():
    return {stage.slug: stage for stage in Stage.objects.all()}


def _opportunity(*, company, owner, stage, **fields) -> Opportunity:
    """An unsaved, valid opportunity row (local days filled in, as the services do)."""
    values = {
        "name": "Deal",
        "company": company,
        "owner": owner,
        "created_by": owner,
        "stage": stage,
        "created_at": CREATED_AT,
        "created_day": CREATED_AT.date(),
    }
    values.update(fields)
    return Opportunity(**values)


def _lead(**fields) -> Lead:
    values = {
        "name": "Lead",
        "received_at": CREATED_AT,
        "received_day": CREATED_AT.date(),
    }
    values.update(fields)
    return Lead(**values)


# ---------------------------------------------------------------------------
# The seeded stages
# ---------------------------------------------------------------------------
def test_migration_seeds_the_default_stages_in_order():
    rows = list(Stage.objects.values_list("slug", "outcome"))

    assert rows == [
        ("qualification", "open"),
        ("meeting", "open"),
        ("proposal", "open"),
        ("negotiation", "open"),
        ("won", "won"),
        ("lost", "lost"),
    ]


def test_database_refuses_a_stage_with_an_unknown_outcome():
    assert_db_refuses(
        lambda: Stage.objects.bulk_create([Stage(slug="x", name="X", order=50, outcome="maybe")]),
        constraint="stage_outcome_valid",
    )


def test_full_clean_refuses_a_stage_with_an_unknown_outcome():
    with pytest.raises(ValidationError) as excinfo:
        Stage(slug="x", name="X", order=50, outcome="maybe").full_clean()

    assert "outcome" in excinfo.value.message_dict


# ---------------------------------------------------------------------------
# Company
# ---------------------------------------------------------------------------
def test_database_refuses_a_second_company_with_the_same_org_number():
    Company.objects.create(name="First AB", org_number="556036-0793")

    assert_db_refuses(
        lambda: Company.objects.bulk_create([Company(name="Second AB", org_number="556036-0793")])
    )
    assert Company.objects.count() == 1


def test_full_clean_refuses_a_duplicate_org_number_spelled_differently():
    Company.objects.create(name="First AB", org_number="556036-0793")
    second = Company(name="Second AB", org_number="5560360793")

    with pytest.raises(ValidationError) as excinfo:
        second.full_clean()

    assert "A company with this organisation number exists." in excinfo.value.messages


def test_companies_without_org_number_or_external_id_may_be_many():
    Company.objects.bulk_create([Company(name="A AB"), Company(name="B AB")])
    third = Company(name="C AB")

    third.full_clean()  # The blank values are outside both unique constraints.
    third.save()

    assert Company.objects.count() == 3


def test_database_refuses_a_duplicate_company_external_id():
    Company.objects.create(name="First AB", external_id="crm-1")

    assert_db_refuses(
        lambda: Company.objects.bulk_create([Company(name="Second AB", external_id="crm-1")])
    )


def test_full_clean_refuses_a_duplicate_company_external_id():
    Company.objects.create(name="First AB", external_id="crm-1")

    with pytest.raises(ValidationError) as excinfo:
        Company(name="Second AB", external_id="crm-1").full_clean()

    assert re.search(r"external[ _]id", str(excinfo.value.messages), re.IGNORECASE)


def test_invalid_org_number_in_the_company_form_is_refused_and_nothing_is_written():
    CompanyForm = modelform_factory(Company, fields=["name", "org_number"])  # As the admin does.
    form = CompanyForm(data={"name": "Acme AB", "org_number": "556036-0794"})

    assert not form.is_valid()
    assert "check digit is wrong" in form.errors["org_number"][0]
    with pytest.raises(ValueError, match="didn't validate"):
        form.save()
    assert Company.objects.count() == 0


def test_company_form_stores_the_canonical_org_number():
    CompanyForm = modelform_factory(Company, fields=["name", "org_number"])
    form = CompanyForm(data={"name": "Acme AB", "org_number": "5560360793"})

    assert form.is_valid(), form.errors
    form.save()

    assert Company.objects.get().org_number == "556036-0793"


# ---------------------------------------------------------------------------
# Contact
# ---------------------------------------------------------------------------
def test_database_refuses_a_duplicate_contact_external_id(company):
    Contact.objects.create(company=company, name="Anna", external_id="crm-7")

    assert_db_refuses(
        lambda: Contact.objects.bulk_create(
            [Contact(company=company, name="Bo", external_id="crm-7")]
        )
    )


def test_full_clean_refuses_a_duplicate_contact_external_id(company):
    Contact.objects.create(company=company, name="Anna", external_id="crm-7")

    with pytest.raises(ValidationError) as excinfo:
        Contact(company=company, name="Bo", external_id="crm-7").full_clean()

    assert re.search(r"external[ _]id", str(excinfo.value.messages), re.IGNORECASE)


# ---------------------------------------------------------------------------
# Lead
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("field", "value", "constraint"),
    [
        ("source", "carrier_pigeon", "lead_source_valid"),
        ("direction", "sideways", "lead_direction_valid"),
        ("status", "maybe", "lead_status_valid"),
    ],
)
def test_database_refuses_a_lead_with_an_unknown_choice(field, value, constraint):
    assert_db_refuses(
        lambda: Lead.objects.bulk_create([_lead(**{field: value})]), constraint=constraint
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [("source", "carrier_pigeon"), ("direction", "sideways"), ("status", "maybe")],
)
def test_full_clean_refuses_a_lead_with_an_unknown_choice_on_the_field(field, value):
    with pytest.raises(ValidationError) as excinfo:
        _lead(**{field: value}).full_clean()

    assert list(excinfo.value.message_dict) == [field]
    assert "is not a valid choice" in excinfo.value.message_dict[field][0]


def test_database_refuses_a_duplicate_lead_external_id():
    Lead.objects.bulk_create([_lead(external_id="web-1")])

    assert_db_refuses(lambda: Lead.objects.bulk_create([_lead(external_id="web-1")]))
    assert Lead.objects.count() == 1


# ---------------------------------------------------------------------------
# Opportunity
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "constraint"),
    [
        ({"amount": Decimal("-1")}, "opportunity_amount_gte_0"),
        ({"kind": "charity"}, "opportunity_kind_valid"),
        ({"lead_source": "carrier_pigeon"}, "opportunity_lead_source_valid"),
        ({"channel": "telepathy"}, "opportunity_channel_valid"),
        (
            {"closed_at": dt.datetime(2026, 10, 2, tzinfo=UTC), "closed_day": None},
            "opportunity_closed_day_with_closed_at",
        ),
        (
            {"closed_at": None, "closed_day": dt.date(2026, 10, 2)},
            "opportunity_closed_day_with_closed_at",
        ),
        (
            {"closed_at": CREATED_AT - dt.timedelta(seconds=1), "closed_day": CREATED_AT.date()},
            "opportunity_closed_after_created",
        ),
    ],
    ids=[
        "negative-amount",
        "kind",
        "lead-source",
        "channel",
        "closed-at-without-day",
        "closed-day-without-at",
        "closed-before-created",
    ],
)
def test_database_refuses_an_invalid_opportunity(rep, company, stages, fields, constraint):
    bad = _opportunity(company=company, owner=rep, stage=stages["won"], **fields)

    assert_db_refuses(lambda: Opportunity.objects.bulk_create([bad]), constraint=constraint)
    assert Opportunity.objects.count() == 0


def test_database_accepts_an_opportunity_closed_the_moment_it_was_created(rep, company, stages):
    row = _opportunity(
        company=company,
        owner=rep,
        stage=stages["won"],
        amount=Decimal("10"),
        closed_at=CREATED_AT,
        closed_day=CREATED_AT.date(),
    )

    Opportunity.objects.bulk_create([row])

    assert Opportunity.objects.count() == 1


def test_full_clean_refuses_an_opportunity_closed_before_it_was_created(rep, company, stages):
    bad = _opportunity(
        company=company,
        owner=rep,
        stage=stages["won"],
        closed_at=CREATED_AT - dt.timedelta(days=1),
        closed_day=CREATED_AT.date() - dt.timedelta(days=1),
    )

    with pytest.raises(ValidationError) as excinfo:
        bad.full_clean()

    assert "An opportunity cannot close before it was created." in excinfo.value.messages


def test_full_clean_refuses_a_negative_opportunity_amount_on_the_field(rep, company, stages):
    bad = _opportunity(company=company, owner=rep, stage=stages["proposal"], amount=Decimal("-5"))

    with pytest.raises(ValidationError) as excinfo:
        bad.full_clean()

    assert "amount" in excinfo.value.message_dict


def test_database_refuses_a_duplicate_opportunity_external_id(rep, company, stages):
    Opportunity.objects.bulk_create(
        [_opportunity(company=company, owner=rep, stage=stages["proposal"], external_id="erp-9")]
    )
    duplicate = _opportunity(
        company=company, owner=rep, stage=stages["proposal"], external_id="erp-9"
    )

    assert_db_refuses(lambda: Opportunity.objects.bulk_create([duplicate]))
    assert Opportunity.objects.count() == 1


# ---------------------------------------------------------------------------
# StageChange: its constraint and append-only history
# ---------------------------------------------------------------------------
@pytest.fixture
def opportunity(rep, company):
    return opportunity_create(
        name="Deal", company=company, owner=rep, created_by=rep, created_at=CREATED_AT
    )


@pytest.fixture
def history(opportunity, rep):
    """An opportunity with two history rows: its creation and one move."""
    opportunity_move_stage(
        opportunity=opportunity,
        to_stage="proposal",
        changed_by=rep,
        at=CREATED_AT + dt.timedelta(days=1),
    )
    return list(StageChange.objects.filter(opportunity=opportunity).values())


def test_database_refuses_a_stage_change_into_the_stage_it_left(opportunity, rep, stages):
    proposal = stages["proposal"]
    loop = StageChange(
        opportunity=opportunity,
        from_stage=proposal,
        to_stage=proposal,
        owner=rep,
        changed_by=rep,
        changed_at=CREATED_AT,
        changed_day=CREATED_AT.date(),
    )

    assert_db_refuses(lambda: loop.save(), constraint="stagechange_moves_somewhere")


def test_stage_change_save_of_an_existing_row_raises(history):
    change = StageChange.objects.order_by("id").last()
    change.changed_day = dt.date(2020, 1, 1)

    with pytest.raises(AppendOnlyError, match="append-only"):
        change.save()

    assert list(StageChange.objects.values()) == history


def test_stage_change_delete_raises(history):
    change = StageChange.objects.order_by("id").last()

    with pytest.raises(AppendOnlyError, match="append-only"):
        change.delete()

    assert list(StageChange.objects.values()) == history


def test_stage_change_queryset_update_raises(history):
    with pytest.raises(AppendOnlyError, match="append-only"):
        StageChange.objects.update(changed_day=dt.date(2020, 1, 1))

    assert list(StageChange.objects.values()) == history


def test_stage_change_queryset_delete_raises(history):
    with pytest.raises(AppendOnlyError, match="append-only"):
        StageChange.objects.filter(from_stage__isnull=False).delete()

    assert list(StageChange.objects.values()) == history


def test_stage_change_bulk_update_raises(history):
    changes = list(StageChange.objects.all())
    for change in changes:
        change.changed_day = dt.date(2020, 1, 1)

    with pytest.raises(AppendOnlyError, match="append-only"):
        StageChange.objects.bulk_update(changes, ["changed_day"])

    assert list(StageChange.objects.values()) == history


def test_postgres_trigger_refuses_a_raw_sql_update_of_stage_history(postgres_only, history):
    with (
        pytest.raises(DatabaseError, match="append-only") as excinfo,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE pipeline_stagechange SET changed_day = %s", [dt.date(2020, 1, 1)])

    assert not isinstance(excinfo.value, IntegrityError)  # The trigger, not a constraint.
    assert list(StageChange.objects.values()) == history


def test_postgres_trigger_refuses_a_raw_sql_delete_of_stage_history(postgres_only, history):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM pipeline_stagechange")

    assert list(StageChange.objects.values()) == history


# ---------------------------------------------------------------------------
# RepCost
# ---------------------------------------------------------------------------
MONTH = dt.date(2026, 10, 1)


@pytest.mark.parametrize(
    ("fields", "constraint"),
    [
        ({"amount": Decimal("-0.01")}, "repcost_amount_gte_0"),
        ({"kind": "lottery"}, "repcost_kind_valid"),
    ],
    ids=["negative-amount", "kind"],
)
def test_database_refuses_an_invalid_rep_cost(rep, fields, constraint):
    values = {"rep": rep, "month": MONTH, "kind": "salary", "amount": Decimal("100")} | fields

    assert_db_refuses(
        lambda: RepCost.objects.bulk_create([RepCost(**values)]), constraint=constraint
    )


def test_database_refuses_a_second_rep_cost_of_the_same_kind_and_month(rep):
    RepCost.objects.create(rep=rep, month=MONTH, kind="salary", amount=Decimal("100"))

    assert_db_refuses(
        lambda: RepCost.objects.bulk_create(
            [RepCost(rep=rep, month=MONTH, kind="salary", amount=Decimal("200"))]
        )
    )
    assert RepCost.objects.get().amount == Decimal("100")


def test_full_clean_refuses_a_second_rep_cost_of_the_same_kind_and_month(rep):
    RepCost.objects.create(rep=rep, month=MONTH, kind="salary", amount=Decimal("100"))

    with pytest.raises(ValidationError) as excinfo:
        RepCost(rep=rep, month=MONTH, kind="salary", amount=Decimal("200")).full_clean()

    assert "This rep already has a cost of this kind that month." in excinfo.value.messages


def test_rep_costs_of_other_kinds_or_months_coexist(rep):
    RepCost.objects.bulk_create(
        [
            RepCost(rep=rep, month=MONTH, kind="salary", amount=Decimal("100")),
            RepCost(rep=rep, month=MONTH, kind="bonus", amount=Decimal("10")),
            RepCost(rep=rep, month=dt.date(2026, 11, 1), kind="salary", amount=Decimal("100")),
            RepCost(rep=UserFactory(), month=MONTH, kind="salary", amount=Decimal("100")),
        ]
    )

    assert RepCost.objects.count() == 4
