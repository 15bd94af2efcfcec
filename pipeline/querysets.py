"""Chainable, side-effect-free filters for the pipeline models."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Q

from pipeline.exceptions import AppendOnlyError

if TYPE_CHECKING:
    from people.models import User


def visible_owner_q(user: User, field: str = "owner") -> Q:
    """Rows a user may read by ownership: superuser all, a manager their teams, a rep their team."""
    if user.is_superuser:
        return Q()
    if user.role == "manager":
        return Q(**{f"{field}__team__manager": user}) | Q(**{field: user})
    if user.team_id:
        return Q(**{f"{field}__team_id": user.team_id})
    return Q(**{field: user})


class CompanyQuerySet(models.QuerySet):
    def owned_by(self, rep: User) -> CompanyQuerySet:
        return self.filter(owner=rep)


class LeadQuerySet(models.QuerySet):
    def assigned_to(self, rep: User) -> LeadQuerySet:
        return self.filter(assigned_to=rep)

    def received_between(self, start: dt.date, end: dt.date) -> LeadQuerySet:
        """Leads received on local days in `[start, end)`."""
        return self.filter(received_day__gte=start, received_day__lt=end)

    def visible_to(self, user: User) -> LeadQuerySet:
        return self.filter(visible_owner_q(user, "assigned_to"))


class OpportunityQuerySet(models.QuerySet):
    def open(self) -> OpportunityQuerySet:
        return self.filter(stage__outcome="open")

    def won(self) -> OpportunityQuerySet:
        return self.filter(stage__outcome="won")

    def lost(self) -> OpportunityQuerySet:
        return self.filter(stage__outcome="lost")

    def owned_by(self, rep: User) -> OpportunityQuerySet:
        return self.filter(owner=rep)

    def visible_to(self, user: User) -> OpportunityQuerySet:
        return self.filter(visible_owner_q(user))


class StageChangeQuerySet(models.QuerySet):
    """Stage history is append-only: bulk updates and deletes are refused too."""

    def update(self, **kwargs):
        raise AppendOnlyError("Stage history is append-only: stage changes cannot be updated.")

    def delete(self):
        raise AppendOnlyError("Stage history is append-only: stage changes cannot be deleted.")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyError("Stage history is append-only: stage changes cannot be updated.")
