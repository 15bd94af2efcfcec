"""API input and output of the pipeline: companies, contacts, leads, stages, deals, costs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from people.models import User
from pipeline.models import Company, Contact, Lead, Opportunity, RepCost, Stage
from saljsite.api import IdField, ServiceSerializer

EXTERNAL_ID_HELP = (
    "Key of this record in another system (CRM, ERP, telephony); unique per resource when given. "
    "Creating with an external id already stored returns the stored record (200) instead."
)


def _external_id() -> serializers.CharField:
    # Declared rather than built from the model: no unique validator (the idempotent path).
    return serializers.CharField(
        max_length=100, required=False, allow_blank=True, help_text=EXTERNAL_ID_HELP
    )


class CompanySerializer(ServiceSerializer):
    org_number = serializers.CharField(
        max_length=20,
        required=False,
        allow_blank=True,
        help_text="Swedish organisation number; accepted as ten digits with or without dash or "
        "spaces and stored as NNNNNN-NNNN. Unique when given.",
    )
    owner = IdField(
        model=User,
        required=False,
        allow_null=True,
        help_text="Id of the user (account manager) who owns the account; null: unowned. "
        "A rep may set only themselves, a manager a member of their teams.",
    )
    external_id = _external_id()
    create_only = ("created_at",)

    class Meta:
        model = Company
        fields = ["id", "name", "org_number", "owner", "external_id", "created_at"]
        extra_kwargs = {"created_at": {"required": False}}
        descriptions = {
            "id": "Company id.",
            "name": "Company name.",
            "created_at": "When the company was registered (default: now). Only managers may "
            "set it (imports); it cannot be changed afterwards.",
        }
        constraint_fields = {
            "company_org_number_unique": ("org_number",),
            "company_external_id_unique": ("external_id",),
        }


class ContactSerializer(ServiceSerializer):
    company = IdField(model=Company, help_text="Id of the company the contact works for.")
    external_id = _external_id()

    class Meta:
        model = Contact
        fields = [
            "id",
            "company",
            "name",
            "title",
            "email",
            "phone",
            "is_decision_maker",
            "external_id",
        ]
        descriptions = {
            "id": "Contact id.",
            "name": "The contact's full name.",
            "title": "Job title.",
            "email": "Email address.",
            "phone": "Phone number, as typed.",
            "is_decision_maker": "C-level or budget holder (counts for "
            "`meetings_booked_decision_makers`).",
        }
        constraint_fields = {"contact_external_id_unique": ("external_id",)}

    def related_scopes(self) -> Mapping[str, QuerySet]:
        return {"company": self.actor.companies()}


class LeadSerializer(ServiceSerializer):
    assigned_to = IdField(
        model=User,
        required=False,
        allow_null=True,
        help_text="Id of the rep the lead is assigned to; null: unassigned (the shared queue). "
        "A rep may assign only themselves, a manager a member of their teams.",
    )
    company = IdField(
        model=Company,
        required=False,
        allow_null=True,
        help_text="Id of the lead's company; taken from the contact when not given.",
    )
    contact = IdField(
        model=Contact, required=False, allow_null=True, help_text="Id of the lead's contact."
    )
    external_id = _external_id()
    create_only = ("received_at",)

    class Meta:
        model = Lead
        fields = [
            "id",
            "name",
            "source",
            "direction",
            "received_at",
            "assigned_to",
            "company",
            "contact",
            "status",
            "notes",
            "external_id",
        ]
        extra_kwargs = {"received_at": {"required": False}}
        descriptions = {
            "id": "Lead id.",
            "name": "What the lead is (a name, a request).",
            "source": "Where the lead came from.",
            "direction": "Inbound (the customer reached out) or outbound (prospecting).",
            "received_at": "When the lead came in (default: now); lead response time counts from "
            "it. Only managers may set it (imports); it cannot be changed afterwards.",
            "status": "Where the lead stands.",
            "notes": "Free text.",
        }
        constraint_fields = {"lead_external_id_unique": ("external_id",)}

    def related_scopes(self) -> Mapping[str, QuerySet]:
        return {"company": self.actor.companies(), "contact": self.actor.contacts()}


class StageSerializer(ServiceSerializer):
    class Meta:
        model = Stage
        fields = ["slug", "name", "order", "outcome"]
        read_only_fields = fields
        descriptions = {
            "slug": "The stage's key; opportunities name their stage by it.",
            "name": "Display name.",
            "order": "Position in the pipeline (ascending).",
            "outcome": "Open stages are the pipeline; won and lost close a deal.",
        }


class StageSlugField(serializers.CharField):
    """An opportunity's stage by slug; the service resolves it (unknown: 400 on `stage`)."""

    def to_representation(self, value: Stage | str) -> str:
        return value if isinstance(value, str) else value.slug


