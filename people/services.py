"""Writes of people and teams that KPIs depend on."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from kpis.models import RepDay
from kpis.services import dirty_cells_mark, span_cells
from people.models import Team, User


@transaction.atomic
def user_set_team(*, user: User, team: Team | None) -> User:
    """Move a rep to another team (or none); the team values of every period of the rep's
    history are recomputed, since teams are their reps' current members."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.team_id == (team.pk if team else None):
        return user
    user.team = team
    user.save(update_fields=["team"])
    first = RepDay.objects.filter(rep=user).aggregate(first=Min("day"))["first"]
    dirty_cells_mark(cells=span_cells(rep_ids=[user.pk], first=first, last=timezone.localdate()))
    return user
