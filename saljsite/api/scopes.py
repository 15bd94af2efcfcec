"""Who reads what and writes for whom: the caller's reach, shared by every API endpoint."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet

from activities.models import Activity
from kpis.models import Target
from people.admin_scoping import visible_user_q
from people.models import Team, User
from pipeline.models import Company, Contact, Lead, Opportunity, RepCost
from pipeline.querysets import visible_owner_q

if TYPE_CHECKING:
    from rest_framework.request import Request


class Actor:
    """The caller's reach.

    Reads (`visible_owner_q`): a superuser everything; a manager the rows of the members of the
    teams they manage, and their own; a rep their team's rows (their own without a team).
    Unowned companies, their contacts and unassigned leads are everyone's to pick up, as in the
    admin. Writes on behalf of someone else: a superuser for anyone, a manager for the members of
    the teams they manage, a rep only as themselves (the exceptions are the resource's own rules).
    """

    def __init__(self, user: User) -> None:
        self.user = user

    @property
    def is_superuser(self) -> bool:
        return self.user.is_superuser

    @property
    def is_manager(self) -> bool:
        """Managers and superusers: write for others in their scope, back-fill timestamps."""
        return self.user.is_superuser or self.user.role == User.Role.MANAGER

    @cached_property
    def managed_team_ids(self) -> frozenset[int]:
        return frozenset(Team.objects.filter(manager=self.user).values_list("pk", flat=True))

    def may_act_for(self, other: User) -> bool:
        """May the caller write with `other` as owner, assignee, booker or rep?"""
        if other.pk == self.user.pk or self.user.is_superuser:
            return True
        if self.user.role == User.Role.MANAGER:
            return other.team_id is not None and other.team_id in self.managed_team_ids
        return False

    def is_teammate(self, other: User) -> bool:
        """The caller, or a member of the caller's team."""
        return other.pk == self.user.pk or (
            self.user.team_id is not None and other.team_id == self.user.team_id
        )

    def owned_q(self, field: str, *, unowned: bool = False) -> Q:
        """Rows whose `field` user the caller reads (and, with `unowned`, rows without one)."""
        if self.user.is_superuser:
            return Q()  # Q() | Q(x) would be Q(x): everything must stay everything.
        q = visible_owner_q(self.user, field)
        return q | Q(**{f"{field}__isnull": True}) if unowned else q

    # Each resource's readable rows; views and related-id checks use the same querysets.
    def users(self) -> QuerySet[User]:
        return User.objects.filter(visible_user_q(self.user))

    def teams(self) -> QuerySet[Team]:
        if self.user.is_superuser:
            return Team.objects.all()
        q = Q(pk=self.user.team_id) if self.user.team_id else Q(pk__in=[])
        if self.user.role == User.Role.MANAGER:
            q |= Q(manager=self.user)
        return Team.objects.filter(q)

    def companies(self) -> QuerySet[Company]:
        return Company.objects.filter(self.owned_q("owner", unowned=True))

    def contacts(self) -> QuerySet[Contact]:
        return Contact.objects.filter(self.owned_q("company__owner", unowned=True))

    def leads(self) -> QuerySet[Lead]:
        return Lead.objects.filter(self.owned_q("assigned_to", unowned=True))

    def opportunities(self) -> QuerySet[Opportunity]:
        return Opportunity.objects.filter(self.owned_q("owner"))

    def activities(self) -> QuerySet[Activity]:
        # A booking belongs to its booker too: an SDR sees the meetings they booked.
        return Activity.objects.filter(self.owned_q("owner") | self.owned_q("booked_by"))

    def rep_costs(self) -> QuerySet[RepCost]:
        """Costs are pay: a rep reads only their own, a manager their teams'."""
        if self.is_manager:
            return RepCost.objects.filter(self.owned_q("rep"))
        return RepCost.objects.filter(rep=self.user)

    def targets(self) -> QuerySet[Target]:
        """Role and everyone targets, and the rep and team targets of the caller's scope."""
        if self.user.is_superuser:
            return Target.objects.all()
        team_ids = self.teams().values("pk")
        return Target.objects.filter(
            Q(scope__in=[Target.Scope.ROLE, Target.Scope.ALL])
            | Q(scope=Target.Scope.TEAM, team__in=team_ids)
            | Q(scope=Target.Scope.REP) & self.owned_q("rep")
        )


def actor(request: Request) -> Actor:
    """The request's `Actor`, built once per request."""
    cached = getattr(request, "_saljsite_actor", None)
    if cached is None or cached.user is not request.user:
        cached = Actor(request.user)
        request._saljsite_actor = cached
    return cached