class OpportunitySerializer(ServiceSerializer):
    company = IdField(model=Company, help_text="Id of the customer company.")
    owner = IdField(
        model=User,
        required=False,
        help_text="Id of the rep who owns the deal (results count for them); default: the "
        "caller. A rep may hand a new deal to a teammate; a manager to a member of their teams.",
    )
    created_by = IdField(
        model=User,
        required=False,
        help_text="Id of the user who created the opportunity (`opportunities_created` counts "
        "for them); default: the caller. Only managers may name someone else (imports); it "
        "cannot be changed afterwards.",
    )
    stage = StageSlugField(
        max_length=50,
        required=False,
        help_text="Slug of the current stage (see /stages/). On create: an open stage, default "
        "the first; afterwards it changes only through POST /opportunities/{id}/move/.",
    )
    lead = IdField(
        model=Lead, required=False, allow_null=True, help_text="Id of the lead it came from."
    )
    contact = IdField(
        model=Contact,
        required=False,
        allow_null=True,
        help_text="Id of the main contact; must work for the opportunity's company.",
    )
    external_id = _external_id()
    create_only = ("created_by", "created_at", "stage")

    class Meta:
        model = Opportunity
        fields = [
            "id",
            "name",
            "company",
            "owner",
            "created_by",
            "kind",
            "lead_source",
            "channel",
            "amount",
            "stage",
            "lead",
            "contact",
            "created_at",
            "closed_at",
            "lost_reason",
            "external_id",
            "updated_at",
        ]
        read_only_fields = ["closed_at", "updated_at"]
        extra_kwargs = {"created_at": {"required": False}}
        descriptions = {
            "id": "Opportunity id.",
            "name": "What is being sold.",
            "kind": "New business, upsell / expansion of an existing customer, or renewal.",
            "lead_source": "Where the deal originated.",
            "channel": "Sales channel.",
            "amount": "Deal value in the organisation currency (a decimal string). A won deal "
            "needs an amount above zero.",
            "created_at": "When the opportunity was created (default: now). Only managers may "
            "set it (back-fill); it cannot be changed afterwards.",
            "closed_at": "When it was won or lost; null while open (set by stage moves).",
            "lost_reason": "Why the deal was lost (given when moving to a lost stage).",
            "updated_at": "Last change.",
        }
        constraint_fields = {"opportunity_external_id_unique": ("external_id",)}

    def related_scopes(self) -> Mapping[str, QuerySet]:
        users = User.objects.all()  # One query for owner and created_by; the view's rules decide.
        return {
            "company": self.actor.companies(),
            "contact": self.actor.contacts(),
            "lead": self.actor.leads(),
            "owner": users,
            "created_by": users,
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is None and attrs.get("lost_reason"):
            raise serializers.ValidationError(
                {"lost_reason": [_("A new opportunity is open: give the reason when it is lost.")]}
            )
        return super().validate(attrs)


class OpportunityMoveSerializer(serializers.Serializer):
    stage = serializers.CharField(
        max_length=50, help_text="Slug of the stage to move to (see /stages/)."
    )
    lost_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="Why the deal was lost; required when moving to a lost stage.",
    )
    amount = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text="The deal's amount, updated with the move (a won deal needs one above zero).",
    )
    at = serializers.DateTimeField(
        required=False,
        help_text="When the move happened (default: now); managers only, to back-fill history. "
        "Not before the previous move, not in the future.",
    )


class RepCostSerializer(ServiceSerializer):
    rep = IdField(model=User, help_text="Id of the rep the cost belongs to.")
    create_only = ("rep", "month", "kind")

    class Meta:
        model = RepCost
        fields = ["id", "rep", "month", "kind", "amount"]
        descriptions = {
            "id": "Rep cost id.",
            "month": "First day of the month the cost is for (YYYY-MM-01).",
            "kind": "Salary, bonus or other cost. One figure per rep, month and kind: posting "
            "an existing one replaces its amount.",
            "amount": "Cost in the organisation currency (a decimal string, ≥ 0).",
        }
