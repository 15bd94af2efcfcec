"""A rep's scorecard for a period (`/scorecards/{user_id}/`).

A rep reads their own only; a manager those of the members of the teams they manage; a superuser
anyone's; anyone else's is 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kpis.api.values import _number
from kpis.scorecards import Scorecard, scorecard_for_rep
from kpis.serializers import ScorecardQuerySerializer, ScorecardSerializer
from people.models import User
from saljsite.api import MAX_ID, actor


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
