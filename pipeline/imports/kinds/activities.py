"""Activities: the kind that comes by the million (telephony, mail and calendar exports).

It streams. Each row is parsed and checked in Python against the rules of
`activities.services.activity_log` (choices, lengths, company inference from the linked
opportunity, contact or lead and links to one company only, and the model's check constraints:
call fields on calls only, email fields on emails only, mode on meetings and demos, bookings
complete and only for meetings, demos and lunches), with users looked up once and the linked
rows by external id a chunk at a time (only the keys the file uses). Valid rows go, a chunk at a
time, into a temporary staging table (PostgreSQL `COPY`, elsewhere `executemany`). Then, in the
same transaction, set-based SQL over the staging table (`kinds.activity_write`) finds external
ids repeated in the file and stored activities of another team, counts new, changed and
unchanged rows, marks the KPI cells of every new and changed row (old and new values) dirty, and
writes only what differs: on PostgreSQL an `UPDATE` of the changed rows and a plain `INSERT` of
the new ones. Any bad row: nothing is written.

Memory stays bounded by the chunk size and the number of distinct linked rows, not by the file.
The history of imported rows is the import job (who, when, which file): no per-row
`ActivityChange` entries are written.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from activities.models import Activity
from pipeline.imports import formats as f
from pipeline.imports.formats import CellError, Column
from pipeline.imports.kinds.activity_write import (
    FIELDS,
    STAGE,
    stage_create,
    stage_drop,
    staged_check,
    staged_write,
)
from pipeline.imports.kinds.base import AMBIGUOUS, out_of_reach_message, unknown_message
from pipeline.models import Company, Contact, Direction, Lead, Opportunity

if TYPE_CHECKING:
    from pipeline.imports.engine import Context, ImportReport
    from pipeline.imports.readers import Table

CHUNK_ROWS = 20_000

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
        existing = staged_check(ctx=ctx, report=report)
        if report.ok and ctx.commit:
            ctx.progress(report.rows, 0.95)
            staged_write(
                report=report, created=report.created, updated=report.updated, existing=existing
            )
        stage_drop()
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
        stage_create()

    # -- pass over the file ---------------------------------------------------------------------
    def stage_rows(self) -> None:
        with _no_cyclic_gc():
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


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """The row pass without Python's cycle collector: it allocates two containers per row (the
    parsed dict, the staged tuple), which set off collections that walk every live object —
    ~30 % of the pass's CPU on 1 M rows. The rows hold no reference cycles (reference counting
    frees each chunk), so memory stays bounded; the collector is restored afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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
