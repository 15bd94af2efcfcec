"""Celery entry points for the KPI recompute (thin: the work is in kpis/compute/run.py)."""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError

from kpis.compute import run


@shared_task(
    name="kpis.recompute",
    acks_late=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
)
def recompute(rep_ids: list[int] | None = None) -> dict:
    """Recompute the dirty (rep, day) cells (of some reps, or all)."""
    result = run.recompute(rep_ids=rep_ids)
    return {"run": str(result.run), "cells": result.cells}


@shared_task(
    name="kpis.recompute_full",
    acks_late=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
)
def recompute_full() -> dict:
    """Rebuild every KPI rollup from all history."""
    result = run.recompute_full()
    return {"run": str(result.run), "cells": result.cells}
