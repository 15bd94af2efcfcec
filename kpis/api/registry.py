"""The KPI registry (`/kpis/`): each code's names, unit, direction and roles, in two languages."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.http import Http404
from django.utils import translation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from kpis.registry import KPI, KPIS
from kpis.serializers import KPISerializer

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
