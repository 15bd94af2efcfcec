"""Writes of the KPI app."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from kpis.models import DirtyCell, Source
from kpis.periods import weekly_days

Cell = tuple[int | None, dt.date | None]
# A cell with its own `Source` bits, for a write whose cells changed different things.
SourcedCell = tuple[int | None, dt.date | None, int]

_BATCH = 2000


def dirty_cells_mark(
    *,
    cells: Iterable[Cell | SourcedCell],
    enqueue: bool = True,
    sources: int = Source.ALL,
) -> None:
    """Mark (rep id, local day) cells for recompute; call inside the write's transaction.

    `sources` (`kpis.models.Source` bits, default all) says what the write changed, so the run
    recomputes only the KPI families it can move; a cell given as (rep id, day, bits) carries its
    own. A cell already dirty keeps its bits and gains these, and gets a fresh token. Cells with
    no rep or no day (an unassigned lead, an open deal's close day) are ignored.
    """
    unique: dict[tuple[int, dt.date], int] = {}
    for cell in cells:
        rep_id, day = cell[0], cell[1]
        if rep_id is None or day is None:
            continue
        bits = int(cell[2]) if len(cell) > 2 else int(sources)
        unique[(rep_id, day)] = unique.get((rep_id, day), 0) | bits | Source.COUNTERS
    if not unique:
        return
    _upsert(unique, now=timezone.now())
    if enqueue and settings.KPI_RECOMPUTE_ON_WRITE:
        # Freshness: the reps see their own numbers at once. The nightly run is the guarantee of
        # completeness; a failed enqueue is logged, never undoes the committed write.
        rep_ids = sorted({rep_id for rep_id, _day in unique})
        transaction.on_commit(lambda: _enqueue_rep_recompute(rep_ids), robust=True)


def _upsert(cells: dict[tuple[int, dt.date], int], *, now: dt.datetime) -> None:
    """Insert the cells, or give existing ones a fresh token and OR in the new bits.

    PostgreSQL: one statement over three arrays, whatever the number of cells (an import marks
    tens of thousands; a VALUES list of 10 000 placeholders costs more to build and parse than to
    run). SQLite: one statement per 2 000 cells, fewer where it limits parameters. Cells go in
    (rep, day) order, so concurrent writers take row locks in the same order.
    """
    qn = connection.ops.quote_name
    table = qn(DirtyCell._meta.db_table)
    columns = ("rep_id", "day", "token", "marked_at", "sources")
    on_conflict = (
        f"ON CONFLICT ({qn('rep_id')}, {qn('day')}) DO UPDATE SET "
        f"{qn('token')} = excluded.{qn('token')}, "
        f"{qn('marked_at')} = excluded.{qn('marked_at')}, "
        f"{qn('sources')} = {table}.{qn('sources')} | excluded.{qn('sources')}"
    )
    field = DirtyCell._meta.get_field
    token, marked_at = field("token"), field("marked_at")
    at = marked_at.get_db_prep_value(now, connection)
    rows = sorted(cells.items())
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(qn(c) for c in columns)}) "  # noqa: S608
                "SELECT rep_id, day, gen_random_uuid(), %s, sources "
                "FROM unnest(%s::bigint[], %s::date[], %s::integer[]) AS c(rep_id, day, sources) "
                + on_conflict,
                [
                    at,
                    [rep_id for (rep_id, _day), _bits in rows],
                    [day for (_rep_id, day), _bits in rows],
                    [int(bits) for _cell, bits in rows],
                ],
            )
        return
    limit = connection.features.max_query_params  # None: no limit (PostgreSQL)
    size = min(_BATCH, limit // len(columns)) if limit else _BATCH
    with connection.cursor() as cursor:
        for i in range(0, len(rows), size):
            batch = rows[i : i + size]
            params: list = []
            for (rep_id, day), bits in batch:
                params += [
                    rep_id,
                    field("day").get_db_prep_value(day, connection),
                    token.get_db_prep_value(uuid.uuid4(), connection),
                    at,
                    int(bits),
                ]
            values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(batch))
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(qn(c) for c in columns)}) VALUES {values} "  # noqa: S608
                + on_conflict,
                params,
            )


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
