"""Opportunities and stage moves (stage history is append-only)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kpis.services import dirty_cells_mark, span_cells
from pipeline.models import Company, Contact, Lead, Opportunity, Stage, StageChange
from saljsite.timeutils import local_day

if TYPE_CHECKING:
    from people.models import User


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


def _purchase_cells(
    opp: Opportunity, *, closed_days: list[dt.date | None], company_id: int | None = None
) -> list:
    """A purchase (a won deal) appeared at or vanished from a company (by default the deal's):
    the company's other deals may change customer type, and churn and repeat purchase change
    for a year after it."""
    company_id = opp.company_id if company_id is None else company_id
    later_deals = list(
        Opportunity.objects.filter(company_id=company_id, closed_day__isnull=False)
        .exclude(pk=opp.pk)
        .values_list("owner_id", "closed_day")
    )
    account_owner = Company.objects.filter(pk=company_id).values_list("owner_id", flat=True)[0]
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
    owner_before, lead_before, company_before = opp.owner_id, opp.lead, opp.company_id
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
    if (
        opp.company_id != company_before
        and opp.closed_day is not None
        and opp.stage.outcome == "won"
    ):
        # The purchase left one company for another: both companies' deals and churn move.
        cells += _purchase_cells(opp, closed_days=[opp.closed_day], company_id=company_before)
        cells += _purchase_cells(opp, closed_days=[opp.closed_day])
    dirty_cells_mark(cells=cells)
    return opp
