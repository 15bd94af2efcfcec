"""The row-by-row import of the small kinds (companies, contacts, leads, opportunities, stage
history, rep costs, targets): parse and resolve every row with one query per referenced model,
then hand each valid row to the app's own write service (so every business rule, dirty KPI cell
and history entry is the service's), each in a savepoint so one bad row does not hide the next.

These files are CRM and budget exports of thousands of rows, held in memory; activities, the
kind that comes by the million, stream through `kinds.activities` instead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from pipeline.imports import formats as f
from pipeline.imports.formats import CellError, Column

if TYPE_CHECKING:
    from pipeline.imports.engine import Context, ImportReport
    from pipeline.imports.readers import Table

Row = dict[str, Any]

# Which user columns are checked against the importer's reach (all of them).
CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


class RowKind:
    slug: str = ""
    label: str = ""
    columns: tuple[Column, ...] = ()
    # Model field name → column name, for the services' validation errors.
    field_columns: dict[str, str] = {}
    # Errors on a field the file has no column for are reported on this column.
    fallback_column: str = ""

    # -- hooks -----------------------------------------------------------------------------
    def key(self, row: Row) -> Hashable:
        """The row's identity within the file and the database."""
        return row["external_id"]

    def load_existing(self, rows: list[Row]) -> dict[Hashable, Any]:
        raise NotImplementedError

    def check(self, row: Row, existing: Any, ctx: Context) -> dict[str, str]:
        """Errors before writing (reach, immutable fields): column → message."""
        return {}

    def apply(self, row: Row, existing: Any, ctx: Context) -> str:
        """Write the row through the services; returns created, updated or unchanged."""
        raise NotImplementedError

    def order(self, rows: list[tuple[int, Row]]) -> list[tuple[int, Row]]:
        return rows

    # -- the run -----------------------------------------------------------------------------
    def run(self, ctx: Context, table: Table, positions: list[int | None], report: ImportReport):
        # Columns the file has: a missing optional column leaves that field of existing rows as
        # it is; an empty cell in a present column clears it.
        self.present = {
            c.name for c, p in zip(self.columns, positions, strict=True) if p is not None
        }
        parsed: list[tuple[int, Row]] = []
        bad: set[int] = set()
        for line, cells in table.rows:
            report.rows += 1
            row: Row = {}
            for column, position in zip(self.columns, positions, strict=True):
                text = cells[position] if position is not None and position < len(cells) else ""
                if not text.strip():
                    row[column.name] = None
                    if column.required:
                        report.add_error(line, column.name, _("A value is required."))
                        bad.add(line)
                    continue
                try:
                    row[column.name] = f.parse(column, text, ctx.zone)
                except CellError as error:
                    report.add_error(line, column.name, str(error))
                    bad.add(line)
            parsed.append((line, row))
            if report.rows % 500 == 0:
                ctx.progress(report.rows, 0.0)
        self._resolve(parsed, ctx, report, bad)
        first_seen: dict[Hashable, int] = {}
        for line, row in parsed:
            if line in bad:
                continue
            key = self.key(row)
            if key in first_seen:
                report.add_error(
                    line,
                    self.columns[0].name,
                    _("The same row appears earlier in the file (line %(line)s).")
                    % {"line": first_seen[key]},
                )
                bad.add(line)
            else:
                first_seen[key] = line
        good = [(line, row) for line, row in parsed if line not in bad]
        existing = self.load_existing([row for _line, row in good])
        for done, (line, row) in enumerate(self.order(good), start=1):
            current = existing.get(self.key(row))
            problems = self.check(row, current, ctx)
            for column, message in problems.items():
                report.add_error(line, column, message)
            if problems:
                continue
            try:
                with transaction.atomic():
                    report.count(self.apply(row, current, ctx))
            except ValidationError as error:
                self._report_validation(line, error, report)
            except IntegrityError as error:
                report.add_error(
                    line,
                    "",
                    _("Refused by the database: %(error)s") % {"error": str(error).splitlines()[0]},
                )
            except DatabaseError as error:
                report.add_error(
                    line,
                    "",
                    _("Refused by the database: %(error)s") % {"error": str(error).splitlines()[0]},
                )
            if done % 200 == 0:
                ctx.progress(report.rows, done / max(len(good), 1))
        ctx.progress(report.rows, 1.0)

    def _report_validation(self, line: int, error: ValidationError, report: ImportReport) -> None:
        if not hasattr(error, "error_dict"):
            for message in error.messages:
                report.add_error(line, self.fallback_column, message)
            return
        names = {c.name for c in self.columns}
        for name, messages in error.message_dict.items():
            column = self.field_columns.get(name, name)
            if name == NON_FIELD_ERRORS or column not in names:
                column = self.fallback_column
            for message in messages:
                report.add_error(line, column, message)

    # -- references ----------------------------------------------------------------------------
    def _resolve(
        self, parsed: list[tuple[int, Row]], ctx: Context, report: ImportReport, bad: set[int]
    ) -> None:
        """Replace each reference's text by its object, one query per referenced model."""
        wanted: dict[str, set[str]] = defaultdict(set)
        refs = [c for c in self.columns if c.type in f.REFERENCES]
        for _line, row in parsed:
            for column in refs:
                if row.get(column.name):
                    wanted[column.type].add(row[column.name])
        maps = {kind: lookup(kind, keys) for kind, keys in wanted.items()}
        for line, row in parsed:
            for column in refs:
                text = row.get(column.name)
                if not text:
                    continue
                obj = maps[column.type].get(text)
                if obj is None:
                    report.add_error(line, column.name, unknown_message(column.type, text))
                    bad.add(line)
                elif obj is AMBIGUOUS:
                    report.add_error(
                        line,
                        column.name,
                        _("Several users have the email “%(value)s”: use the username.")
                        % {"value": text},
                    )
                    bad.add(line)
                elif column.type == f.USER and not ctx.may_act_for(obj.pk):
                    report.add_error(line, column.name, out_of_reach_message(text))
                    bad.add(line)
                else:
                    row[column.name] = obj


