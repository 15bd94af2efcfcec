"""Activities: the kind that comes by the million (telephony, mail and calendar exports).

It streams. Each row is parsed and checked in Python against the rules of
`activities.services.activity_log` (choices, lengths, company inference from the linked
opportunity, contact or lead and links to one company only, and the model's check constraints:
call fields on calls only, email fields on emails only, mode on meetings and demos, bookings
complete and only for meetings, demos and lunches), with users looked up once and the linked
rows by external id a chunk at a time (only the keys the file uses). Valid rows go, a chunk at a
time, into a temporary staging table (PostgreSQL `COPY`, elsewhere `executemany`). Then, in the
same transaction, set-based SQL over the staging table finds external ids repeated in the file
and stored activities of another team, counts new, changed and unchanged rows, marks the KPI
cells of every new and changed row (old and new values) dirty, and writes everything with one
`INSERT … SELECT … ON CONFLICT (external_id) DO UPDATE … WHERE` something differs. Any bad row:
nothing is written.

Memory stays bounded by the chunk size and the number of distinct linked rows, not by the file.
The history of imported rows is the import job (who, when, which file): no per-row
`ActivityChange` entries are written.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from activities.models import Activity
from activities.services import FIRST_TOUCH_KINDS
from kpis.models import Source
from kpis.services import dirty_cells_mark
from pipeline.imports import formats as f
from pipeline.imports.formats import CellError, Column
from pipeline.imports.kinds.base import AMBIGUOUS, out_of_reach_message, unknown_message
from pipeline.models import Company, Contact, Direction, Lead, Opportunity

if TYPE_CHECKING:
    from pipeline.imports.engine import Context, ImportReport
    from pipeline.imports.readers import Table

CHUNK_ROWS = 20_000
STAGE = "import_activity_stage"

KINDS = tuple(Activity.Kind.values)
STATUSES = tuple(Activity.Status.values)
DIRECTIONS = tuple(Direction.values)
OUTCOMES = tuple(Activity.Outcome.values)
MODES = tuple(Activity.Mode.values)
BOOKABLE = frozenset({"meeting", "demo", "lunch"})

COLUMNS = (
    Column(
        "external_id",
        f.TEXT,
        required=True,
        max_length=100,
        example="TEL-000001",
        help=gettext_lazy("The activity's id in the source system; re-importing updates it."),
    ),
    Column("kind", f.CHOICE, required=True, choices=KINDS, example="call"),
    Column("status", f.CHOICE, choices=STATUSES, example="completed"),
    Column("owner", f.USER, required=True, example="sam.sdr"),
    Column("occurred_at", f.DATETIME, required=True, example="2026-03-02 09:30"),
    Column(
        "booked_by",
        f.USER,
        example="",
        help=gettext_lazy("Who booked a meeting, demo or lunch (with booked_at)."),
    ),
    Column("booked_at", f.DATETIME, example=""),
    Column("direction", f.CHOICE, choices=DIRECTIONS, example="outbound"),
    Column(
        "outcome", f.CHOICE, choices=OUTCOMES, example="connected", help=gettext_lazy("Calls only.")
    ),
    Column("duration_seconds", f.INT, example="185", help=gettext_lazy("Calls only.")),
    Column("replied", f.BOOL, example="0", help=gettext_lazy("Emails only.")),
    Column("clicked", f.BOOL, example="0", help=gettext_lazy("Emails only.")),
    Column(
        "mode",
        f.CHOICE,
        choices=MODES,
        example="",
        help=gettext_lazy("physical or digital; meetings and demos only."),
    ),
    Column(
        "company",
        f.COMPANY,
        example="CRM-1001",
        help=gettext_lazy("Default: the company of the opportunity, contact or lead."),
    ),
    Column("contact", f.CONTACT, example="CRM-C-1"),
    Column("lead", f.LEAD, example=""),
    Column("opportunity", f.OPPORTUNITY, example=""),
    Column("subject", f.TEXT, max_length=200, example="Uppföljning offert"),
    Column("notes", f.TEXT, example=""),
)

# Staging (and activity) columns, in the order of the tuples `_finish` builds.
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


def _constraint_message(name: str) -> str:
    for constraint in Activity._meta.constraints:
        if constraint.name == name:
            return str(constraint.get_violation_error_message())
    raise LookupError(name)


class ActivityKind:
    slug = "activities"
    label = gettext_lazy("Activities")
    columns = COLUMNS

    def run(self, ctx: Context, table: Table, positions: list[int | None], report: ImportReport):
        run = _Run(ctx, table, positions, report)
        run.stage_rows()
        run.check_staged()
        if report.ok and ctx.commit:
            run.write()
        run.drop()
        ctx.progress(report.rows, 1.0)


class _Run:
    def __init__(self, ctx, table, positions, report) -> None:
        self.ctx, self.table, self.report = ctx, table, report
        self.pos = dict(zip([c.name for c in COLUMNS], positions, strict=True))
        self.users = _users()
        # Linked rows by external id: id and company id (None: not found), loaded per chunk.
        self.refs: dict[str, dict[str, tuple[int, int | None] | None]] = {
            f.COMPANY: {},
            f.CONTACT: {},
            f.LEAD: {},
            f.OPPORTUNITY: {},
        }
        self.postgres = connection.vendor == "postgresql"
        self.messages = {
            "call": _constraint_message("activity_call_fields_only_on_calls"),
            "email": _constraint_message("activity_email_fields_only_on_emails"),
            "mode": _constraint_message("activity_mode_only_on_meetings_demos"),
            "booking": _constraint_message("activity_booking_complete"),
            "bookable": _constraint_message("activity_only_meetings_demos_lunches_booked"),
        }
        self.blank: dict[str, Any] = dict.fromkeys(c.name for c in COLUMNS)
        self.parsers = self._parsers()
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")
            columns = ", ".join(f"{name} {SQL_TYPES[name]}" for name in FIELDS)
            cursor.execute(f"CREATE TEMPORARY TABLE {STAGE} (line integer, {columns})")

    # -- pass over the file ---------------------------------------------------------------------
    def stage_rows(self) -> None:
        chunk: list[tuple[int, dict[str, Any]]] = []
        for line, cells in self.table.rows:
            self.report.rows += 1
            row = self._parse(line, cells)
            if row is not None:
                chunk.append((line, row))
            if len(chunk) >= CHUNK_ROWS:
                self._flush(chunk)
                chunk = []
                self.ctx.progress(self.report.rows, self.table.fraction() * 0.9)
        self._flush(chunk)
        self.ctx.progress(self.report.rows, 0.9)

    def _parsers(self) -> list[tuple[str, int, bool, Any]]:
        """(column, position, required, parse) for the columns the file has: one closure per
        column, so the per-row loop does no type dispatch."""
        out = []
        for column in COLUMNS:
            position = self.pos[column.name]
            if position is not None:
                out.append((column.name, position, column.required, self._parser(column)))
        return out

    def _parser(self, column: Column):
        kind, name = column.type, column.name
        if kind == f.TEXT:
            limit = column.max_length

            def parse_text(text: str) -> str:
                if limit and len(text) > limit:
                    raise CellError(
                        _("At most %(max)s characters (this has %(count)s).")
                        % {"max": limit, "count": len(text)}
                    )
                return text

            return parse_text
        if kind == f.CHOICE:
            choices = frozenset(column.choices)
            listed = ", ".join(column.choices)

            def parse_choice(text: str) -> str:
                if text in choices:
                    return text
                value = text.lower()
                if value not in choices:
                    raise CellError(
                        _("“%(value)s” is not one of: %(choices)s.")
                        % {"value": text, "choices": listed}
                    )
                return value

            return parse_choice
        if kind == f.USER:
            users, may_act_for = self.users, self.ctx.may_act_for

            def parse_user(text: str) -> int:
                user = users.get(text) or users.get(text.lower())
                if user is None:
                    raise CellError(unknown_message(f.USER, text))
                if user is AMBIGUOUS:
                    raise CellError(
                        _("Several users have the email “%(value)s”: use the username.")
                        % {"value": text}
                    )
                if not may_act_for(user):
                    raise CellError(out_of_reach_message(text))
                return user

            return parse_user
        if kind == f.DATETIME:
            zone = self.ctx.zone
            fromisoformat = dt.datetime.fromisoformat

            def parse_datetime(text: str) -> tuple[dt.datetime, dt.date]:
                try:
                    value = fromisoformat(text)
                except ValueError:
                    return f.parse_datetime(text, zone)  # Raises with the message.
                if value.tzinfo is None:
                    return value.replace(tzinfo=zone), value.date()
                return value, value.astimezone(zone).date()

            return parse_datetime
        if kind in (f.COMPANY, f.CONTACT, f.LEAD, f.OPPORTUNITY):

            def parse_reference(text: str) -> str:
                if len(text) > 100:
                    raise CellError(unknown_message(kind, text))
                return text

            return parse_reference
        if kind == f.INT:

            def parse_duration(text: str) -> int:
                value = int(text) if text.isdigit() else f.parse_int(text)
                if value < 0:
                    raise CellError(_("A duration cannot be negative."))
                if value > 2_147_483_647:
                    raise CellError(_("“%(value)s” is too large.") % {"value": text})
                return value

            return parse_duration
        assert kind == f.BOOL, name
        return f.parse_bool

    def _parse(self, line: int, cells: list[str]) -> dict[str, Any] | None:
        """Cell text → typed values (links still external ids); reports and returns None when
        a cell is bad."""
        row = dict(self.blank)
        ok = True
        size = len(cells)
        for name, position, required, parse in self.parsers:
            text = cells[position].strip() if position < size else ""
            if not text:
                if required:
                    self.report.add_error(line, name, _("A value is required."))
                    ok = False
                continue
            try:
                row[name] = parse(text)
            except CellError as error:
                self.report.add_error(line, name, str(error))
                ok = False
        return row if ok else None

    def _flush(self, chunk: list[tuple[int, dict[str, Any]]]) -> None:
        if not chunk:
            return
        self._load_refs(chunk)
        staged = [out for line, row in chunk if (out := self._finish(line, row)) is not None]
        if not staged:
            return
        with connection.cursor() as cursor:
            names = ", ".join(("line", *FIELDS))
            if self.postgres:
                with cursor.copy(f"COPY {STAGE} ({names}) FROM STDIN") as copy:
                    for values in staged:
                        copy.write_row(values)
            else:
                ops = connection.ops
                adapted = [
                    tuple(
                        ops.adapt_datetimefield_value(v)
                        if isinstance(v, dt.datetime)
                        else ops.adapt_datefield_value(v)
                        if isinstance(v, dt.date)
                        else v
                        for v in values
                    )
                    for values in staged
                ]
                marks = ", ".join(["%s"] * (len(FIELDS) + 1))
                cursor.executemany(f"INSERT INTO {STAGE} ({names}) VALUES ({marks})", adapted)  # noqa: S608

    def _load_refs(self, chunk: list[tuple[int, dict[str, Any]]]) -> None:
        """Look up the linked rows this chunk names that no earlier chunk did (one query per
        model)."""
        models = {f.COMPANY: Company, f.CONTACT: Contact, f.LEAD: Lead, f.OPPORTUNITY: Opportunity}
        for kind, model in models.items():
            cache = self.refs[kind]
            wanted = {row[kind] for _line, row in chunk if row[kind] and row[kind] not in cache}
            if not wanted:
                continue
            fields = ("external_id", "pk") + (() if kind == f.COMPANY else ("company_id",))
            found_rows = (
                model.objects.filter(external_id__in=wanted)
                .exclude(external_id="")
                .values_list(*fields)
            )
            for found in found_rows:
                cache[found[0]] = (found[1], found[2] if len(found) > 2 else found[1])
            for key in wanted:
                cache.setdefault(key, None)

    def _finish(self, line: int, row: dict[str, Any]) -> tuple | None:
        """Links resolved, company inferred, the model's constraints checked: the staged tuple."""
        report, messages = self.report, self.messages
        ok = True
        ids: dict[str, int | None] = {}
        linked_companies: list[tuple[str, int | None]] = []
        for kind in (f.COMPANY, f.OPPORTUNITY, f.CONTACT, f.LEAD):
            key = row[kind]
            if key is None:
                ids[kind] = None
                continue
            found = self.refs[kind][key]
            if found is None:
                report.add_error(line, kind, unknown_message(kind, key))
                ok = False
                continue
            ids[kind] = found[0]
            if kind != f.COMPANY and found[1] is not None:
                linked_companies.append((kind, found[1]))
        if not ok:
            return None
        company_id = ids[f.COMPANY]
        if company_id is None and linked_companies:
            company_id = linked_companies[0][1]
        for kind, linked in linked_companies:
            if linked != company_id:
                report.add_error(
                    line,
                    kind,
                    _("This %(field)s belongs to another company than the activity.")
                    % {"field": Activity._meta.get_field(kind).verbose_name},
                )
                ok = False
        activity_kind = row["kind"]
        outcome = row["outcome"] or ""
        duration = row["duration_seconds"]
        replied, clicked = bool(row["replied"]), bool(row["clicked"])
        mode = row["mode"] or ""
        booked_by, booked = row["booked_by"], row["booked_at"]
        if activity_kind != "call" and (outcome or duration is not None):
            report.add_error(line, "outcome" if outcome else "duration_seconds", messages["call"])
            ok = False
        if activity_kind != "email" and (replied or clicked):
            report.add_error(line, "replied" if replied else "clicked", messages["email"])
            ok = False
        if mode and activity_kind not in ("meeting", "demo"):
            report.add_error(line, "mode", messages["mode"])
            ok = False
        if (booked_by is None) != (booked is None):
            report.add_error(
                line, "booked_at" if booked is None else "booked_by", messages["booking"]
            )
            ok = False
        elif booked_by is not None and activity_kind not in BOOKABLE:
            report.add_error(line, "booked_by", messages["bookable"])
            ok = False
        if not ok:
            return None
        occurred, occurred_day = row["occurred_at"]
        return (
            line,
            row["external_id"],
            activity_kind,
            row["status"] or Activity.Status.COMPLETED,
            row["owner"],
            booked_by,
            booked[0] if booked else None,
            booked[1] if booked else None,
            occurred,
            occurred_day,
            row["direction"] or Direction.OUTBOUND,
            outcome,
            duration,
            replied,
            clicked,
            mode,
            company_id,
            ids[f.CONTACT],
            ids[f.LEAD],
            ids[f.OPPORTUNITY],
            row["subject"] or "",
            row["notes"] or "",
        )

    # -- set-based checks and the write ------------------------------------------------------
    def check_staged(self) -> None:
        """Repeated external ids and other teams' rows (reported even when other rows are bad),
        then the counts."""
        report = self.report
        with connection.cursor() as cursor:
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
            if self.ctx.allowed_user_ids is not None:
                allowed = sorted(self.ctx.allowed_user_ids)
                marks = ", ".join(["%s"] * len(allowed))
                cursor.execute(
                    f"SELECT s.line FROM {STAGE} s JOIN {_ACTIVITY} a"  # noqa: S608
                    f" ON a.external_id = s.external_id AND a.external_id <> ''"
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
                return
            cursor.execute(
                f"SELECT COUNT(*), COUNT(a.id),"  # noqa: S608
                f" COALESCE(SUM(CASE WHEN a.id IS NOT NULL AND {_DIFFERS} THEN 1 ELSE 0 END), 0)"
                f" FROM {STAGE} s LEFT JOIN {_ACTIVITY} a"
                f" ON a.external_id = s.external_id AND a.external_id <> ''"
            )
            total, existing, differing = cursor.fetchone()
        report.created += total - existing
        report.updated += differing
        report.unchanged += existing - differing

    def write(self) -> None:
        """Mark the cells of new and changed rows (before and after) dirty, then upsert."""
        first_touch = ", ".join(f"'{k}'" for k in FIRST_TOUCH_KINDS)
        changed = (
            f"SELECT s.*, a.owner_id AS old_owner_id, a.occurred_day AS old_occurred_day,"  # noqa: S608
            f" a.booked_by_id AS old_booked_by_id, a.booked_day AS old_booked_day,"
            f" a.lead_id AS old_lead_id, a.contact_id AS old_contact_id"
            f" FROM {STAGE} s LEFT JOIN {_ACTIVITY} a"
            f" ON a.external_id = s.external_id AND a.external_id <> ''"
            f" WHERE a.id IS NULL OR {_DIFFERS}"
        )
        # Each cell with what it changes there, as `activities.services._cells` marks them: the
        # owner's day (ACTIVITY), the booker's (COUNTERS), the lead's assignee on its received
        # day (LEAD), the days of the contact's other first touches (COUNTERS).
        activity, counters, lead = int(Source.ACTIVITY), int(Source.COUNTERS), int(Source.LEAD)
        cells_sql = f"""
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
        names = ", ".join(FIELDS)
        updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in COMPARED)
        differs = " OR ".join(
            f"{_ACTIVITY}.{name} IS DISTINCT FROM EXCLUDED.{name}" for name in COMPARED
        )
        now = timezone.now()
        with connection.cursor() as cursor:
            cursor.execute(cells_sql)
            cells = cursor.fetchall()
            cursor.execute(
                f"INSERT INTO {_ACTIVITY} ({names}, created_at, updated_at)"  # noqa: S608
                f" SELECT {names}, %s, %s FROM {STAGE} WHERE true"
                f" ON CONFLICT (external_id) WHERE NOT (external_id = '')"
                f" DO UPDATE SET {updates}, updated_at = EXCLUDED.updated_at WHERE {differs}",
                [now, now],
            )
        dirty_cells_mark(cells=_days(cells))

    def drop(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")


_ACTIVITY = Activity._meta.db_table
_LEAD = Lead._meta.db_table
_DIFFERS = "(" + " OR ".join(f"s.{name} IS DISTINCT FROM a.{name}" for name in COMPARED) + ")"


def _days(cells: list[tuple[Any, Any, int]]) -> list[tuple[int, dt.date, int]]:
    """Cells as (rep id, date, bits): SQLite returns days as text."""
    out = []
    for rep_id, day, bits in cells:
        if rep_id is None or day is None:
            continue
        out.append((rep_id, day if isinstance(day, dt.date) else dt.date.fromisoformat(day), bits))
    return out


def _users() -> dict[str, Any]:
    """Every user id by username, and by lower-cased email where that email is unique."""
    from people.models import User

    users: dict[str, Any] = {}
    emails: dict[str, Any] = {}
    for pk, username, email in User.objects.values_list("pk", "username", "email"):
        users[username] = pk
        if email:
            key = email.lower()
            emails[key] = AMBIGUOUS if key in emails else pk
    for email, pk in emails.items():
        users.setdefault(email, pk)
    return users
