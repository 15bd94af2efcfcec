"""The drill-down page (`/scorecard/records/`): the records behind any KPI value.

Generic: the scorecard, the team comparison and the dashboard all link here with
`scope` (rep|team|org), `id`, `kpi`, `period`, `start` and an optional `dimension`. Who may open
which scope: `kpis.scorecard_records` (anything else is a 404); malformed parameters are a 400
page saying what is wrong.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from kpis.periods import PeriodRange
from kpis.scorecard_forms import RecordsQueryForm
from kpis.scorecard_records import Reach, records_page, records_scope
from kpis.views.scorecard import bad_request


@login_required
def records(request: HttpRequest) -> HttpResponse:
    form = RecordsQueryForm(request.GET)
    if not form.is_valid():
        return bad_request(request, form)
    query = form.cleaned_data
    reach = Reach.of(request.user)
    scope = records_scope(reach=reach, scope=query["scope"], scope_id=query["id"])
    if scope is None:
        raise Http404
    try:
        page = records_page(
            reach=reach,
            scope=scope,
            code=query["kpi"],
            period=query["period"],
            start=query["start"],
            dimension=query["dimension"],
            page_number=query["page"],
        )
    except ValueError as error:
        form.add_error(None, str(error))
        return bad_request(request, form)
    keys = ("scope", "id", "kpi", "period", "dimension")
    params = {key: value for key in keys if (value := request.GET.get(key))}
    params["start"] = page.period.start.isoformat()

    def page_url(number: int) -> str:
        return "?" + urlencode(params | {"page": number})

    context = {
        "records": page,
        "previous_url": page_url(page.page.previous_page_number())
        if page.page.has_previous()
        else None,
        "next_url": page_url(page.page.next_page_number()) if page.page.has_next() else None,
        "scorecard_url": _scorecard_query(scope.scope_id, page.period)
        if scope.scope == "rep"
        else None,
    }
    return render(request, "kpis/records.html", context)


def _scorecard_query(rep_id: int, period: PeriodRange) -> str:
    """Back to the rep's scorecard of the same period."""
    return "?" + urlencode(
        {"rep": rep_id, "period": period.period.value, "date": period.start.isoformat()}
    )
