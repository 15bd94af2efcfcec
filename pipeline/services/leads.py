"""Leads: create, assign, update, and working them from the rep's inbox (respond, convert)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kpis.services import dirty_cells_mark
from pipeline.models import Company, Contact, Lead, Opportunity
from pipeline.services.opportunities import opportunity_create
from saljsite.timeutils import local_day

if TYPE_CHECKING:
    from activities.models import Activity
    from people.models import User


def _lead_cells(lead: Lead) -> list[tuple[int | None, dt.date | None]]:
    return [(lead.assigned_to_id, lead.received_day)]


@transaction.atomic
def lead_create(
    *,
    name: str,
    source: str = "website",
    direction: str = "inbound",
    received_at: dt.datetime | None = None,
    assigned_to: User | None = None,
    company: Company | None = None,
    contact: Contact | None = None,
    notes: str = "",
    external_id: str = "",
) -> Lead:
    """Register a lead as received; a contact without a company lends its company."""
    if company is None and contact is not None:
        company = contact.company
    lead = Lead(
        name=name,
        source=source,
        direction=direction,
        received_at=received_at or timezone.now(),
        assigned_to=assigned_to,
        company=company,
        contact=contact,
        notes=notes,
        external_id=external_id,
    )
    lead.received_day = local_day(lead.received_at)
    lead.full_clean()
    lead.save()
    dirty_cells_mark(cells=_lead_cells(lead))
    return lead


@transaction.atomic
def lead_assign(*, lead: Lead, to: User | None) -> Lead:
    """Hand a lead to a rep; the KPIs of both the old and the new assignee are recomputed."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    before = _lead_cells(lead)
    lead.assigned_to = to
    lead.full_clean()
    lead.save(update_fields=["assigned_to"])
    dirty_cells_mark(cells=before + _lead_cells(lead))
    return lead


LEAD_EDITABLE_FIELDS = frozenset(
    {"name", "source", "direction", "company", "contact", "status", "notes", "external_id"}
)


@transaction.atomic
def lead_update(*, lead: Lead, **changes: Any) -> Lead:
    """Edit a lead's details (not its assignee: `lead_assign`; not when it was received)."""
    unknown = set(changes) - LEAD_EDITABLE_FIELDS
    if unknown:
        raise TypeError(f"Not editable here: {', '.join(sorted(unknown))}")
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    for field, value in changes.items():
        setattr(lead, field, value)
    if lead.company_id is None and lead.contact_id is not None:
        lead.company_id = lead.contact.company_id
    lead.full_clean()
    lead.save()
    # No KPI reads these fields (lead KPIs use the assignee, the received day and the lead's
    # opportunities and activities), so no cell is marked dirty.
    return lead


RESPONSE_KINDS = ("call", "email")
CLOSED_LEAD_STATUSES = (Lead.Status.CONVERTED, Lead.Status.DISQUALIFIED)


@transaction.atomic
def lead_respond(*, lead: Lead, by: User, kind: str, at: dt.datetime | None = None) -> Activity:
    """Answer a lead: log a completed outbound call or email by `by`, linked to the lead (and its
    contact), and mark a new lead contacted. The activity is the lead's response for its KPIs."""
    from activities.services import activity_log  # Activities link to leads, not the reverse.

    if kind not in RESPONSE_KINDS:
        raise ValidationError({"kind": _("Answer a lead with a call or an email.")})
    lead = Lead.objects.select_for_update(of=("self",)).select_related("contact").get(pk=lead.pk)
    if lead.status in CLOSED_LEAD_STATUSES:
        raise ValidationError(
            _("This lead is closed (%(status)s).") % {"status": lead.get_status_display()}
        )
    activity = activity_log(
        owner=by,
        kind=kind,
        occurred_at=at,
        direction="outbound",
        lead=lead,
        contact=lead.contact,
        company=lead.company,
        changed_by=by,
    )
    if lead.status == Lead.Status.NEW:
        lead_update(lead=lead, status=Lead.Status.CONTACTED)
    return activity


@transaction.atomic
def lead_convert(
    *,
    lead: Lead,
    by: User,
    name: str,
    company: Company,
    owner: User | None = None,
    contact: Contact | None = None,
    **fields: Any,
) -> Opportunity:
    """Open an opportunity from a lead (created by `by`, owned by `owner`, default `by`) and mark
    the lead converted; a lead without a company takes the opportunity's."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if lead.status in CLOSED_LEAD_STATUSES:
        raise ValidationError(
            _("This lead is closed (%(status)s).") % {"status": lead.get_status_display()}
        )
    opportunity = opportunity_create(
        name=name,
        company=company,
        owner=owner or by,
        created_by=by,
        lead=lead,
        contact=contact,
        lead_source=fields.pop("lead_source", lead.source),
        **fields,
    )
    changes: dict[str, Any] = {"status": Lead.Status.CONVERTED}
    if lead.company_id is None:
        changes["company"] = company
    lead_update(lead=lead, **changes)
    return opportunity
