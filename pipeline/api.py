"""API views of the pipeline: thin callers of `pipeline.services` (see `saljsite/api/`).

Who may write what (beyond reading scope, see `saljsite.api.Actor`):
- companies: a rep edits unowned ones and their own and owns only as themselves; created_at is
  managers' (imports).
- contacts: anyone who reads the company.
- leads: a rep edits unassigned ones and their own, assigns only themselves; received_at is
  managers'.
- opportunities: a rep edits and moves their own, may hand a new or own deal to a teammate;
  created_by, created_at and a move's `at` are managers' (back-fill).
- rep costs: managers only, for the members of their teams.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from people.models import User
from pipeline.filters import (
    CompanyFilter,
    ContactFilter,
    LeadFilter,
    OpportunityFilter,
    RepCostFilter,
    StageFilter,
)
from pipeline.models import Company, Contact, Lead, Opportunity, RepCost, Stage
from pipeline.serializers import (
    CompanySerializer,
    ContactSerializer,
    LeadSerializer,
    OpportunityMoveSerializer,
    OpportunitySerializer,
    RepCostSerializer,
    StageSerializer,
)
from pipeline.services import (
    company_save,
    contact_save,
    lead_assign,
    lead_create,
    lead_update,
    opportunity_create,
    opportunity_move_stage,
    opportunity_update,
    rep_cost_set,
)
from saljsite.api import Actor, IdempotentCreateMixin, ScopedQuerysetMixin, actor, service_errors

MANAGERS_SET = _("Only managers may set “%(field)s”.")


def _managers_only(actor: Actor, data: dict[str, Any], *fields: str) -> None:
    for field in fields:
        if field in data and not actor.is_manager:
            raise PermissionDenied(MANAGERS_SET % {"field": field})


def _acting_for(actor: Actor, user: User | None, field: str) -> None:
    if user is not None and not actor.may_act_for(user):
        raise PermissionDenied(
            _("You may not write with this user as “%(field)s”.") % {"field": field}
        )


class _WriteViewSet(
    ScopedQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """List, retrieve, create, update (no delete: the rows carry history)."""


class CompanyViewSet(IdempotentCreateMixin, _WriteViewSet):
    queryset = Company.objects.all()
    serializer_class = CompanySerializer
    filterset_class = CompanyFilter

    def scoped_queryset(self, actor: Actor):
        return actor.companies().order_by("name", "id")

    def may_write(self, actor: Actor, company: Company) -> bool:
        return actor.is_manager or company.owner_id in (None, actor.user.pk)

    def _check(self, data: dict[str, Any]) -> None:
        _managers_only(actor(self.request), data, "created_at")
        _acting_for(actor(self.request), data.get("owner"), "owner")

    def perform_create(self, serializer: CompanySerializer) -> None:
        data = dict(serializer.validated_data)
        self._check(data)
        self._save(serializer, Company(**data))

    def perform_update(self, serializer: CompanySerializer) -> None:
        data = dict(serializer.validated_data)
        self._check(data)
        company = serializer.instance
        for field, value in data.items():
            setattr(company, field, value)
        self._save(serializer, company)

    def _save(self, serializer: CompanySerializer, company: Company) -> None:
        # full_clean (in the service) normalises the organisation number.
        with service_errors(serializer):
            company_save(company=company)
        serializer.instance = company


class ContactViewSet(IdempotentCreateMixin, _WriteViewSet):
    queryset = Contact.objects.all()
    serializer_class = ContactSerializer
    filterset_class = ContactFilter

    def scoped_queryset(self, actor: Actor):
        return actor.contacts().order_by("name", "id")

    def perform_create(self, serializer: ContactSerializer) -> None:
        self._save(serializer, Contact(**serializer.validated_data))

    def perform_update(self, serializer: ContactSerializer) -> None:
        contact = serializer.instance
        for field, value in serializer.validated_data.items():
            setattr(contact, field, value)
        self._save(serializer, contact)

    def _save(self, serializer: ContactSerializer, contact: Contact) -> None:
        with service_errors(serializer):
            contact_save(contact=contact)
        serializer.instance = contact


class LeadViewSet(IdempotentCreateMixin, _WriteViewSet):
    queryset = Lead.objects.all()
    serializer_class = LeadSerializer
    filterset_class = LeadFilter

    def scoped_queryset(self, actor: Actor):
        return actor.leads().order_by("-received_at", "-id")

    def may_write(self, actor: Actor, lead: Lead) -> bool:
        return actor.is_manager or lead.assigned_to_id in (None, actor.user.pk)

    def _check(self, data: dict[str, Any]) -> None:
        _managers_only(actor(self.request), data, "received_at")
        _acting_for(actor(self.request), data.get("assigned_to"), "assigned_to")

    def perform_create(self, serializer: LeadSerializer) -> None:
        data = dict(serializer.validated_data)
        self._check(data)
        # `lead_create` registers a lead as new; a lead synced from another system may already
        # be further along: its status is set in the same transaction.
        status_ = data.pop("status", Lead.Status.NEW)
        with service_errors(serializer), transaction.atomic():
            lead = lead_create(**data)
            if status_ != lead.status:
                lead = lead_update(lead=lead, status=status_)
        serializer.instance = lead

    def perform_update(self, serializer: LeadSerializer) -> None:
        data = dict(serializer.validated_data)
        self._check(data)
        lead = serializer.instance
        with service_errors(serializer), transaction.atomic():
            if "assigned_to" in data:
                lead = lead_assign(lead=lead, to=data.pop("assigned_to"))
            if data:
                lead = lead_update(lead=lead, **data)
        serializer.instance = lead


class StageViewSet(viewsets.ReadOnlyModelViewSet):
    """The pipeline's stages, in order; read by slug."""

    queryset = Stage.objects.order_by("order", "id")
    serializer_class = StageSerializer
    filterset_class = StageFilter
    lookup_field = "slug"


