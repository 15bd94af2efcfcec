"""Companies, contacts and leads: keyed by `external_id`, written through pipeline.services."""

from __future__ import annotations

import contextlib
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pipeline import services
from pipeline.imports import formats as f
from pipeline.imports.formats import Column
from pipeline.imports.kinds.base import CREATED, UNCHANGED, UPDATED, RowKind, changed, given
from pipeline.models import Company, Contact, Direction, Lead, LeadSource
from pipeline.validators import normalize_org_number

EXTERNAL_ID = Column(
    "external_id",
    f.TEXT,
    required=True,
    max_length=100,
    example="CRM-1001",
    help=gettext_lazy("The row's id in the system it comes from; re-importing it updates the row."),
)


def _out_of_reach(what: str) -> str:
    return _("This %(what)s belongs to another team: you cannot change it.") % {"what": what}


class CompanyKind(RowKind):
    slug = "companies"
    label = gettext_lazy("Companies")
    columns = (
        EXTERNAL_ID,
        Column("name", required=True, max_length=200, example="Exempel AB"),
        Column(
            "org_number",
            max_length=20,
            example="556036-0793",
            help=gettext_lazy("Swedish organisation number, NNNNNN-NNNN."),
        ),
        Column("owner", f.USER, example="anna.am", help=gettext_lazy("The account manager.")),
    )
    fallback_column = "name"
    FIELDS = {"name": "name", "org_number": "org_number", "owner": "owner"}

    def load_existing(self, rows):
        keys = [row["external_id"] for row in rows]
        return {
            c.external_id: c
            for c in Company.objects.filter(external_id__in=keys).exclude(external_id="")
        }

    def check(self, row, existing, ctx):
        if existing is not None and not ctx.may_act_for(existing.owner_id):
            return {"external_id": _out_of_reach(_("company"))}
        return {}

    def apply(self, row, existing, ctx) -> str:
        values = given(self, row, self.FIELDS, {"owner": None})
        if "org_number" in values:
            with contextlib.suppress(ValidationError):  # Left as typed: full_clean reports it.
                values["org_number"] = normalize_org_number(values["org_number"])
        if existing is None:
            services.company_save(company=Company(external_id=row["external_id"], **values))
            return CREATED
        diff = changed(existing, values)
        if not diff:
            return UNCHANGED
        for name, value in diff.items():
            setattr(existing, name, value)
        services.company_save(company=existing)
        return UPDATED


class ContactKind(RowKind):
    slug = "contacts"
    label = gettext_lazy("Contacts")
    columns = (
        EXTERNAL_ID,
        Column("company", f.COMPANY, required=True, example="CRM-1001"),
        Column("name", required=True, max_length=200, example="Eva Svensson"),
        Column("title", max_length=200, example="Inköpschef"),
        Column("email", max_length=254, example="eva@exempel.se"),
        Column("phone", max_length=40, example="+46 8 123 456"),
        Column("is_decision_maker", f.BOOL, example="1"),
    )
    fallback_column = "name"
    FIELDS = {c: c for c in ("company", "name", "title", "email", "phone", "is_decision_maker")}

    def load_existing(self, rows):
        keys = [row["external_id"] for row in rows]
        return {
            c.external_id: c
            for c in Contact.objects.select_related("company")
            .filter(external_id__in=keys)
            .exclude(external_id="")
        }

    def check(self, row, existing, ctx):
        if existing is not None and not ctx.may_act_for(existing.company.owner_id):
            return {"external_id": _out_of_reach(_("contact"))}
        if not ctx.may_act_for(row["company"].owner_id):
            return {"company": _out_of_reach(_("company"))}
        return {}

    def apply(self, row, existing, ctx) -> str:
        values = given(self, row, self.FIELDS, {"is_decision_maker": False})
        if existing is None:
            services.contact_save(contact=Contact(external_id=row["external_id"], **values))
            return CREATED
        diff = changed(existing, values)
        if not diff:
            return UNCHANGED
        for name, value in diff.items():
            setattr(existing, name, value)
        services.contact_save(contact=existing)
        return UPDATED


class LeadKind(RowKind):
    slug = "leads"
    label = gettext_lazy("Leads")
    columns = (
        EXTERNAL_ID,
        Column("name", required=True, max_length=200, example="Förfrågan via webben"),
        Column("source", f.CHOICE, choices=tuple(LeadSource.values), example="website"),
        Column("direction", f.CHOICE, choices=tuple(Direction.values), example="inbound"),
        Column(
            "received_at",
            f.DATETIME,
            example="2026-03-02 09:30",
            help=gettext_lazy("When the lead came in; cannot change once imported."),
        ),
        Column("assigned_to", f.USER, example="sam.sdr"),
        Column("company", f.COMPANY, example="CRM-1001"),
        Column("contact", f.CONTACT, example="CRM-C-1"),
        Column("status", f.CHOICE, choices=tuple(Lead.Status.values), example="new"),
        Column("notes", example=""),
    )
    fallback_column = "name"
    field_columns = {"received_day": "received_at"}
    EDITABLE = {
        c: c for c in ("name", "source", "direction", "company", "contact", "status", "notes")
    }
    EMPTY: dict[str, Any] = {
        "company": None,
        "contact": None,
        "assigned_to": None,
        "source": LeadSource.WEBSITE,
        "direction": Direction.INBOUND,
        "status": Lead.Status.NEW,
    }

    def load_existing(self, rows):
        keys = [row["external_id"] for row in rows]
        return {
            lead.external_id: lead
            for lead in Lead.objects.filter(external_id__in=keys).exclude(external_id="")
        }

    def check(self, row, existing, ctx):
        if existing is None:
            return {}
        if not ctx.may_act_for(existing.assigned_to_id):
            return {"external_id": _out_of_reach(_("lead"))}
        received = row.get("received_at")
        if received is not None and received[0] != existing.received_at:
            return {"received_at": _("When a lead was received cannot change.")}
        return {}

    def apply(self, row, existing, ctx) -> str:
        values = given(self, row, self.EDITABLE, self.EMPTY)
        if values.get("company") is None and values.get("contact") is not None:
            values["company"] = values["contact"].company  # As the services infer it.
        assignee = row["assigned_to"] if "assigned_to" in self.present else None
        if existing is None:
            status = values.pop("status", Lead.Status.NEW)
            received = row.get("received_at")
            lead = services.lead_create(
                received_at=received[0] if received else None,
                assigned_to=assignee,
                external_id=row["external_id"],
                **values,
            )
            if status != lead.status:
                services.lead_update(lead=lead, status=status)
            return CREATED
        diff = changed(existing, values)
        reassign = "assigned_to" in self.present and existing.assigned_to_id != (
            assignee.pk if assignee else None
        )
        if not diff and not reassign:
            return UNCHANGED
        if reassign:
            existing = services.lead_assign(lead=existing, to=assignee)
        if diff:
            services.lead_update(lead=existing, **diff)
        return UPDATED
