"""API views of the KPI app: targets, the registry, KPI values, scorecards and recompute runs.

Targets (thin callers of `kpis.target_services`): everyone reads the targets of their scope (see
`saljsite.api.Actor.targets`); only managers write: rep targets for the members of their teams,
team targets for the teams they manage, and role and everyone targets (as in the admin, where
managers hold the target permissions).

KPI values (`/kpi-values/`), read through the caller's reach (`Actor`):
- scope rep: the reps the caller reads as users: a rep their teammates and themselves (the team
  shares its numbers, as on the team's pages), a manager the members of the teams they manage;
- scope team: a rep their own team, a manager their own and the teams they manage;
- scope org: everyone signed in. Organisation values are totals and ratios over every rep; they
  name no one and are the benchmark the pages show beside a rep's and a team's numbers.
A rep or team outside the reach is simply not there: an empty list, as a filter on any list.

Scorecards: a rep reads their own only; a manager those of the members of the teams they
manage; a superuser anyone's; anyone else's is 404. Recompute runs: managers only (403).
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kpis.models import Target
from kpis.registry import KPI, KPIS
from kpis.runs import RunState, recompute_enqueue, recompute_state
from kpis.scorecards import Scorecard, scorecard_for_rep
from kpis.serializers import (
    KPISerializer,
    KPIValueQuerySerializer,
    KPIValueSerializer,
    RecomputeRequestSerializer,
    RecomputeSerializer,
    ScorecardQuerySerializer,
    ScorecardSerializer,
    TargetSerializer,
)
from kpis.target_services import target_delete, target_set, target_update
from kpis.targets import SALES_ROLES, target_duplicates
from kpis.value_rows import kpi_value_rows, period_starts, with_targets
from people.models import Team, User
from saljsite.api import (
    MAX_ID,
    Actor,
    FilterSet,
    ManagersOnly,
    ScopedQuerysetMixin,
    actor,
    service_errors,
)
from saljsite.api.renderers import (
    TABULAR_FORMATS,
    CSVRenderer,
    TabularFormatsMixin,
    XLSXRenderer,
)
from saljsite.tabular import tabular_response


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


# ---------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------
LANGUAGES = ("en", "sv")


def _translated(text: Any) -> dict[str, str]:
    out = {}
    for language in LANGUAGES:
        with translation.override(language):
            out[language] = str(text)
    return out


@cache
def _catalog() -> dict[str, dict[str, Any]]:
    """The registry as the API shows it; built once per process (the registry is code)."""

    def entry(kpi: KPI) -> dict[str, Any]:
        return {
            "code": kpi.code,
            "name": _translated(kpi.name),
            "description": _translated(kpi.help_text),
            "category": kpi.category.value,
            "kind": kpi.kind.value,
            "unit": kpi.unit.value,
            "direction": kpi.direction.value,
            "roles": sorted(role.value for role in kpi.roles),
            "additive": kpi.additive,
            "dimensions": list(kpi.dimensions),
        }

    return {kpi.code: KPISerializer(entry(kpi)).data for kpi in KPIS}


@extend_schema(
    parameters=[
        OpenApiParameter("code", OpenApiTypes.STR, OpenApiParameter.PATH, description="KPI code.")
    ]
)
class KPIViewSet(viewsets.GenericViewSet):
    """The KPI registry (KPIS.md): what each code means, its unit, direction and roles."""

    serializer_class = KPISerializer
    filter_backends = ()
    lookup_field = "code"
    lookup_value_regex = "[a-z0-9_]+"

    @extend_schema(summary="The KPI registry, in catalogue order")
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(list(_catalog().values()))
        return self.get_paginated_response(page)

    @extend_schema(summary="One KPI of the registry")
    def retrieve(self, request: Request, code: str) -> Response:
        entry = _catalog().get(code)
        if entry is None:
            raise Http404
        return Response(entry)


# ---------------------------------------------------------------------------
# KPI values
# ---------------------------------------------------------------------------
# Rows one request may lay out (KPIs × reps or teams × periods); past it the client narrows.
MAX_ROWS = 50_000


# The columns of a CSV or XLSX download of /kpi-values/: the fields of its JSON rows.
EXPORT_COLUMNS = (
    "kpi", "scope", "rep", "team", "period", "period_start", "dimension",
    "value", "numerator", "denominator", "target", "attainment", "status",
)  # fmt: skip


def _export_row(row: Any) -> list[Any]:
    """A value row's cells, typed as in the JSON rows (numbers as floats, status as its code)."""
    cells = []
    for name in EXPORT_COLUMNS:
        value = getattr(row, name)
        if name in ("target", "attainment"):
            value = _number(value)
        elif name == "status" and value is not None:
            value = str(value)
        cells.append(value)
    return cells


