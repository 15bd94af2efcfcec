"""Cell text to typed values: one parser per column of the file, users looked up once."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.translation import gettext as _

from pipeline.imports import formats as f
from pipeline.imports.formats import CellError, Column
from pipeline.imports.kinds.activities.columns import COLUMNS
from pipeline.imports.kinds.base import AMBIGUOUS, out_of_reach_message, unknown_message


class ParsingMixin:
    """Row parsing for `run._Run`: one parser per column of the file, and a row's parse."""

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
