"""Recompute runs: claim dirty cells, replace their stored rollups, clear what is still as claimed.

A run is safe to repeat and to overlap: cells are claimed with the token they carried, rollups are
replaced inside one transaction per batch under a lock, and a cell re-marked by a write committed
during the run keeps its new token and stays dirty for the next run.

Two layers are recomputed:
1. the additive daily rollups of the claimed (rep, day) cells (`kpis/compute/daily/`);
2. the non-additive period values (`kpis/compute/periodic/`) of every week, month, quarter and
   year containing a claimed day — per family, only for the days whose cells carry a `Source` bit
   that family reads (an activity cannot move the open pipeline) — plus, for the snapshot
   families (open pipeline, churn), the current periods and any later ones up to the latest
   future-dated rollup: they are measured at now, and move with time even when nothing is
   written — and those current at the last run, measured at their end once it has passed.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, Max, Min, OuterRef, Q, QuerySet
from django.utils import timezone

from kpis.compute.daily import rollup_families, rollup_rebuild
from kpis.compute.period_rollups import period_rollups_rebuild, period_rollups_replace
from kpis.compute.periodic import FAMILIES, compute_period_values
from kpis.compute.periodic.call_days import call_days_rebuild, call_days_replace
from kpis.models import DirtyCell, KPIValue, RepDay, RepDayDimension, Source
from kpis.periods import PeriodRange, period_containing, weekly_days
from kpis.registry import Period

logger = logging.getLogger(__name__)

# A claim older than this belongs to a run that died; another run may take the cells over.
STALE_CLAIM = dt.timedelta(hours=1)
# Serialises the replacing transactions of overlapping runs on PostgreSQL (SQLite serialises
# writers by itself).
_LOCK_KEY = 0x5A1_75_17E
# Per recompute transaction on PostgreSQL: room to hash-aggregate a table's (rep, day) groups
# (with the 4 MB default the planner sorts millions of rows, or walks an index, instead) and to
# sort a full run's median observations in memory (1.4 M rows for days_in_stage at 200 reps
# spilled 36 MB to disk at 64 MB), and no JIT: compiling the wide rollup statements costs
# seconds and saves less than it costs. One recompute transaction runs at a time (the lock), but
# a statement may hold several sorts and hashes: `KPI_RECOMPUTE_WORK_MEM` (256 MB) lowers it.


@dataclass(frozen=True)
class RunResult:
    run: uuid.UUID
    cells: int
    full: bool
    days: tuple[dt.date, ...] = field(default=())
    periods: int = 0
    # The claimed days with the `Source` bits of their cells (OR over the day's reps).
    day_sources: tuple[tuple[dt.date, int], ...] = field(default=())


def _lock() -> None:
    """Start a recompute transaction: wait for other runs; set its memory (PostgreSQL)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
            work_mem = settings.KPI_RECOMPUTE_WORK_MEM
            for name, value in (("work_mem", work_mem), ("jit", "off")):
                cursor.execute("SELECT set_config(%s, %s, true)", [name, value])


def _claim(*, run: uuid.UUID, now: dt.datetime, rep_ids: Iterable[int] | None = None) -> int:
    """Claim the unclaimed (or stale) dirty cells, remembering the token each carried."""
    cells = DirtyCell.objects.filter(Q(run__isnull=True) | Q(claimed_at__lt=now - STALE_CLAIM))
    if rep_ids is not None:
        cells = cells.filter(rep_id__in=list(rep_ids))
    with transaction.atomic():
        return cells.update(run=run, claimed_token=F("token"), claimed_at=now)


def _release(*, run: uuid.UUID) -> None:
    """Clear the cells still as claimed; hand back those re-marked during the run."""
    DirtyCell.objects.filter(run=run, token=F("claimed_token")).delete()
    DirtyCell.objects.filter(run=run).update(run=None, claimed_token=None, claimed_at=None)


def _replace_rollups(cells: QuerySet, *, now: dt.datetime) -> None:
    """Delete and rebuild the daily rollups of the (rep, day) cells in `cells` (a DirtyCell qs),
    and the period sums of the periods holding them."""

    def matching(rep: str, day: str) -> Exists:
        return Exists(cells.filter(rep_id=OuterRef(rep), day=OuterRef(day)))

    RepDay.objects.filter(matching("rep_id", "day")).delete()
    RepDayDimension.objects.filter(matching("rep_id", "day")).delete()
    rollup_families(restrict=lambda qs, rep, day: qs.filter(matching(rep, day)), now=now)
    period_rollups_replace(cells)
    call_days_replace(cells, now=now)


