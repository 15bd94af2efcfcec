"""Column formats: what each column of each kind holds, how its text is read, and templates.

Cell text is read the same way for every kind:
- numbers: "1234.50", "1 234,50" (Swedish decimal comma; spaces, non-breaking spaces as thousands);
- dates: YYYY-MM-DD; months (rep costs): YYYY-MM or YYYY-MM-01;
- datetimes: ISO 8601 with an offset ("2026-03-02T09:30:00+01:00", "…Z"), or "YYYY-MM-DD HH:MM"
  (or a date alone, midnight) in the site's local time;
- booleans: 1/0, true/false, yes/no, ja/nej, x/empty;
- choices: the stored code, case-insensitive ("call", "no_answer").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# Column types. Reference types hold another row's key: an external id, a username (or email),
# a stage slug, a team name or a KPI code.
TEXT, INT, DECIMAL, DATE, MONTH, DATETIME, BOOL, CHOICE = (
    "text",
    "int",
    "decimal",
    "date",
    "month",
    "datetime",
    "bool",
    "choice",
)
USER, COMPANY, CONTACT, LEAD, OPPORTUNITY, STAGE, TEAM, KPI = (
    "user",
    "company",
    "contact",
    "lead",
    "opportunity",
    "stage",
    "team",
    "kpi",
)
REFERENCES = (USER, COMPANY, CONTACT, LEAD, OPPORTUNITY, STAGE, TEAM, KPI)


@dataclass(frozen=True)
class Column:
    name: str
    type: str = TEXT
    required: bool = False
    choices: tuple[str, ...] = ()
    max_length: int | None = None
    example: str = ""
    help: str = ""


class CellError(ValueError):
    """A cell's text cannot be read as its column's type (the message says why)."""


_TRUE = frozenset({"1", "true", "yes", "ja", "x", "y", "j", "sant"})
_FALSE = frozenset({"0", "false", "no", "nej", "n", "", "falskt"})
_SPACES = str.maketrans("", "", " \u00a0\u202f\u2009'")


def parse_decimal(text: str) -> Decimal:
    raw = text.translate(_SPACES)
    if "," in raw:
        if "." in raw:  # "1.234,50": the last mark is the decimal one
            if raw.rfind(",") > raw.rfind("."):
                raw = raw.replace(".", "").replace(",", ".")
            else:
                raw = raw.replace(",", "")
        else:
            raw = raw.replace(",", ".")
    raw = raw.replace("\u2212", "-")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise CellError(_("“%(value)s” is not a number.") % {"value": text}) from None
    if not value.is_finite():
        raise CellError(_("“%(value)s” is not a number.") % {"value": text})
    return value


def parse_int(text: str) -> int:
    value = parse_decimal(text)
    if value != value.to_integral_value():
        raise CellError(_("“%(value)s” is not a whole number.") % {"value": text})
    return int(value)


def parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise CellError(_("“%(value)s” is not a date (YYYY-MM-DD).") % {"value": text}) from None


def parse_month(text: str) -> dt.date:
    raw = text.strip()
    if len(raw) == 7:
        raw += "-01"
    day = parse_date(raw)
    if day.day != 1:
        raise CellError(_("“%(value)s” is not a month (YYYY-MM).") % {"value": text})
    return day


def site_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def parse_datetime(text: str, zone: ZoneInfo | None = None) -> tuple[dt.datetime, dt.date]:
    """The moment (aware) and its local day in the site time zone."""
    zone = zone or site_zone()
    raw = text.strip()
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise CellError(
            _("“%(value)s” is not a date and time (YYYY-MM-DD HH:MM).") % {"value": text}
        ) from None
    if value.tzinfo is None:
        # Local site time: the local day is the date as written.
        return value.replace(tzinfo=zone), value.date()
    return value, value.astimezone(zone).date()


def parse_bool(text: str) -> bool:
    raw = text.strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise CellError(_("“%(value)s” is not yes or no (1/0).") % {"value": text})


def parse_choice(text: str, choices: tuple[str, ...]) -> str:
    raw = text.strip().lower()
    if raw not in choices:
        raise CellError(
            _("“%(value)s” is not one of: %(choices)s.")
            % {"value": text, "choices": ", ".join(choices)}
        )
    return raw


def parse(column: Column, text: str, zone: ZoneInfo | None = None):
    """The typed value of a non-empty cell (references stay text: the kind resolves them)."""
    kind = column.type
    if kind == TEXT or kind in REFERENCES:
        value = text.strip()
        if column.max_length and len(value) > column.max_length:
            raise CellError(
                _("At most %(max)s characters (this has %(count)s).")
                % {"max": column.max_length, "count": len(value)}
            )
        return value
    if kind == DECIMAL:
        return parse_decimal(text)
    if kind == INT:
        return parse_int(text)
    if kind == DATE:
        return parse_date(text)
    if kind == MONTH:
        return parse_month(text)
    if kind == DATETIME:
        return parse_datetime(text, zone)
    if kind == BOOL:
        return parse_bool(text)
    if kind == CHOICE:
        return parse_choice(text, column.choices)
    raise AssertionError(kind)


TYPE_LABELS = {
    TEXT: gettext_lazy("text"),
    INT: gettext_lazy("whole number"),
    DECIMAL: gettext_lazy("number (decimal comma or point)"),
    DATE: gettext_lazy("date YYYY-MM-DD"),
    MONTH: gettext_lazy("month YYYY-MM"),
    DATETIME: gettext_lazy("date and time (ISO 8601, or YYYY-MM-DD HH:MM site time)"),
    BOOL: gettext_lazy("yes/no (1/0)"),
    CHOICE: gettext_lazy("one of the codes"),
    USER: gettext_lazy("username (or email)"),
    COMPANY: gettext_lazy("external id of a company"),
    CONTACT: gettext_lazy("external id of a contact"),
    LEAD: gettext_lazy("external id of a lead"),
    OPPORTUNITY: gettext_lazy("external id of an opportunity"),
    STAGE: gettext_lazy("stage slug"),
    TEAM: gettext_lazy("team name"),
    KPI: gettext_lazy("KPI code"),
}


def template_rows(columns: tuple[Column, ...]) -> tuple[list[str], list[str]]:
    """The header and one example row of a kind's template."""
    return [c.name for c in columns], [c.example for c in columns]
