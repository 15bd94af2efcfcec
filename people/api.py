"""API views of users and teams: read-only, within the caller's scope (`saljsite.api.Actor`)."""

from __future__ import annotations

from django.db.models import Prefetch
from rest_framework import viewsets

from people.models import Team, User
from people.serializers import TeamSerializer, UserSerializer
from saljsite.api import Actor, FilterSet, ScopedQuerysetMixin


class UserFilter(FilterSet):
    class Meta:
        model = User
        fields = {"role": ["exact"], "team": ["exact"], "username": ["exact"]}


class TeamFilter(FilterSet):
    class Meta:
        model = Team
        fields = {"manager": ["exact"]}


class UserViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    """A rep reads their team, a manager the teams they manage, a superuser everyone."""

    queryset = User.objects.all()
    serializer_class = UserSerializer
    filterset_class = UserFilter

    def scoped_queryset(self, actor: Actor):
        return actor.users().order_by("username")


class TeamViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    """A rep reads their own team, a manager the teams they manage (and their own)."""

    queryset = Team.objects.all()
    serializer_class = TeamSerializer
    filterset_class = TeamFilter

    def scoped_queryset(self, actor: Actor):
        members = Prefetch("members", queryset=User.objects.only("id", "team_id").order_by("id"))
        return actor.teams().prefetch_related(members).order_by("name")
