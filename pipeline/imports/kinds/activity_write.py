"""The set-based half of the activity import: checks over the staging table, then the write.

The staging table holds every valid row of the file, converted (ids, local days, defaults) and
numbered by its line. From it, in the import's one transaction:

- `staged_check` reports external ids repeated in the file and stored activities of another
  team, then counts new, changed and unchanged rows (one join with `activities_activity`);
- `staged_write` marks the KPI cells of every new and changed row (old and new values) dirty
  and writes only what differs. On PostgreSQL that is at most two statements: an `UPDATE … FROM`
  of the changed rows, then a plain `INSERT … SELECT` of the new ones (an anti-join only when
  some staged ids are already stored). Unchanged rows are never touched, and an unchanged file
  writes nothing at all (its cells are not even computed). For new rows the plain insert costs
  the same as the `INSERT … ON CONFLICT` it replaces (33–34 s of PostgreSQL CPU either way for
  1 M rows on `bench/import_floor.py`: the 13 indexes and the 6 deferred foreign-key checks are
  the cost); it does not overwrite a row stored meanwhile, see below. SQLite keeps the single
  upsert.

The unique index on `external_id` still guards the insert: a row another session stored since
the count makes the insert fail, and the file is rejected whole with that reason.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from activities.models import Activity
from activities.services import FIRST_TOUCH_KINDS
from kpis.models import Source
from kpis.services import dirty_cells_mark
from pipeline.models import Lead

if TYPE_CHECKING:
    from pipeline.imports.engine import Context, ImportReport

STAGE = "import_activity_stage"

# Staging (and activity) columns, in the order of the tuples the row pass builds.
FIELDS = (
    "external_id",
    "kind",
    "status",
    "owner_id",
    "booked_by_id",
    "booked_at",
    "booked_day",
    "occurred_at",
    "occurred_day",
    "direction",
    "outcome",
    "duration_seconds",
    "replied",
    "clicked",
    "mode",
    "company_id",
    "contact_id",
    "lead_id",
    "opportunity_id",
    "subject",
    "notes",
)
SQL_TYPES = {
    "external_id": "varchar(100)",
    "kind": "varchar(10)",
    "status": "varchar(10)",
    "owner_id": "bigint",
    "booked_by_id": "bigint",
    "booked_at": "timestamp with time zone",
    "booked_day": "date",
    "occurred_at": "timestamp with time zone",
    "occurred_day": "date",
    "direction": "varchar(10)",
    "outcome": "varchar(10)",
    "duration_seconds": "integer",
    "replied": "boolean",
    "clicked": "boolean",
    "mode": "varchar(10)",
    "company_id": "bigint",
    "contact_id": "bigint",
    "lead_id": "bigint",
    "opportunity_id": "bigint",
    "subject": "varchar(200)",
    "notes": "text",
}
COMPARED = tuple(name for name in FIELDS if name != "external_id")

_ACTIVITY = Activity._meta.db_table
_LEAD = Lead._meta.db_table
_DIFFERS = "(" + " OR ".join(f"s.{name} IS DISTINCT FROM a.{name}" for name in COMPARED) + ")"
# A stored activity with the staged row's external id (spelled out so that PostgreSQL uses the
# partial unique index).
_STORED = "a.external_id = s.external_id AND a.external_id <> ''"


def stage_create() -> None:
    """The (temporary) staging table: the file's line, then the activity's columns."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")
        columns = ", ".join(f"{name} {SQL_TYPES[name]}" for name in FIELDS)
        cursor.execute(f"CREATE TEMPORARY TABLE {STAGE} (line integer, {columns})")


def stage_drop() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")