class KPIValueView(TabularFormatsMixin, generics.GenericAPIView):
    serializer_class = KPIValueSerializer
    filter_backends = ()

    @extend_schema(
        summary="KPI values of reps, teams or the organisation per period",
        description="One row per KPI, rep/team/org and period overlapping `start`..`end` (a "
        "period without data has a row whose value is null), plus the dimension rows with data; "
        "ordered by KPI, rep or team, period and dimension. Reps and teams outside the caller's "
        "reach are left out (an empty page).\n\n"
        "`?format=csv` or `?format=xlsx` (or `Accept: text/csv` / the XLSX media type) "
        "downloads every matching row — not a page — as a file with the same columns as the "
        "JSON rows (CSV: UTF-8 with a byte-order mark, comma-separated, dot decimals; empty "
        "cell for null). Same filters, limits and permissions as the JSON answer; errors are "
        "JSON.",
        parameters=[
            KPIValueQuerySerializer,
            OpenApiParameter(
                "format",
                str,
                enum=["json", *TABULAR_FORMATS],
                description="json (default, paginated), csv or xlsx (every row, a download).",
            ),
        ],
        responses={
            (200, "application/json"): KPIValueSerializer(many=True),
            (200, CSVRenderer.media_type): OpenApiTypes.STR,
            (200, XLSXRenderer.media_type): OpenApiTypes.BINARY,
        },
    )
    def get(self, request: Request) -> Response:
        query = KPIValueQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        scope, members = q["scope"], self._members(actor(request), q)
        periods = len(period_starts(q["period"], q["start"], q["end"]))
        if len(q["kpi"]) * max(len(members), 1) * periods > MAX_ROWS:
            raise serializers.ValidationError(
                {"non_field_errors": [_("Too many values at once: ask for fewer KPIs, reps or "
                                        "teams, or a shorter range.")]}
            )  # fmt: skip
        rows = kpi_value_rows(
            codes=q["kpi"],
            scope=scope,
            members=members,
            period=q["period"],
            start=q["start"],
            end=q["end"],
            dimension=q.get("dimension"),
        )
        reps = members if scope == "rep" else ()
        fmt = self.tabular_format()
        if fmt is not None:
            return tabular_response(
                fmt=fmt,
                filename=f"kpi-values-{scope}-{q['period']}-{q['start']}-{q['end']}",
                header=EXPORT_COLUMNS,
                rows=[_export_row(row) for row in with_targets(rows, reps=reps)],
                title="KPI values",
            )
        page = self.paginate_queryset(rows)
        page = with_targets(page, reps=reps)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def _members(self, caller: Actor, q: dict[str, Any]) -> list:
        if q["scope"] == "org":
            return [0]
        if q["scope"] == "team":
            teams = caller.teams()
            if "team" in q:
                teams = teams.filter(pk=q["team"])
            return list(teams.order_by("pk").values_list("pk", flat=True))
        reps = caller.users()
        if "rep" in q:
            reps = reps.filter(pk=q["rep"])
        if "team" in q:
            reps = reps.filter(team_id=q["team"])
            if "rep" not in q:
                reps = reps.filter(role__in=SALES_ROLES)
        return list(reps.order_by("pk").only("id", "team_id", "role"))


