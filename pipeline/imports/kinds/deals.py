"""Opportunities and their stage history, written through pipeline.services.

An opportunity row opens the deal in its first stage (`stage`, an open stage; default the first
one) and, on re-import, updates its details. Stage moves come from a separate stage-history file,
one row per move (opportunity, stage, when), applied in time order through
`opportunity_move_stage`, which keeps the history append-only and checks every rule (no move
before the previous one, won needs an amount, lost a reason). A move already in the history (same
opportunity, stage and time, or the deal's opening entry) is unchanged.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pipeline import services
from pipeline.imports import formats as f
from pipeline.imports.formats import Column
from pipeline.imports.kinds.base import CREATED, UNCHANGED, UPDATED, RowKind, changed, given
from pipeline.imports.kinds.crm import EXTERNAL_ID, _out_of_reach
from pipeline.models import LeadSource, Opportunity, StageChange


class OpportunityKind(RowKind):
    slug = "opportunities"
    label = gettext_lazy("Opportunities")
    columns = (
        replace(EXTERNAL_ID, example="CRM-O-1"),
        Column("name", required=True, max_length=200, example="Licenser 2026"),
        Column("company", f.COMPANY, required=True, example="CRM-1001"),
        Column("owner", f.USER, required=True, example="alex.ae"),
        Column(
            "created_by",
            f.USER,
            example="sam.sdr",
            help=gettext_lazy("Who opened the deal (default: the owner)."),
        ),
        Column("kind", f.CHOICE, choices=tuple(Opportunity.Kind.values), example="new_business"),
        Column("lead_source", f.CHOICE, choices=tuple(LeadSource.values), example="website"),
        Column("channel", f.CHOICE, choices=tuple(Opportunity.Channel.values), example="field"),
        Column("amount", f.DECIMAL, example="125 000,00"),
        Column(
            "stage",
            f.STAGE,
            example="qualification",
            help=gettext_lazy("The open stage the deal starts in; moves: stage-history file."),
        ),
        Column("lead", f.LEAD, example=""),
        Column("contact", f.CONTACT, example="CRM-C-1"),
        Column("created_at", f.DATETIME, example="2026-03-02 10:00"),
    )
    fallback_column = "name"
    EDITABLE = {
        c: c
        for c in (
            "name",
            "company",
            "owner",
            "kind",
            "lead_source",
            "channel",
            "amount",
            "lead",
            "contact",
        )
    }
    EMPTY: dict[str, Any] = {
        "lead": None,
        "contact": None,
        "amount": Decimal("0"),
        "kind": Opportunity.Kind.NEW_BUSINESS,
        "lead_source": LeadSource.OTHER,
        "channel": Opportunity.Channel.FIELD,
    }

    def load_existing(self, rows):
        keys = [row["external_id"] for row in rows]
        return {
            o.external_id: o
            for o in Opportunity.objects.filter(external_id__in=keys).exclude(external_id="")
        }

    def check(self, row, existing, ctx):
        if existing is not None and not ctx.may_act_for(existing.owner_id):
            return {"external_id": _out_of_reach(_("opportunity"))}
        return {}

    def apply(self, row, existing, ctx) -> str:
        values = given(self, row, self.EDITABLE, self.EMPTY)
        if existing is None:
            created = row.get("created_at")
            services.opportunity_create(
                created_by=row.get("created_by") or row["owner"],
                stage=row.get("stage"),
                created_at=created[0] if created else None,
                external_id=row["external_id"],
                **values,
            )
            return CREATED
        diff = changed(existing, values)
        if not diff:
            return UNCHANGED
        services.opportunity_update(opportunity=existing, **diff)
        return UPDATED


class StageHistoryKind(RowKind):
    slug = "stage-history"
    label = gettext_lazy("Stage history")
    columns = (
        Column("opportunity", f.OPPORTUNITY, required=True, example="CRM-O-1"),
        Column("stage", f.STAGE, required=True, example="won"),
        Column("changed_at", f.DATETIME, required=True, example="2026-04-15 14:00"),
        Column(
            "changed_by",
            f.USER,
            example="alex.ae",
            help=gettext_lazy("Who moved it (default: the opportunity's owner)."),
        ),
        Column(
            "amount",
            f.DECIMAL,
            example="130 000",
            help=gettext_lazy("The deal's amount from this move on (a won deal needs one)."),
        ),
        Column("lost_reason", example="", help=gettext_lazy("Why a lost deal was lost.")),
    )
    fallback_column = "stage"
    field_columns = {"at": "changed_at"}

    def key(self, row):
        return (row["opportunity"].pk, row["stage"].pk, row["changed_at"][0])

    def order(self, rows):
        return sorted(
            rows, key=lambda item: (item[1]["opportunity"].pk, item[1]["changed_at"][0], item[0])
        )

    def load_existing(self, rows):
        opportunity_ids = {row["opportunity"].pk for row in rows}
        return {
            (opp_id, stage_id, at): True
            for opp_id, stage_id, at in StageChange.objects.filter(
                opportunity_id__in=opportunity_ids
            ).values_list("opportunity_id", "to_stage_id", "changed_at")
        }

    def check(self, row, existing, ctx):
        if not ctx.may_act_for(row["opportunity"].owner_id):
            return {"opportunity": _out_of_reach(_("opportunity"))}
        return {}

    def apply(self, row, existing, ctx) -> str:
        if existing:
            return UNCHANGED
        services.opportunity_move_stage(
            opportunity=row["opportunity"],
            to_stage=row["stage"],
            changed_by=row.get("changed_by") or row["opportunity"].owner,
            at=row["changed_at"][0],
            lost_reason=row.get("lost_reason") or "",
            amount=row.get("amount"),
        )
        return CREATED
