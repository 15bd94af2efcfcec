"""The dirty KPI cells of many activities: `activities.services._cells`, one query for contacts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from activities.models import Activity
from activities.services import FIRST_TOUCH_KINDS
from kpis.models import Source

if TYPE_CHECKING:
    pass


def _cells(activities: Sequence[Activity]) -> list[tuple[int | None, Any, int]]:
    cells: list[tuple[int | None, Any, int]] = []
    contacts = set()
    for activity in activities:
        cells.append((activity.owner_id, activity.occurred_day, Source.ACTIVITY))
        cells.append((activity.booked_by_id, activity.booked_day, Source.COUNTERS))
        if activity.lead_id is not None:
            lead = activity.lead
            cells.append((lead.assigned_to_id, lead.received_day, Source.LEAD))
        if activity.contact_id is not None and activity.kind in FIRST_TOUCH_KINDS:
            contacts.add(activity.contact_id)
    if contacts:
        cells += (
            (owner_id, day, Source.COUNTERS)
            for owner_id, day in Activity.objects.filter(
                contact_id__in=contacts, kind__in=FIRST_TOUCH_KINDS, status="completed"
            )
            .order_by()
            .values_list("owner_id", "occurred_day")
            .distinct()
        )
    return cells