def periods_of(days: Iterable[dt.date], *, today: dt.date) -> list[PeriodRange]:
    """Every week, month, quarter and year containing one of `days`, and the current ones."""
    return sorted(
        {period_containing(p, day) for day in {*days, today} for p in Period},
        key=lambda r: (r.period, r.start),
    )


DaySources = Iterable[dt.date] | Mapping[dt.date, int]


def family_periods(
    days: DaySources,
    *,
    today: dt.date,
    horizon: dt.date | None = None,
    start: dt.date | None = None,
    since: dt.date | None = None,
) -> dict[str, set[PeriodRange]]:
    """The periods each period-value family recomputes: those holding a day whose cells carry a
    `Source` bit the family reads (plain days: every bit). A snapshot (open pipeline, churn) at a
    period's end reads every row before it, so a day dirties the snapshots of every period from
    it to the `horizon` (`_history_span`: today unless rollups go further) — from the `start` of
    history at the earliest: a full run stores no snapshot before it — and the current periods
    are recomputed in every run: they move with time, and so does every later period up to the
    horizon (measured at now too, and opened by a future-dated row whatever its bits). So do the
    periods current at the last run (`since`, its local day): those that ended since were
    measured before their end, and are measured at it now."""
    horizon = max(horizon or today, today)
    bits = days if isinstance(days, Mapping) else dict.fromkeys(days, int(Source.ALL))
    since = min(since or today, today)
    current = {period_containing(p, day) for day in weekly_days(since, horizon) for p in Period}
    wanted: dict[str, set[PeriodRange]] = {}
    for family in FAMILIES:
        dirty = [day for day, day_bits in bits.items() if day_bits & family.sources]
        if family.snapshot:
            dirty = {
                later
                for day in dirty
                for later in weekly_days(max(day, start or day), max(day, horizon))
            }
        held = {period_containing(p, day) for day in dirty for p in Period}
        wanted[family.name] = held | current if family.snapshot else held
    return wanted


def recompute_periods(*, days: DaySources, now: dt.datetime) -> int:
    """Recompute the non-additive period values of the periods containing `days` (a mapping
    gives each day's `Source` bits; plain days are all sources), and the current snapshots.
    Returns the number of distinct periods recomputed."""
    with transaction.atomic():
        _lock()
        today = timezone.localdate(now)
        edge = _history_edge()
        start, horizon = _history_span(today=today)
        # A day after the horizon (a won deal dirties its company's next 366 days; a deleted
        # future-dated row) is in no period a full run stores.
        beyond = any(day > horizon for day in days)
        if isinstance(days, Mapping):
            days = {day: bits for day, bits in days.items() if day <= horizon}
        else:
            days = [day for day in days if day <= horizon]
        wanted = family_periods(
            _widen_before_history(days, edge=edge),
            today=today,
            horizon=horizon,
            start=start,
            since=_last_measured(),
        )
        compute_period_values(periods=(), families=wanted, now=now)
        if edge is not None and any(day < edge for day in days):
            # History may now start later (its oldest row was deleted or re-dated).
            _drop_before_history(start=start)
        if beyond:
            # History may now end earlier (its latest future-dated row was deleted or re-dated).
            _drop_after_horizon(horizon=horizon)
    return len(set().union(*wanted.values()))


