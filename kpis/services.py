"""Writes of the KPI app."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

from django.utils import timezone

from kpis.models import DirtyCell

Cell = tuple[int | None, dt.date | None]


def dirty_cells_mark(*, cells: Iterable[Cell]) -> None:
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
    )
