"""Chainable, side-effect-free filters for activities."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db import models

from pipeline.querysets import visible_owner_q

if TYPE_CHECKING:
    from people.models import User


class ActivityQuerySet(models.QuerySet):
    def completed(self) -> ActivityQuerySet:
        return self.filter(status="completed")

    def for_rep(self, rep: User) -> ActivityQuerySet:
        return self.filter(owner=rep)

    def occurred_between(self, start: dt.date, end: dt.date) -> ActivityQuerySet:
        """Activities on local days in `[start, end)`."""
        return self.filter(occurred_day__gte=start, occurred_day__lt=end)

    def visible_to(self, user: User) -> ActivityQuerySet:
        return self.filter(visible_owner_q(user))
