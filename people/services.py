"""Writes of people and teams that KPIs depend on."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from kpis.models import RepDay
from kpis.services import dirty_cells_mark, span_cells
from people.models import Team, User
from pipeline.models import Opportunity, Stage


@transaction.atomic
def user_set_team(*, user: User, team: Team | None) -> User:
    """Move a rep to another team (or none); the team values of every period of the rep's
    history are recomputed, since teams are their reps' current members."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.team_id == (team.pk if team else None):
        return user
    user.team = team
    user.save(update_fields=["team"])
    today = timezone.localdate()
    first = min((day for day in _history_starts(user) if day is not None), default=today)
    dirty_cells_mark(cells=span_cells(rep_ids=[user.pk], first=min(first, today), last=today))
    return user


def _history_starts(user: User) -> list[dt.date | None]:
    """The first days the rep's team values hold something of the rep's: their first rollup
    (what they did or closed, the leads they hold), the creation of the first deal they own
    (open pipeline goes to the current owner) and the first purchase of a company they own
    (churn and repeat purchase go to its current account manager) — the last two whether or
    not the rep has a row of their own then."""
    owned = Opportunity.objects.filter(owner=user).aggregate(first=Min("created_day"))
    purchases = Opportunity.objects.filter(
        company__owner=user, stage__outcome=Stage.Outcome.WON, closed_day__isnull=False
    ).aggregate(first=Min("closed_day"))
    first_day = RepDay.objects.filter(rep=user).aggregate(first=Min("day"))
    return [first_day["first"], owned["first"], purchases["first"]]
