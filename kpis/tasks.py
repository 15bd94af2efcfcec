"""Celery entry points for the KPI recompute (thin: the work is in kpis/compute/run.py).

Task names are explicit so renaming a module never orphans queued messages.
"""

from __future__ import annotations

import datetime as dt

from celery import chord, shared_task
from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from kpis.compute import run
from kpis.models import Source

RETRYING = {
    "acks_late": True,
    "autoretry_for": (DatabaseError,),
    "retry_backoff": True,
    "retry_jitter": True,
    "max_retries": 5,
}


@shared_task(name="kpis.recompute", **RETRYING)
def recompute() -> dict:
    """Recompute the dirty cells; past `KPI_RECOMPUTE_CHUNK_REPS` reps, fan out into chunks."""
    reps = run.dirty_rep_ids()
    size = settings.KPI_RECOMPUTE_CHUNK_REPS
    if len(reps) <= size:
        result = run.recompute()
        return {"run": str(result.run), "cells": result.cells, "periods": result.periods}
    chunks = [reps[i : i + size] for i in range(0, len(reps), size)]
    chord(recompute_cells.s(chunk) for chunk in chunks)(recompute_periods.s())
    return {"chunks": len(chunks), "reps": len(reps)}


@shared_task(name="kpis.recompute_cells", **RETRYING)
def recompute_cells(rep_ids: list[int]) -> list[list]:
    """One chunk: the daily rollups of these reps' dirty cells; returns the days it touched, each
    with the `Source` bits of its cells ([iso day, bits])."""
    result = run.recompute_cells(now=timezone.now(), rep_ids=rep_ids)
    return [[day.isoformat(), bits] for day, bits in result.day_sources]


@shared_task(name="kpis.recompute_periods", **RETRYING)
def recompute_periods(days_per_chunk: list[list]) -> dict:
    """After every chunk: the period values of the periods the chunks touched (and the current
    snapshots). A day given as a bare ISO string (a message queued by an older worker) counts as
    every source."""
    days: dict[dt.date, int] = {}
    for chunk in days_per_chunk:
        for entry in chunk:
            iso, bits = (entry, int(Source.ALL)) if isinstance(entry, str) else entry
            day = dt.date.fromisoformat(iso)
            days[day] = days.get(day, 0) | int(bits)
    return {"periods": run.recompute_periods(days=days, now=timezone.now())}


@shared_task(name="kpis.recompute_reps", **RETRYING)
def recompute_reps(rep_ids: list[int]) -> None:
    """Right after a write: the reps' own daily numbers, at once."""
    run.refresh_reps(rep_ids=rep_ids)


@shared_task(name="kpis.recompute_full", **RETRYING)
def recompute_full() -> dict:
    """Rebuild every KPI value from all history."""
    result = run.recompute_full()
    return {"run": str(result.run), "cells": result.cells, "periods": result.periods}
