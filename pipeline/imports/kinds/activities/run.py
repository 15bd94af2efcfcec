"""The run (`ActivityKind`): rows staged a chunk at a time, then checked and written set-based."""

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
from pipeline.imports.kinds.activities.columns import BOOKABLE, COLUMNS
from pipeline.imports.kinds.activities.parsing import ParsingMixin, _users
from pipeline.imports.kinds.activity_write import (
    FIELDS,
    STAGE,
    stage_create,
    stage_drop,
    staged_check,
    staged_write,
)
from pipeline.imports.kinds.base import unknown_message
from pipeline.models import Company, Contact, Direction, Lead, Opportunity

if TYPE_CHECKING:
    from pipeline.imports.engine import Context, ImportReport
    from pipeline.imports.readers import Table

CHUNK_ROWS = 20_000


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


class _Run(ParsingMixin):
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
