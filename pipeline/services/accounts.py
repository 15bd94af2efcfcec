"""Companies and contacts: plain data, but some fields feed KPIs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from kpis.services import dirty_cells_mark, span_cells
from pipeline.models import Company, Contact, Opportunity

if TYPE_CHECKING:
    pass


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
