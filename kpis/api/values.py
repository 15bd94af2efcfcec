"""KPI values (`/kpi-values/`): a page of JSON rows, or every row as a CSV or XLSX download.

Read through the caller's reach (`Actor`):
- scope rep: the reps the caller reads as users: a rep their teammates and themselves (the team
  shares its numbers, as on the team's pages), a manager the members of the teams they manage;
- scope team: a rep their own team, a manager their own and the teams they manage;
- scope org: everyone signed in. Organisation values are totals and ratios over every rep; they
  name no one and are the benchmark the pages show beside a rep's and a team's numbers.
A rep or team outside the reach is simply not there: an empty list, as a filter on any list.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from kpis.serializers import KPIValueQuerySerializer, KPIValueSerializer
from kpis.targets import SALES_ROLES
from kpis.value_rows import kpi_value_rows, period_starts, with_targets
from saljsite.api import Actor, actor
from saljsite.api.renderers import (
    TABULAR_FORMATS,
    CSVRenderer,
    TabularFormatsMixin,
    XLSXRenderer,
)
from saljsite.tabular import tabular_response

# Rows one request may lay out (KPIs × reps or teams × periods); past it the client narrows.
MAX_ROWS = 50_000


# The columns of a CSV or XLSX download of /kpi-values/: the fields of its JSON rows.
EXPORT_COLUMNS = (
    "kpi", "scope", "rep", "team", "period", "period_start", "dimension",
    "value", "numerator", "denominator", "target", "attainment", "status",
)  # fmt: skip


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


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
