"""Every write of the pipeline: leads, opportunities, stage moves and rep costs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kpis.services import dirty_cells_mark, span_cells
from pipeline.models import Company, Contact, Lead, Opportunity, RepCost, Stage, StageChange
from saljsite.timeutils import local_day

if TYPE_CHECKING:
    from activities.models import Activity
    from people.models import User


# ---------------------------------------------------------------------------
# Companies and contacts (plain data, but some fields feed KPIs)
# ---------------------------------------------------------------------------
@transaction.atomic
def company_save(*, company: Company) -> Company:
    """Create or change a company; a new account manager moves its churn and repeat purchase
    history, so the periods since its first purchase are recomputed."""
    # Read (and lock) the stored row before saving over it.
    owner_before = list(
        Company.objects.select_for_update().filter(pk=company.pk).values_list("owner_id", flat=True)
    )
    company.full_clean()
    company.save()
    if owner_before and owner_before[0] != company.owner_id:
        first = (
            Opportunity.objects.filter(company=company, stage__outcome="won")
            .order_by("closed_day")
            .values_list("closed_day", flat=True)
            .first()
        )
        dirty_cells_mark(
            cells=span_cells(
                rep_ids=[owner_before[0], company.owner_id], first=first, last=timezone.localdate()
            )
        )
    return company


@transaction.atomic
def contact_save(*, contact: Contact) -> Contact:
    """Create or change a contact; a changed decision-maker flag recounts the meetings booked
    with them."""
    flag_before = list(
        Contact.objects.select_for_update()
        .filter(pk=contact.pk)
        .values_list("is_decision_maker", flat=True)
    )
    contact.full_clean()
    contact.save()
    if flag_before and flag_before[0] != contact.is_decision_maker:
        dirty_cells_mark(
            cells=contact.activities.filter(booked_by__isnull=False)
            .order_by()
            .values_list("booked_by_id", "booked_day")
            .distinct()
        )
    return contact


# ---------------------------------------------------------------------------
# Leads
# ---------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------
# Opportunities and stage moves
# ---------------------------------------------------------------------------
def _stage(stage: Stage | str) -> Stage:
    if isinstance(stage, Stage):
        return stage
    try:
        return Stage.objects.get(slug=stage)
    except Stage.DoesNotExist:
        raise ValidationError({"stage": _("Unknown stage “%(slug)s”.") % {"slug": stage}}) from None


def _opportunity_cells(opp: Opportunity) -> list[tuple[int | None, dt.date | None]]:
    return [(opp.created_by_id, opp.created_day), (opp.owner_id, opp.closed_day)]


@transaction.atomic
def opportunity_create(
    *,
    name: str,
    company: Company,
    owner: User,
    created_by: User,
    kind: str = Opportunity.Kind.NEW_BUSINESS,
    lead_source: str = "other",
    channel: str = Opportunity.Channel.FIELD,
    amount: Decimal | int | str = Decimal("0"),
    stage: Stage | str | None = None,
    lead: Lead | None = None,
    contact: Contact | None = None,
    created_at: dt.datetime | None = None,
    external_id: str = "",
) -> Opportunity:
    """Open an opportunity in an open stage (default: the first) and record that first entry."""
    stage = _stage(stage) if stage is not None else Stage.objects.filter(outcome="open").first()
    if stage is None or not stage.is_open:
        raise ValidationError({"stage": _("An opportunity starts in an open stage.")})
    opp = Opportunity(
        name=name,
        company=company,
        owner=owner,
        created_by=created_by,
        kind=kind,
        lead_source=lead_source,
        channel=channel,
        amount=Decimal(str(amount)),
        stage=stage,
        lead=lead,
        contact=contact,
        created_at=created_at or timezone.now(),
        external_id=external_id,
    )
    opp.created_day = local_day(opp.created_at)
    if contact is not None and contact.company_id != company.pk:
        raise ValidationError({"contact": _("This contact belongs to another company.")})
    opp.full_clean()
    opp.save()
    StageChange.objects.create(
        opportunity=opp,
        from_stage=None,
        to_stage=stage,
        owner=owner,
        changed_by=created_by,
        changed_at=opp.created_at,
        changed_day=opp.created_day,
    )
    cells = _opportunity_cells(opp) + [(owner.pk, opp.created_day)]
    if lead is not None:
        cells.append((lead.assigned_to_id, lead.received_day))
    dirty_cells_mark(cells=cells)
    return opp


@transaction.atomic
def opportunity_move_stage(
    *,
    opportunity: Opportunity,
    to_stage: Stage | str,
    changed_by: User,
    at: dt.datetime | None = None,
    lost_reason: str = "",
    amount: Decimal | int | str | None = None,
) -> StageChange:
    """Move an opportunity to another stage and append the move to its history.

    Won and lost set `closed_at`; reopening (closed → open) clears it. Won needs an amount above
    zero and lost a reason. A move is never dated before the previous one, nor in the future.
    """
    opp = Opportunity.objects.select_for_update().select_related("stage").get(pk=opportunity.pk)
    stage = _stage(to_stage)
    at = at or timezone.now()
    errors: dict[str, str] = {}
    if stage.pk == opp.stage_id:
        errors["stage"] = _("The opportunity is already in this stage.")
    last = (
        opp.stage_changes.order_by("-changed_at", "-id")
        .values_list("changed_at", flat=True)
        .first()
    )
    if last is not None and at < last:
        errors["at"] = _("A move cannot be dated before the previous one (%(last)s).") % {
            "last": timezone.localtime(last).strftime("%Y-%m-%d %H:%M")
        }
    if at > timezone.now() + dt.timedelta(minutes=5):
        errors["at"] = _("A move cannot be dated in the future.")
    if amount is not None:
        opp.amount = Decimal(str(amount))
    if stage.outcome == Stage.Outcome.WON and opp.amount <= 0:
        errors["amount"] = _("A won deal needs an amount above zero.")
    if stage.outcome == Stage.Outcome.LOST:
        opp.lost_reason = lost_reason.strip() or opp.lost_reason
        if not opp.lost_reason:
            errors["lost_reason"] = _("A lost deal needs a reason.")
    if errors:
        raise ValidationError(errors)

    before = _opportunity_cells(opp)
    from_stage = opp.stage
    opp.stage = stage
    if stage.is_closed:
        opp.closed_at = at
    elif from_stage.is_closed:
        opp.closed_at = None  # Reopened: the deal is open again.
    opp.closed_day = local_day(opp.closed_at)
    if stage.outcome != Stage.Outcome.LOST:
        opp.lost_reason = ""
    opp.full_clean()
    opp.save()
    change = StageChange.objects.create(
        opportunity=opp,
        from_stage=from_stage,
        to_stage=stage,
        owner=opp.owner,
        changed_by=changed_by,
        changed_at=at,
        changed_day=local_day(at),
    )
    # The previous entry's exit belongs to that entry's owner and day (stage conversion).
    previous = (
        opp.stage_changes.exclude(pk=change.pk)
        .order_by("-changed_at", "-id")
        .values_list("owner_id", "changed_day")
        .first()
    )
    cells = (
        before
        + _opportunity_cells(opp)
        + [(opp.owner_id, change.changed_day), previous or (None, None)]
        # A back-dated move changes the open pipeline at the end of every period since.
        + span_cells(rep_ids=[opp.owner_id], first=change.changed_day, last=timezone.localdate())
    )
    if Stage.Outcome.WON in (from_stage.outcome, stage.outcome):
        cells += _purchase_cells(opp, closed_days=[before[1][1], opp.closed_day])
    dirty_cells_mark(cells=cells)
    return change


def _purchase_cells(opp: Opportunity, *, closed_days: list[dt.date | None]) -> list:
    """A purchase (a won deal) appeared or vanished: the company's other deals may change
    customer type, and churn and repeat purchase change for a year after it."""
    later_deals = list(
        Opportunity.objects.filter(company_id=opp.company_id, closed_day__isnull=False)
        .exclude(pk=opp.pk)
        .values_list("owner_id", "closed_day")
    )
    account_owner = Company.objects.filter(pk=opp.company_id).values_list("owner_id", flat=True)[0]
    year_cells = [
        cell
        for day in closed_days
        if day is not None
        for cell in span_cells(
            rep_ids=[account_owner or opp.owner_id], first=day, last=day + dt.timedelta(days=366)
        )
    ]
    return later_deals + year_cells


OPPORTUNITY_EDITABLE_FIELDS = frozenset(
    {
        "name",
        "company",
        "owner",
        "kind",
        "lead_source",
        "channel",
        "amount",
        "lead",
        "contact",
        "lost_reason",
        "external_id",
    }
)


@transaction.atomic
def opportunity_update(*, opportunity: Opportunity, **changes: Any) -> Opportunity:
    """Edit an opportunity's details (not its stage: use `opportunity_move_stage`)."""
    unknown = set(changes) - OPPORTUNITY_EDITABLE_FIELDS
    if unknown:
        raise TypeError(f"Not editable here: {', '.join(sorted(unknown))}")
    opp = (
        Opportunity.objects.select_for_update(of=("self",))
        .select_related("lead")
        .get(pk=opportunity.pk)
    )
    before = _opportunity_cells(opp)
    owner_before, lead_before = opp.owner_id, opp.lead
    for field, value in changes.items():
        setattr(opp, field, value)
    if opp.contact_id is not None and opp.contact.company_id != opp.company_id:
        raise ValidationError({"contact": _("This contact belongs to another company.")})
    opp.full_clean()
    opp.save()
    cells = before + _opportunity_cells(opp)
    if {"owner", "amount"} & set(changes):
        # Ownership and amount have no history: the open pipeline of every period since the
        # deal was created, and its result, move with them.
        cells += span_cells(
            rep_ids=[owner_before, opp.owner_id],
            first=opp.created_day,
            last=opp.closed_day or timezone.localdate(),
        )
    if "lead" in changes:
        cells += [
            (lead.assigned_to_id, lead.received_day) for lead in (lead_before, opp.lead) if lead
        ]
    if "company" in changes and opp.closed_day is not None and opp.stage.outcome == "won":
        cells += _purchase_cells(opp, closed_days=[opp.closed_day])
    dirty_cells_mark(cells=cells)
    return opp


# ---------------------------------------------------------------------------
# Rep costs
# ---------------------------------------------------------------------------
@transaction.atomic
def rep_cost_set(*, rep: User, month: dt.date, kind: str, amount: Decimal | int | str) -> RepCost:
    """Set a rep's cost of one kind for one month (replacing any earlier figure)."""
    cost = RepCost.objects.filter(rep=rep, month=month, kind=kind).first() or RepCost(
        rep=rep, month=month, kind=kind
    )
    cost.amount = Decimal(str(amount))
    cost.full_clean()
    cost.save()
    dirty_cells_mark(cells=[(rep.pk, month)])
    return cost


# ---------------------------------------------------------------------------
# Working a lead (the rep's inbox)
# ---------------------------------------------------------------------------
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
