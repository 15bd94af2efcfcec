"""Writes of the KPI app."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from kpis.models import DirtyCell
from kpis.periods import weekly_days

Cell = tuple[int | None, dt.date | None]


def dirty_cells_mark(*, cells: Iterable[Cell], enqueue: bool = True) -> None:
    """Mark (rep id, local day) cells for recompute; call inside the write's transaction.

    Cells with no rep or no day (an unassigned lead, an open deal's close day) are ignored.
    """
    unique = {(rep_id, day) for rep_id, day in cells if rep_id is not None and day is not None}
    if not unique:
        return
    now = timezone.now()
    DirtyCell.objects.bulk_create(
        [
            DirtyCell(rep_id=rep_id, day=day, token=uuid.uuid4(), marked_at=now)
            for rep_id, day in sorted(unique)
        ],
        update_conflicts=True,
        unique_fields=["rep", "day"],
        update_fields=["token", "marked_at"],
        batch_size=5000,
    )
    if enqueue and settings.KPI_RECOMPUTE_ON_WRITE:
        # Freshness: the reps see their own numbers at once. The nightly run is the guarantee of
        # completeness; a failed enqueue is logged, never undoes the committed write.
        rep_ids = sorted({rep_id for rep_id, _day in unique})
        transaction.on_commit(lambda: _enqueue_rep_recompute(rep_ids), robust=True)


def _enqueue_rep_recompute(rep_ids: list[int]) -> None:
    from kpis.tasks import recompute_reps

    recompute_reps.delay(rep_ids)


def span_cells(
    *, rep_ids: Iterable[int | None], first: dt.date | None, last: dt.date | None
) -> list[Cell]:
    """Cells that make a recompute revisit every period between `first` and `last`.

    A period's non-additive values are recomputed when any of its days is dirty, so one day per
    week (every 7-day window holds one) and the last day are enough.
    """
    days = weekly_days(first, last)
    return [(rep_id, day) for rep_id in set(rep_ids) if rep_id is not None for day in days]


def dirty_cells_mark_since(*, since: dt.date) -> int:
    """Mark every (rep, day) from `since` on that has KPI inputs or stored rollups; returns how
    many. One distinct query per source table."""
    from activities.models import Activity
    from kpis.models import RepDay
    from pipeline.models import Lead, Opportunity, RepCost, StageChange

    sources = [
        (Activity.objects, "owner_id", "occurred_day"),
        (Activity.objects.filter(booked_by__isnull=False), "booked_by_id", "booked_day"),
        (Opportunity.objects, "created_by_id", "created_day"),
        (Opportunity.objects.filter(closed_day__isnull=False), "owner_id", "closed_day"),
        (StageChange.objects, "owner_id", "changed_day"),
        (Lead.objects.filter(assigned_to__isnull=False), "assigned_to_id", "received_day"),
        (RepCost.objects, "rep_id", "month"),
        (RepDay.objects, "rep_id", "day"),
    ]
    cells: set[Cell] = set()
    for qs, rep, day in sources:
        cells.update(
            qs.filter(**{f"{day}__gte": since}).order_by().values_list(rep, day).distinct()
        )
    dirty_cells_mark(cells=cells, enqueue=False)
    return len(cells)