AMBIGUOUS = object()


def out_of_reach_message(text: str) -> str:
    return _("“%(value)s” is not in a team you manage.") % {"value": text}


def unknown_message(kind: str, text: str) -> str:
    messages = {
        f.USER: _("Unknown user “%(value)s”."),
        f.COMPANY: _("No company has the external id “%(value)s”."),
        f.CONTACT: _("No contact has the external id “%(value)s”."),
        f.LEAD: _("No lead has the external id “%(value)s”."),
        f.OPPORTUNITY: _("No opportunity has the external id “%(value)s”."),
        f.STAGE: _("Unknown stage slug “%(value)s”."),
        f.TEAM: _("Unknown team “%(value)s”."),
        f.KPI: _("Unknown KPI code “%(value)s”."),
    }
    return messages[kind] % {"value": text}


def lookup(kind: str, keys: Iterable[str]) -> dict[str, Any]:
    """The objects behind reference texts (one query)."""
    from kpis.registry import REGISTRY
    from people.models import Team
    from pipeline.models import Company, Contact, Lead, Opportunity, Stage

    keys = set(keys)
    if kind == f.USER:
        return users_by_key(keys)
    if kind == f.STAGE:
        return {s.slug: s for s in Stage.objects.all()}
    if kind == f.TEAM:
        return {t.name: t for t in Team.objects.filter(name__in=keys)}
    if kind == f.KPI:
        return {k: k for k in keys if k in REGISTRY}
    model = {f.COMPANY: Company, f.CONTACT: Contact, f.LEAD: Lead, f.OPPORTUNITY: Opportunity}[kind]
    return {
        obj.external_id: obj
        for obj in model.objects.filter(external_id__in=keys).exclude(external_id="")
    }


def users_by_key(keys: Iterable[str]) -> dict[str, Any]:
    """Users by username, or by email (case-insensitive) where the text holds an "@"."""
    from django.db.models.functions import Lower

    from people.models import User

    keys = set(keys)
    emails = {k.lower() for k in keys if "@" in k}
    users = list(
        User.objects.annotate(email_lower=Lower("email")).filter(
            Q(username__in=keys) | Q(email_lower__in=emails)
        )
    )
    found: dict[str, Any] = {u.username: u for u in users if u.username in keys}
    by_email: dict[str, list[Any]] = defaultdict(list)
    for user in users:
        if user.email:
            by_email[user.email.lower()].append(user)
    for key in keys:
        if key in found or "@" not in key:
            continue
        matches = by_email.get(key.lower(), [])
        if len(matches) == 1:
            found[key] = matches[0]
        elif matches:
            found[key] = AMBIGUOUS
    return found


def given(kind: RowKind, row: Row, fields: dict[str, str], empty: dict[str, Any]) -> dict[str, Any]:
    """Model field → value for the columns the file has (`fields`: column → field); an empty
    cell gives the field's `empty` value (default "")."""
    return {
        field: (row[column] if row[column] is not None else empty.get(field, ""))
        for column, field in fields.items()
        if column in kind.present
    }


def changed(obj: Any, values: dict[str, Any]) -> dict[str, Any]:
    """The fields of `values` that differ from `obj`'s (foreign keys compared by id)."""
    out = {}
    for name, value in values.items():
        current = getattr(obj, name)
        if hasattr(value, "pk") or hasattr(current, "pk"):
            if getattr(current, "pk", None) != getattr(value, "pk", None):
                out[name] = value
        elif current != value:
            out[name] = value
    return out
