"""Recompute runs: claim dirty cells, replace their stored rollups, clear what is still as claimed.

A run is safe to repeat and to overlap: cells are claimed with the token they carried, rollups are
replaced inside one transaction per batch under a lock, and a cell re-marked by a write committed
during the run keeps its new token and stays dirty for the next run.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from kpis.compute.daily import rollup_families
from kpis.models import DirtyCell, RepDay, RepDayDimension

logger = logging.getLogger(__name__)

# A claim older than this belongs to a run that died; another run may take the cells over.
STALE_CLAIM = dt.timedelta(hours=1)
# Serialises the replacing transactions of overlapping runs on PostgreSQL (SQLite serialises
# writers by itself).
_LOCK_KEY = 0x5A1_75_17E


@dataclass(frozen=True)
class RunResult:
    run: uuid.UUID
    cells: int
    full: bool


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])


def _claim(*, run: uuid.UUID, now: dt.datetime, rep_ids: list[int] | None = None) -> int:
    """Claim the unclaimed (or stale) dirty cells, remembering the token each carried."""
    cells = DirtyCell.objects.filter(Q(run__isnull=True) | Q(claimed_at__lt=now - STALE_CLAIM))
    if rep_ids is not None:
        cells = cells.filter(rep_id__in=rep_ids)
    with transaction.atomic():
        return cells.update(run=run, claimed_token=F("token"), claimed_at=now)


def _release(*, run: uuid.UUID) -> None:
    """Clear the cells still as claimed; hand back those re-marked during the run."""
    DirtyCell.objects.filter(run=run, token=F("claimed_token")).delete()
    DirtyCell.objects.filter(run=run).update(run=None, claimed_token=None, claimed_at=None)


def _claimed(run: uuid.UUID):
    def restrict(qs: QuerySet, rep: str, day: str) -> QuerySet:
        return qs.filter(
            Exists(DirtyCell.objects.filter(run=run, rep_id=OuterRef(rep), day=OuterRef(day)))
        )

    return restrict


def recompute(*, now: dt.datetime | None = None, rep_ids: list[int] | None = None) -> RunResult:
    """Incremental run: recompute the dirty (rep, day) cells (optionally of some reps only)."""
    now = now or timezone.now()
    run = uuid.uuid4()
    cells = _claim(run=run, now=now, rep_ids=rep_ids)
    if cells:
        with transaction.atomic():
            _lock()
            in_run = Exists(
                DirtyCell.objects.filter(run=run, rep_id=OuterRef("rep_id"), day=OuterRef("day"))
            )
            RepDay.objects.filter(in_run).delete()
            RepDayDimension.objects.filter(in_run).delete()
            rollup_families(restrict=_claimed(run), now=now)
            _release(run=run)
    logger.info("KPI recompute %s: %d cells", run, cells)
    return RunResult(run=run, cells=cells, full=False)


def recompute_full(*, now: dt.datetime | None = None) -> RunResult:
    """Full run: rebuild every rollup from all history; clears the dirty cells it saw."""
    now = now or timezone.now()
    run = uuid.uuid4()
    cells = _claim(run=run, now=now)
    with transaction.atomic():
        _lock()
        RepDay.objects.all().delete()
        RepDayDimension.objects.all().delete()
        rollup_families(restrict=lambda qs, rep, day: qs, now=now)
        _release(run=run)
    logger.info("KPI full recompute %s (%d dirty cells cleared)", run, cells)
    return RunResult(run=run, cells=cells, full=True)
