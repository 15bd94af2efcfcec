"""Writes of the KPI app."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
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
    own. A cell already dirty keeps its bits and gains these, and gets a fresh token — unless it
    is unclaimed and already has every bit: then it is left as it is (`_on_conflict`). Cells with
    no rep or no day (an unassigned lead, an open deal's close day) are ignored.
    """
    unique = _unique_cells(cells, sources)
    if not unique:
        return
    _upsert(unique, now=timezone.now())
    if enqueue:
        dirty_cells_marked(rep_ids=[rep_id for rep_id, _day in unique])


def dirty_cells_statement(
    *,
    cells: Iterable[Cell | SourcedCell],
    now: dt.datetime,
    sources: int = Source.ALL,
    using: str = DEFAULT_DB_ALIAS,
) -> tuple[str, list, list[int]] | None:
    """The statement `dirty_cells_mark` sends, for a write that sends it within its own single
    statement (a data-modifying `WITH` on PostgreSQL): its SQL, parameters and the reps marked
    (give those to `dirty_cells_marked` afterwards). None when no cell is left to mark."""
    unique = _unique_cells(cells, sources)
    if not unique:
        return None
    rows = sorted(unique.items())
    if len(rows) > _BATCH:
        raise ValueError(f"At most {_BATCH} cells in one statement.")
    sql, params = _upsert_sql(rows, now=now, connection=connections[using])
    return sql, params, sorted({rep_id for rep_id, _day in unique})


def dirty_cells_marked(*, rep_ids: Iterable[int]) -> None:
    """After marking: refresh these reps' KPIs once the write commits (when configured)."""
    if settings.KPI_RECOMPUTE_ON_WRITE:
        # Freshness: the reps see their own numbers at once. The nightly run is the guarantee of
        # completeness; a failed enqueue is logged, never undoes the committed write.
        rep_ids = sorted(set(rep_ids))
        transaction.on_commit(lambda: _enqueue_rep_recompute(rep_ids), robust=True)


def _unique_cells(
    cells: Iterable[Cell | SourcedCell], sources: int
) -> dict[tuple[int, dt.date], int]:
    unique: dict[tuple[int, dt.date], int] = {}
    for cell in cells:
        rep_id, day = cell[0], cell[1]
        if rep_id is None or day is None:
            continue
        bits = int(cell[2]) if len(cell) > 2 else int(sources)
        unique[(rep_id, day)] = unique.get((rep_id, day), 0) | bits | Source.COUNTERS
    return unique


def _upsert(cells: dict[tuple[int, dt.date], int], *, now: dt.datetime) -> None:
    """Insert the cells, or give existing ones a fresh token and OR in the new bits (see
    `_on_conflict` for the marks that change nothing).

    PostgreSQL: one statement over three arrays, whatever the number of cells (an import marks
    tens of thousands; a VALUES list of 10 000 placeholders costs more to build and parse than to
    run). SQLite: one statement per 2 000 cells, fewer where it limits parameters. Cells go in
    (rep, day) order, so concurrent writers take row locks in the same order.
    """
    rows = sorted(cells.items())
    if connection.vendor == "postgresql":
        qn = connection.ops.quote_name
        table = qn(DirtyCell._meta.db_table)
        at = DirtyCell._meta.get_field("marked_at").get_db_prep_value(now, connection)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(qn(c) for c in _COLUMNS)}) "  # noqa: S608
                "SELECT rep_id, day, gen_random_uuid(), %s, sources "
                "FROM unnest(%s::bigint[], %s::date[], %s::integer[]) AS c(rep_id, day, sources) "
                + _on_conflict(connection),
                [
                    at,
                    [rep_id for (rep_id, _day), _bits in rows],
                    [day for (_rep_id, day), _bits in rows],
                    [int(bits) for _cell, bits in rows],
                ],
            )
        return
    limit = connection.features.max_query_params  # None: no limit
    size = min(_BATCH, limit // len(_COLUMNS)) if limit else _BATCH
    with connection.cursor() as cursor:
        for i in range(0, len(rows), size):
            cursor.execute(*_upsert_sql(rows[i : i + size], now=now, connection=connection))


_COLUMNS = ("rep_id", "day", "token", "marked_at", "sources")


def _on_conflict(connection: BaseDatabaseWrapper) -> str:
    """A cell already dirty gets a fresh token and the new bits, unless the mark would change
    nothing a run reads: the cell is not claimed (`run` is null) and already carries every new
    bit. Then the row is left as it is (no new row version, the cell stays dirty as it was): its
    token is only ever compared by a run that claimed it, and a run claims it as it is. A
    claimed cell is always updated, so a write committed during a run keeps it dirty. PostgreSQL
    locks the conflicting row either way, so a claim waits for the marking transaction."""
    qn = connection.ops.quote_name
    table = qn(DirtyCell._meta.db_table)
    sources = f"{table}.{qn('sources')}"
    return (
        f"ON CONFLICT ({qn('rep_id')}, {qn('day')}) DO UPDATE SET "
        f"{qn('token')} = excluded.{qn('token')}, "
        f"{qn('marked_at')} = excluded.{qn('marked_at')}, "
        f"{qn('sources')} = {sources} | excluded.{qn('sources')} "
        f"WHERE {table}.{qn('run')} IS NOT NULL "
        f"OR ({sources} | excluded.{qn('sources')}) <> {sources}"
    )


def _upsert_sql(
    rows: list[tuple[tuple[int, dt.date], int]],
    *,
    now: dt.datetime,
    connection: BaseDatabaseWrapper,
) -> tuple[str, list]:
    """The upsert of a few cells as multi-row VALUES (SQLite; and the cells a single-statement
    write embeds in its `WITH`)."""
    field = DirtyCell._meta.get_field
    day, token = field("day"), field("token")
    at = field("marked_at").get_db_prep_value(now, connection)
    params: list = []
    for (rep_id, cell_day), bits in rows:
        params += [
            rep_id,
            day.get_db_prep_value(cell_day, connection),
            token.get_db_prep_value(uuid.uuid4(), connection),
            at,
            int(bits),
        ]
    key = (connection.vendor, len(rows))
    sql = _UPSERT_SQL.get(key)
    if sql is None:
        qn = connection.ops.quote_name
        table = qn(DirtyCell._meta.db_table)
        values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(rows))
        sql = (
            f"INSERT INTO {table} ({', '.join(qn(c) for c in _COLUMNS)}) "  # noqa: S608
            f"VALUES {values} {_on_conflict(connection)}"
        )
        if len(rows) <= _KEPT_SQL_ROWS:
            _UPSERT_SQL[key] = sql
    return sql, params


# The upsert's SQL by database vendor and number of rows, kept for the few rows of one write.
_UPSERT_SQL: dict[tuple[str, int], str] = {}
_KEPT_SQL_ROWS = 8


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