# ---------------------------------------------------------------------------
# Scorecards
# ---------------------------------------------------------------------------
def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _scorecard_data(card: Scorecard) -> dict[str, Any]:
    def line(item) -> dict[str, Any]:
        pace = item.pace
        return {
            "kpi": item.kpi.code,
            "name": str(item.kpi.name),
            "unit": item.kpi.unit.value,
            "direction": item.kpi.direction.value,
            "value": item.value,
            "numerator": item.numerator,
            "denominator": item.denominator,
            "target": _number(item.target),
            "attainment": _number(item.attainment),
            "status": item.status,
            "pace": None
            if pace is None
            else {
                "expected_to_date": float(pace.expected_to_date),
                "on_pace": pace.on_pace,
                "elapsed_working_days": pace.elapsed_working_days,
                "working_days": pace.working_days,
            },
            "projection": _number(item.projection),
        }

    return {
        "rep": card.rep.pk,
        "role": card.rep.role,
        "period": card.period.period.value,
        "period_start": card.period.start,
        "period_end": card.period.end - dt.timedelta(days=1),
        "date": card.day,
        "current": card.is_current,
        "groups": [
            {
                "kind": group.kind.value,
                "category": group.category.value,
                "kpis": [line(item) for item in group.lines],
            }
            for group in card.groups
        ],
    }


class ScorecardView(APIView):
    @extend_schema(
        summary="A rep's scorecard for a period",
        description="The KPIs of the rep's role preset for the period containing `date`: value, "
        "target, attainment and status, and pace and projection in the current period; leading "
        "groups first, then lagging. A rep reads their own; a manager their teams' members'.",
        parameters=[
            ScorecardQuerySerializer,
            OpenApiParameter(
                "user_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The rep's id."
            ),
        ],
        responses=ScorecardSerializer,
    )
    def get(self, request: Request, user_id: int) -> Response:
        query = ScorecardQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        rep = User.objects.filter(pk=user_id).first() if 0 < user_id <= MAX_ID else None
        if rep is None or not actor(request).may_act_for(rep):
            raise Http404
        today = timezone.localdate()
        card = scorecard_for_rep(
            rep=rep,
            period=query.validated_data["period"],
            day=query.validated_data.get("date") or today,
            today=today,
        )
        return Response(ScorecardSerializer(_scorecard_data(card)).data)


# ---------------------------------------------------------------------------
# Recompute runs
# ---------------------------------------------------------------------------
def _run_data(run: RunState) -> dict[str, Any]:
    return {"task_id": run.task_id, "state": run.state, "full": run.full}


class RecomputeView(APIView):
    permission_classes = [ManagersOnly]

    @extend_schema(
        summary="Queue a KPI recompute (managers)",
        description="Queues `kpis.recompute` (what changed since the last run) or, with "
        '`{"full": true}`, `kpis.recompute_full`, once the request commits. 202 with the task '
        "id; GET /kpis/recompute/{task_id}/ follows it.",
        request=RecomputeRequestSerializer,
        responses={202: RecomputeSerializer},
    )
    def post(self, request: Request) -> Response:
        body = RecomputeRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        run = recompute_enqueue(full=body.validated_data["full"], requested_by=request.user)
        return Response(RecomputeSerializer(_run_data(run)).data, status=status.HTTP_202_ACCEPTED)


class RecomputeStateView(APIView):
    permission_classes = [ManagersOnly]

    @extend_schema(
        summary="The state of a queued KPI recompute (managers)",
        parameters=[
            OpenApiParameter(
                "task_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="From the POST."
            )
        ],
        responses=RecomputeSerializer,
    )
    def get(self, request: Request, task_id: str) -> Response:
        run = recompute_state(task_id=str(task_id))
        if run is None:
            raise Http404
        return Response(RecomputeSerializer(_run_data(run)).data)
