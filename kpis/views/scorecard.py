"""The personal scorecard (`/scorecard/`): a rep's role-preset KPIs for a period, with history,
the team median and rank; CSV/XLSX of what is shown.

Who sees whom: a rep themselves only; a manager the sales reps of the teams they manage; a
superuser anyone. Any other `rep` is a 404, as if it did not exist.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from kpis.scorecard_forms import ScorecardQueryForm
from kpis.scorecard_page import (
    EXPORT_HEADER,
    scorecard_export_rows,
    scorecard_page,
    scorecard_reps,
)
from kpis.targets import SALES_ROLES
from people.models import User
from saljsite.tabular import tabular_response


def bad_request(request: HttpRequest, form) -> HttpResponse:
    """A 400 page listing what is wrong with the query parameters."""
    errors = [
        (form.fields[name].label if name in form.fields else _("Request"), message)
        for name, messages in form.errors.items()
        for message in messages
    ]
    return render(request, "kpis/scorecard_bad_request.html", {"errors": errors}, status=400)


def _chosen_rep(viewer: User, rep_id: int | None, choices: list[User]) -> User | None:
    """The rep asked for (404 when out of reach), else the viewer, else their first rep."""
    if rep_id is None:
        if viewer.role in SALES_ROLES:
            return viewer
        return choices[0] if choices else None
    if rep_id == viewer.pk:
        return viewer
    rep = next((r for r in choices if r.pk == rep_id), None)
    if rep is None:
        raise Http404
    return rep


@login_required
def scorecard(request: HttpRequest) -> HttpResponse:
    form = ScorecardQueryForm(request.GET)
    if not form.is_valid():
        return bad_request(request, form)
    query = form.cleaned_data
    viewer: User = request.user
    choices = list(scorecard_reps(viewer=viewer))
    rep = _chosen_rep(viewer, query["rep"], choices)
    today = timezone.localdate()
    period = query["period"]
    context = {
        "form": form,
        "choices": choices,
        "show_rep_select": len(choices) > 1 or any(r.pk != viewer.pk for r in choices),
        "period": period,
        "rep": rep,
        "today": today,
    }
    if rep is None:
        return render(request, "kpis/scorecard.html", context)
    page = scorecard_page(rep=rep, period=period, day=query["date"] or today, today=today)
    if query["format"]:
        return tabular_response(
            fmt=query["format"],
            filename=f"scorecard-{rep.username}-{period}-{page.period.start:%Y-%m-%d}",
            header=EXPORT_HEADER,
            rows=scorecard_export_rows(page),
            title=_("Scorecard"),
        )

    def link(**extra: str) -> str:
        return "?" + urlencode({"rep": rep.pk, "period": period} | extra)

    shown = page.period.start.isoformat()
    context |= {
        "page": page,
        "previous_url": link(date=page.period.previous().start.isoformat()),
        # No future periods: nothing has happened there yet.
        "next_url": link(date=page.period.end.isoformat()) if page.period.end <= today else None,
        "current_url": link() if not page.card.is_current else None,
        "csv_url": link(date=shown, format="csv"),
        "xlsx_url": link(date=shown, format="xlsx"),
        "chart_data": page.chart_data(),
    }
    return render(request, "kpis/scorecard.html", context)
