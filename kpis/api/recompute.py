"""KPI recompute runs (`/kpis/recompute/`): queue one and follow its state; managers only (403)."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kpis.runs import RunState, recompute_enqueue, recompute_state
from kpis.serializers import RecomputeRequestSerializer, RecomputeSerializer
from saljsite.api import ManagersOnly


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
