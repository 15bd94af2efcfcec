"""The team comparison (`/team/`): a team's reps side by side on their role's KPIs, a bar chart
of one KPI, the funnel with flags; CSV/XLSX of what is shown.

Who sees which team: a rep their own team only; a manager the teams they manage; a superuser
any. Any other `team` (or a viewer with no team to compare) is a 404, as if it did not exist.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kpis.funnel import ALPHA, MIN_EXITS
from kpis.scorecard_forms import MAX_ID, PERIOD_CHOICES
from kpis.targets import SALES_ROLES
from kpis.team_comparison import (
    TeamComparison,
    chart_data,
    default_role,
    export_header,
    export_rows,
    team_choices,
    team_comparison,
    team_role_counts,
)
from kpis.team_comparison.html import cells_html, funnel_cells_html
from kpis.team_comparison.html import words as cell_words
from kpis.templatetags.kpis_ui import format_number
from kpis.views.scorecard import bad_request
from people.models import User
from saljsite.tabular import FORMATS, tabular_response


class TeamQueryForm(forms.Form):
    """`team` (id), `role` (sdr|ae|am; default the team's most common), `period` (default
    month), `date` (any day of the period; default today), `sort` (a KPI code, `-code`
    descending), `kpi` (the chart's KPI), `format` (csv|xlsx). Unknown `sort`/`kpi` codes fall
    back to the defaults: a role change keeps the other role's sort in the URL."""

    team = forms.IntegerField(
        label=gettext_lazy("Team"), required=False, min_value=1, max_value=MAX_ID
    )
    role = forms.ChoiceField(
        label=gettext_lazy("Role"),
        choices=[(r, User.Role(r).label) for r in SALES_ROLES],
        required=False,
    )
    period = forms.ChoiceField(label=gettext_lazy("Period"), choices=PERIOD_CHOICES, required=False)
    date = forms.DateField(label=gettext_lazy("Date"), required=False, input_formats=["%Y-%m-%d"])
    sort = forms.CharField(label=gettext_lazy("Sort by"), required=False, max_length=60)
    kpi = forms.CharField(label=gettext_lazy("Chart"), required=False, max_length=60)
    format = forms.ChoiceField(choices=[(f, f) for f in FORMATS], required=False)

    def clean_period(self) -> str:
        return self.cleaned_data.get("period") or "month"


def _links(page: TeamComparison, today) -> dict[str, str | None]:
    base = {"team": page.team.pk, "role": page.role, "period": page.period.period.value}
    shown = page.period.start.isoformat()

    def link(**extra) -> str:
        return "?" + urlencode(base | extra)

    keep = {"sort": page.sort, "kpi": page.chart_kpi.code}
    return {
        "previous_url": link(date=page.period.previous().start.isoformat(), **keep),
        # No future periods: nothing has happened there yet.
        "next_url": link(date=page.period.end.isoformat(), **keep)
        if page.period.end <= today
        else None,
        "current_url": link(**keep) if not page.is_current else None,
        "csv_url": link(date=shown, **keep, format="csv"),
        "xlsx_url": link(date=shown, **keep, format="xlsx"),
        "sort_base": link(date=shown, kpi=page.chart_kpi.code),
    }


@login_required
def team(request: HttpRequest) -> HttpResponse:
    form = TeamQueryForm(request.GET)
    if not form.is_valid():
        return bad_request(request, form)
    query = form.cleaned_data
    viewer: User = request.user
    teams = list(team_choices(viewer=viewer))
    if not teams:
        raise Http404
    if query["team"] is None:
        chosen = next((t for t in teams if t.pk == viewer.team_id), teams[0])
    else:
        chosen = next((t for t in teams if t.pk == query["team"]), None)
        if chosen is None:
            raise Http404
    counts = team_role_counts(team=chosen)
    role = query["role"] or default_role(counts, viewer.role)
    today = timezone.localdate()
    page = team_comparison(
        viewer=viewer,
        team=chosen,
        role=role,
        period=query["period"],
        day=query["date"] or today,
        today=today,
        sort=query["sort"],
        chart_kpi=query["kpi"],
        role_counts=counts,
    )
    if query["format"]:
        return tabular_response(
            fmt=query["format"],
            filename=f"team-{chosen.pk}-{role}-{page.period.period}-{page.period.start:%Y-%m-%d}",
            header=export_header(page),
            rows=export_rows(page),
            title=_("Team comparison"),
        )
    links = _links(page, today)
    data = chart_data(page)
    words = cell_words()
    context = {
        "form": form,
        "page": page,
        "teams": teams,
        "roles": [(r, User.Role(r).label, counts.get(r, 0)) for r in SALES_ROLES],
        "chart_data": data,
        "chart_pairs": list(zip(data["labels"], data["valueText"], strict=True)),
        "min_exits": MIN_EXITS,
        "alpha": format_number(ALPHA, 2),
        "headers": [
            (column, f"{links['sort_base']}&{urlencode({'sort': column.next_sort})}")
            for column in page.columns
        ],
        # The table's cells as HTML, built once each in Python (kpis.team_comparison.html).
        "rows": [
            (row, cells_html(row.cells, words), funnel_cells_html(row.funnel, words))
            for row in page.rows
        ],
        "team_cells": cells_html(page.team_cells, words),
        "median_cells": cells_html(page.median_cells, words),
        "team_funnel": funnel_cells_html(page.team_funnel, words),
        **links,
    }
    return render(request, "kpis/team.html", context)
