"""Every write of the pipeline: leads, opportunities, stage moves and rep costs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kpis.services import dirty_cells_mark
from pipeline.models import Company, Contact, Lead, Opportunity, RepCost, Stage, StageChange
from saljsite.timeutils import local_day

if TYPE_CHECKING:
    from people.models import User


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
    dirty_cells_mark(
        cells=before
        + _opportunity_cells(opp)
        + [(opp.owner_id, change.changed_day), previous or (None, None)]
    )
    return change


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
    opp = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
    before = _opportunity_cells(opp) + [(opp.owner_id, None)]
    for field, value in changes.items():
        setattr(opp, field, value)
    if opp.contact_id is not None and opp.contact.company_id != opp.company_id:
        raise ValidationError({"contact": _("This contact belongs to another company.")})
    opp.full_clean()
    opp.save()
    # An owner change moves open pipeline and results between reps: recompute both from creation.
    cells = before + _opportunity_cells(opp)
    if "owner" in changes:
        cells += [(before_owner, opp.created_day) for before_owner, _day in before]
        cells.append((opp.owner_id, opp.created_day))
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
