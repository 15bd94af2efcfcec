"""API filters of the pipeline resources (`?owner=12&created_at__gte=2026-10-01T00:00:00Z`)."""

from __future__ import annotations

import contextlib

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django_filters import rest_framework as filters

from pipeline.models import Company, Contact, Lead, Opportunity, RepCost, Stage
from pipeline.validators import normalize_org_number
from saljsite.api import FilterSet


class CompanyFilter(FilterSet):
    org_number = filters.CharFilter(
        method="filter_org_number", label="Organisation number, in any accepted form."
    )

    class Meta:
        model = Company
        fields = {
            "owner": ["exact", "isnull"],
            "name": ["icontains"],
            "external_id": ["exact"],
            "created_at": ["gte", "lt"],
        }

    def filter_org_number(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        with contextlib.suppress(ValidationError):
            value = normalize_org_number(value)
        return queryset.filter(org_number=value)


class ContactFilter(FilterSet):
    class Meta:
        model = Contact
        fields = {
            "company": ["exact"],
            "is_decision_maker": ["exact"],
            "email": ["iexact"],
            "external_id": ["exact"],
        }


class LeadFilter(FilterSet):
    class Meta:
        model = Lead
        fields = {
            "assigned_to": ["exact", "isnull"],
            "company": ["exact"],
            "contact": ["exact"],
            "status": ["exact"],
            "source": ["exact"],
            "direction": ["exact"],
            "external_id": ["exact"],
            "received_at": ["gte", "lt"],
        }


class StageFilter(FilterSet):
    class Meta:
        model = Stage
        fields = {"outcome": ["exact"]}


class OpportunityFilter(FilterSet):
    stage = filters.CharFilter(field_name="stage__slug", label="Stage slug.")
    outcome = filters.ChoiceFilter(
        field_name="stage__outcome",
        choices=Stage.Outcome.choices,
        label="Outcome of the current stage: open, won or lost.",
    )

    class Meta:
        model = Opportunity
        fields = {
            "owner": ["exact"],
            "created_by": ["exact"],
            "company": ["exact"],
            "contact": ["exact"],
            "lead": ["exact"],
            "kind": ["exact"],
            "lead_source": ["exact"],
            "channel": ["exact"],
            "external_id": ["exact"],
            "created_at": ["gte", "lt"],
            "closed_at": ["gte", "lt", "isnull"],
            "updated_at": ["gte"],
        }


class RepCostFilter(FilterSet):
    class Meta:
        model = RepCost
        fields = {"rep": ["exact"], "kind": ["exact"], "month": ["exact", "gte", "lt"]}
