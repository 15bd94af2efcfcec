"""The columns of an activities file and the values its choice columns accept."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from activities.models import Activity
from pipeline.imports import formats as f
from pipeline.imports.formats import Column
from pipeline.models import Direction

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
