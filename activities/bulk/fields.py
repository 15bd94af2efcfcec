"""`activity_log`'s arguments and the activity's foreign keys, shared by the bulk modules."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models

from activities.models import Activity

if TYPE_CHECKING:
    pass


# `activity_log`'s keyword arguments and their defaults (owner and kind are required).
DEFAULTS: dict[str, Any] = {
    "status": Activity.Status.COMPLETED,
    "occurred_at": None,
    "booked_by": None,
    "booked_at": None,
    "direction": "outbound",
    "outcome": "",
    "duration_seconds": None,
    "replied": False,
    "clicked": False,
    "mode": "",
    "company": None,
    "contact": None,
    "lead": None,
    "opportunity": None,
    "subject": "",
    "notes": "",
    "external_id": "",
}
REQUIRED = ("owner", "kind")
FOREIGN_KEYS = tuple(f for f in Activity._meta.concrete_fields if isinstance(f, models.ForeignKey))