def staged_check(*, ctx: Context, report: ImportReport) -> int:
    """Report repeated external ids and other teams' rows (even when other rows are bad), then
    count new, changed and unchanged rows; returns how many staged ids are already stored."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Temporary tables are never analysed automatically; the joins below need its size.
            cursor.execute(f"ANALYZE {STAGE}")
        cursor.execute(
            f"SELECT s.line, s.external_id, d.first FROM {STAGE} s JOIN ("  # noqa: S608
            f" SELECT external_id, MIN(line) AS first FROM {STAGE}"
            f" GROUP BY external_id HAVING COUNT(*) > 1) d ON d.external_id = s.external_id"
            f" WHERE s.line > d.first ORDER BY s.line"
        )
        for line, _external_id, first in cursor.fetchall():
            report.add_error(
                line,
                "external_id",
                _("The same external id appears earlier in the file (line %(line)s).")
                % {"line": first},
            )
        if ctx.allowed_user_ids is not None:
            allowed = sorted(ctx.allowed_user_ids)
            marks = ", ".join(["%s"] * len(allowed))
            cursor.execute(
                f"SELECT s.line FROM {STAGE} s JOIN {_ACTIVITY} a ON {_STORED}"  # noqa: S608
                f" WHERE a.owner_id NOT IN ({marks}) ORDER BY s.line",
                allowed,
            )
            for (line,) in cursor.fetchall():
                report.add_error(
                    line,
                    "external_id",
                    _("This activity belongs to another team: you cannot change it."),
                )
        if not report.ok:
            return 0
        cursor.execute(
            f"SELECT COUNT(*), COUNT(a.id),"  # noqa: S608
            f" COALESCE(SUM(CASE WHEN a.id IS NOT NULL AND {_DIFFERS} THEN 1 ELSE 0 END), 0)"
            f" FROM {STAGE} s LEFT JOIN {_ACTIVITY} a ON {_STORED}"
        )
        total, existing, differing = cursor.fetchone()
    report.created += total - existing
    report.updated += differing
    report.unchanged += existing - differing
    return existing


def staged_write(*, report: ImportReport, created: int, updated: int, existing: int) -> None:
    """Mark the cells of the `created` new and `updated` changed rows (before and after) dirty,
    then write them; an unchanged file writes nothing. A row stored meanwhile by another session
    rejects the file (reported, nothing written)."""
    if not created and not updated:
        return
    now = timezone.now()
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(_cells_sql(stored=bool(existing)))
                cells = cursor.fetchall()
                if connection.vendor == "postgresql":
                    _write_postgresql(cursor, now, updated=updated, existing=existing)
                else:
                    _upsert(cursor, now)
            dirty_cells_mark(cells=_days(cells))
    except IntegrityError as error:
        # Another session stored one of the file's external ids since they were looked up: the
        # file is refused whole (line 0: the file), and importing it again updates that row.
        report.add_error(
            0,
            "external_id",
            _(
                "Another user or import stored one of these external ids while this file was "
                "being imported, so nothing was written: import the file again. (The database "
                "said: %(error)s)"
            )
            % {"error": str(error).splitlines()[0]},
        )


def _write_postgresql(cursor, now: dt.datetime, *, updated: int, existing: int) -> None:
    """The changed rows by one `UPDATE … FROM`, then the new ones by one plain `INSERT`."""
    names = ", ".join(FIELDS)
    if updated:
        sets = ", ".join(f"{name} = s.{name}" for name in COMPARED)
        cursor.execute(
            f"UPDATE {_ACTIVITY} a SET {sets}, updated_at = %s"  # noqa: S608
            f" FROM {STAGE} s WHERE {_STORED} AND {_DIFFERS}",
            [now],
        )
    # With no staged id stored when counted, every staged row is new (the unique index catches
    # one stored since); otherwise the stored ones are left out.
    new_only = (
        f" WHERE NOT EXISTS (SELECT 1 FROM {_ACTIVITY} a WHERE {_STORED})"  # noqa: S608
        if existing
        else ""
    )
    cursor.execute(
        f"INSERT INTO {_ACTIVITY} ({names}, created_at, updated_at)"  # noqa: S608
        f" SELECT {names}, %s, %s FROM {STAGE} s{new_only} ORDER BY s.line",
        [now, now],
    )


def _upsert(cursor, now: dt.datetime) -> None:
    """SQLite: one `INSERT … ON CONFLICT DO UPDATE` of every staged row, where something
    differs."""
    names = ", ".join(FIELDS)
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in COMPARED)
    differs = " OR ".join(
        f"{_ACTIVITY}.{name} IS DISTINCT FROM EXCLUDED.{name}" for name in COMPARED
    )
    cursor.execute(
        f"INSERT INTO {_ACTIVITY} ({names}, created_at, updated_at)"  # noqa: S608
        f" SELECT {names}, %s, %s FROM {STAGE} WHERE true"
        f" ON CONFLICT (external_id) WHERE NOT (external_id = '')"
        f" DO UPDATE SET {updates}, updated_at = EXCLUDED.updated_at WHERE {differs}",
        [now, now],
    )


def _cells_sql(*, stored: bool) -> str:
    """Each cell of the new and changed rows with what it changes there, as
    `activities.services._cells` marks them: the owner's day (ACTIVITY), the booker's
    (COUNTERS), the lead's assignee on its received day (LEAD), the days of the contact's other
    first touches (COUNTERS); old and new values alike. Without `stored` ids every staged row is
    new: no join, no old values."""
    first_touch = ", ".join(f"'{k}'" for k in FIRST_TOUCH_KINDS)
    if stored:
        changed = (
            f"SELECT s.*, a.owner_id AS old_owner_id, a.occurred_day AS old_occurred_day,"  # noqa: S608
            f" a.booked_by_id AS old_booked_by_id, a.booked_day AS old_booked_day,"
            f" a.lead_id AS old_lead_id, a.contact_id AS old_contact_id"
            f" FROM {STAGE} s LEFT JOIN {_ACTIVITY} a ON {_STORED}"
            f" WHERE a.id IS NULL OR {_DIFFERS}"
        )
    else:
        changed = (
            f"SELECT s.*, CAST(NULL AS bigint) AS old_owner_id,"  # noqa: S608
            f" CAST(NULL AS date) AS old_occurred_day, CAST(NULL AS bigint) AS old_booked_by_id,"
            f" CAST(NULL AS date) AS old_booked_day, CAST(NULL AS bigint) AS old_lead_id,"
            f" CAST(NULL AS bigint) AS old_contact_id FROM {STAGE} s"
        )
    activity, counters, lead = int(Source.ACTIVITY), int(Source.COUNTERS), int(Source.LEAD)
    return f"""
        WITH ch AS ({changed})
        SELECT owner_id, occurred_day, {activity} FROM ch
        UNION SELECT booked_by_id, booked_day, {counters} FROM ch
            WHERE booked_by_id IS NOT NULL
        UNION SELECT old_owner_id, old_occurred_day, {activity} FROM ch
            WHERE old_owner_id IS NOT NULL
        UNION SELECT old_booked_by_id, old_booked_day, {counters} FROM ch
            WHERE old_booked_by_id IS NOT NULL
        UNION SELECT l.assigned_to_id, l.received_day, {lead} FROM {_LEAD} l
            WHERE l.assigned_to_id IS NOT NULL AND l.id IN (
                SELECT lead_id FROM ch WHERE lead_id IS NOT NULL
                UNION SELECT old_lead_id FROM ch WHERE old_lead_id IS NOT NULL)
        UNION SELECT f.owner_id, f.occurred_day, {counters} FROM {_ACTIVITY} f
            WHERE f.status = 'completed' AND f.kind IN ({first_touch}) AND f.contact_id IN (
                SELECT contact_id FROM ch WHERE kind IN ({first_touch})
                    AND contact_id IS NOT NULL
                UNION SELECT old_contact_id FROM ch WHERE old_contact_id IS NOT NULL)
    """  # noqa: S608


def _days(cells: list[tuple[Any, Any, int]]) -> list[tuple[int, dt.date, int]]:
    """Cells as (rep id, date, bits): SQLite returns days as text."""
    out = []
    for rep_id, day, bits in cells:
        if rep_id is None or day is None:
            continue
        out.append((rep_id, day if isinstance(day, dt.date) else dt.date.fromisoformat(day), bits))
    return out