class OpportunityViewSet(IdempotentCreateMixin, _WriteViewSet):
    queryset = Opportunity.objects.all()
    serializer_class = OpportunitySerializer
    filterset_class = OpportunityFilter

    def scoped_queryset(self, actor: Actor):
        return actor.opportunities().select_related("stage").order_by("-created_at", "-id")

    def may_write(self, actor: Actor, opportunity: Opportunity) -> bool:
        return actor.is_manager or opportunity.owner_id == actor.user.pk

    def _check(self, data: dict[str, Any]) -> None:
        me = actor(self.request)
        _managers_only(me, data, "created_at")
        _acting_for(me, data.get("created_by"), "created_by")
        owner = data.get("owner")
        # A rep may hand a deal to a teammate (an SDR's opportunity to an AE).
        if owner is not None and not (
            me.may_act_for(owner) if me.is_manager else me.is_teammate(owner)
        ):
            raise PermissionDenied(_("You may not make this user the deal's owner."))

    def perform_create(self, serializer: OpportunitySerializer) -> None:
        data = dict(serializer.validated_data)
        self._check(data)
        data.setdefault("owner", self.request.user)
        data.setdefault("created_by", self.request.user)
        with service_errors(serializer):
            serializer.instance = opportunity_create(**data)

    def perform_update(self, serializer: OpportunitySerializer) -> None:
        data = dict(serializer.validated_data)
        self._check(data)
        if data:
            with service_errors(serializer):
                serializer.instance = opportunity_update(opportunity=serializer.instance, **data)

    @extend_schema(
        request=OpportunityMoveSerializer,
        responses={200: OpportunitySerializer},
        summary="Move the opportunity to another stage",
        description="Appends the move to the stage history. Won and lost close the deal, "
        "reopening clears `closed_at`. `at` (back-fill) is for managers only.",
    )
    @action(detail=True, methods=["post"])
    def move(self, request: Request, pk: str | None = None) -> Response:
        opportunity = self.get_object()  # 404 outside the scope, 403 when not the caller's.
        serializer = OpportunityMoveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        _managers_only(actor(request), data, "at")
        with service_errors(serializer):
            change = opportunity_move_stage(
                opportunity=opportunity,
                to_stage=data["stage"],
                changed_by=request.user,
                at=data.get("at"),
                lost_reason=data.get("lost_reason", ""),
                amount=data.get("amount"),
            )
        return Response(self.get_serializer(change.opportunity).data)


class RepCostViewSet(
    ScopedQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """A rep reads their own costs; managers read and set their teams' (no delete: set 0)."""

    queryset = RepCost.objects.all()
    serializer_class = RepCostSerializer
    filterset_class = RepCostFilter
    managers_write_only = True

    def scoped_queryset(self, actor: Actor):
        return actor.rep_costs().order_by("-month", "rep_id", "kind")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        _acting_for(actor(request), data["rep"], "rep")
        kind = data.get("kind", RepCost._meta.get_field("kind").default)
        key = {"rep": data["rep"], "month": data["month"], "kind": kind}
        replaced = RepCost.objects.filter(**key).exists()
        with service_errors(serializer):
            cost = rep_cost_set(**key, amount=data["amount"])
        return Response(
            self.get_serializer(cost).data,
            status=status.HTTP_200_OK if replaced else status.HTTP_201_CREATED,
        )

    def perform_update(self, serializer: RepCostSerializer) -> None:
        cost = serializer.instance
        amount = serializer.validated_data.get("amount", cost.amount)
        with service_errors(serializer):
            serializer.instance = rep_cost_set(
                rep=cost.rep, month=cost.month, kind=cost.kind, amount=amount
            )