def _history_span(*, today: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last days whose periods a full run stores: from the first day with rollups
    (or today, if that is earlier) to today, or to a later day with rollups (rows dated in the
    future, the horizon). A dirty day without rollups (a planned meeting, a deleted row) opens
    no period."""
    span = RepDay.objects.aggregate(first=Min("day"), last=Max("day"))
    if span["first"] is None:
        return today, today
    return min(span["first"], today), max(span["last"], today)


def _last_measured() -> dt.date | None:
    """The local day of the last run's `now`, at which it measured the snapshots of the periods
    then current (the organisation always has an open pipeline value)."""
    last = KPIValue.objects.filter(
        kpi="open_opportunities", scope=KPIValue.Scope.ORG, period=Period.WEEK
    ).aggregate(last=Max("computed_at"))["last"]
    return timezone.localdate(last) if last is not None else None


def _drop_after_horizon(*, horizon: dt.date) -> None:
    """Drop the values of periods starting after the horizon, which a full run does not write."""
    KPIValue.objects.filter(period_start__gt=horizon).delete()


SNAPSHOT_CODES = tuple(code for family in FAMILIES if family.snapshot for code in family.codes)


def _history_edge() -> dt.date | None:
    """The end of the first stored week of snapshots (None when none is stored)."""
    first = KPIValue.objects.filter(kpi__in=SNAPSHOT_CODES, period=Period.WEEK).aggregate(
        first=Min("period_start")
    )["first"]
    return first + dt.timedelta(days=7) if first is not None else None


def _widen_before_history(days: DaySources, *, edge: dt.date | None) -> DaySources:
    """Days that move the start of history earlier count for every family.

    A full run stores the snapshots (open pipeline, churn) of every period from the first day of
    history on, zeros included. A day written before that start (an import of older rows, a
    back-dated activity) opens periods that have no snapshot yet, whatever its `Source` bits say;
    so does any day within the first stored week (a week can straddle a month the full run would
    now begin in). Everything is new when no snapshot is stored at all.
    """
    if not isinstance(days, Mapping):
        return days
    return {
        day: int(Source.ALL) if edge is None or day < edge else bits for day, bits in days.items()
    }


def _drop_before_history(*, start: dt.date) -> None:
    """Drop the snapshots of periods wholly before the start of history (`_history_span`),
    which a full run does not write (it stores them from the period holding that day on)."""
    before = Q()
    for period in Period:
        before |= Q(period=period, period_start__lt=period_containing(period, start).start)
    KPIValue.objects.filter(before, kpi__in=SNAPSHOT_CODES).delete()


def _day_sources(cells: QuerySet) -> tuple[tuple[dt.date, int], ...]:
    merged: dict[dt.date, int] = {}
    for day, bits in cells.values_list("day", "sources"):
        merged[day] = merged.get(day, 0) | bits
    return tuple(sorted(merged.items()))


def recompute_cells(*, now: dt.datetime, rep_ids: Iterable[int] | None = None) -> RunResult:
    """Claim the dirty cells (of some reps, or all) and replace their daily rollups."""
    run = uuid.uuid4()
    count = _claim(run=run, now=now, rep_ids=rep_ids)
    day_sources: tuple[tuple[dt.date, int], ...] = ()
    if count:
        with transaction.atomic():
            _lock()
            claimed = DirtyCell.objects.filter(run=run)
            day_sources = _day_sources(claimed)
            _replace_rollups(claimed, now=now)
            _release(run=run)
    return RunResult(
        run=run,
        cells=count,
        full=False,
        days=tuple(day for day, _bits in day_sources),
        day_sources=day_sources,
    )


def recompute(*, now: dt.datetime | None = None, rep_ids: Iterable[int] | None = None) -> RunResult:
    """Incremental run: the dirty cells' rollups, then the period values of their periods."""
    now = now or timezone.now()
    cells = recompute_cells(now=now, rep_ids=rep_ids)
    periods = recompute_periods(days=dict(cells.day_sources), now=now)
    logger.info("KPI recompute %s: %d cells, %d periods", cells.run, cells.cells, periods)
    return RunResult(
        run=cells.run,
        cells=cells.cells,
        full=False,
        days=cells.days,
        periods=periods,
        day_sources=cells.day_sources,
    )


def refresh_reps(*, rep_ids: Iterable[int], now: dt.datetime | None = None) -> None:
    """Freshness after a write: rebuild the reps' dirty daily rollups at once, without clearing
    the cells, so the next scheduled run still recomputes their period values."""
    now = now or timezone.now()
    with transaction.atomic():
        _lock()
        _replace_rollups(DirtyCell.objects.filter(rep_id__in=list(rep_ids)), now=now)


def recompute_full(*, now: dt.datetime | None = None) -> RunResult:
    """Full run: rebuild every rollup and period value from all history; clears the dirty cells
    it saw."""
    now = now or timezone.now()
    run = uuid.uuid4()
    cells = _claim(run=run, now=now)
    with transaction.atomic():
        _lock()
        KPIValue.objects.all().delete()
        rollup_rebuild(now=now)
        period_rollups_rebuild()
        call_days_rebuild()
        today = timezone.localdate(now)
        # Up to today: snapshots (open pipeline, churn) have values after the last activity too
        # (and from today, when every row is dated later).
        first, last = _history_span(today=today)
        ranges = periods_of(weekly_days(first, last), today=today)
        compute_period_values(periods=ranges, now=now, calls_from_days=True)
        _release(run=run)
    periods = len(ranges)
    logger.info("KPI full recompute %s (%d dirty cells cleared, %d periods)", run, cells, periods)
    return RunResult(run=run, cells=cells, full=True, periods=periods)


def dirty_rep_ids() -> list[int]:
    """Reps with unclaimed dirty cells, for fanning a run out into chunks."""
    return sorted(
        DirtyCell.objects.filter(run__isnull=True).values_list("rep_id", flat=True).distinct()
    )
