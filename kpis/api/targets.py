"""Targets (`/targets/`): thin callers of `kpis.target_services`.

Everyone reads the targets of their scope (see `saljsite.api.Actor.targets`); only managers
write: rep targets for the members of their teams, team targets for the teams they manage, and
role and everyone targets (as in the admin, where managers hold the target permissions).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from kpis.models import Target
from kpis.serializers import TargetSerializer
from kpis.target_services import target_delete, target_set, target_update
from kpis.targets import target_duplicates
from people.models import Team, User
from saljsite.api import Actor, FilterSet, ScopedQuerysetMixin, actor, service_errors


class TargetFilter(FilterSet):
    class Meta:
        model = Target
        fields = {
            "kpi": ["exact"],
            "scope": ["exact"],
            "rep": ["exact"],
            "team": ["exact"],
            "role": ["exact"],
            "period": ["exact"],
            "valid_from": ["gte", "lte"],
        }


def _may_set(actor: Actor, *, rep: User | None, team: Team | int | None) -> bool:
    if actor.is_superuser:
        return True
    if not actor.is_manager:
        return False
    if rep is not None and not actor.may_act_for(rep):
        return False
    team_id = team.pk if isinstance(team, Team) else team
    return team_id is None or team_id in actor.managed_team_ids


class TargetViewSet(ScopedQuerysetMixin, viewsets.ModelViewSet):
    queryset = Target.objects.all()
    serializer_class = TargetSerializer
    filterset_class = TargetFilter
    managers_write_only = True

    def scoped_queryset(self, actor: Actor):
        return actor.targets().order_by("kpi", "scope", "-valid_from", "id")

    def may_write(self, actor: Actor, target: Target) -> bool:
        return _may_set(actor, rep=target.rep, team=target.team_id)

    def _check(self, data: dict[str, Any]) -> None:
        if not _may_set(actor(self.request), rep=data.get("rep"), team=data.get("team")):
            raise PermissionDenied(_("You set targets only for your teams and their members."))

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        self._check(data)
        replaced = target_duplicates(target=Target(**data)).exists()
        with service_errors(serializer):
            target = target_set(**data, changed_by=request.user)
        return Response(
            self.get_serializer(target).data,
            status=status.HTTP_200_OK if replaced else status.HTTP_201_CREATED,
        )

    def perform_update(self, serializer: TargetSerializer) -> None:
        data = dict(serializer.validated_data)
        self._check(data)
        target = serializer.instance
        for field, value in data.items():
            setattr(target, field, value)
        with service_errors(serializer):
            serializer.instance = target_update(target=target, changed_by=self.request.user)

    def perform_destroy(self, instance: Target) -> None:
        target_delete(target=instance, changed_by=self.request.user)
