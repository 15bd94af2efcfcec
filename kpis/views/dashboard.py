"""The manager dashboard (`/dashboard/`): a team's or the organisation's KPIs now, over time and
against target, on one screen.

Who: managers and superusers. Anyone else gets a 404, as for a page that does not exist for them.
`team`: one of the teams the viewer may open (a manager's own teams; any for a superuser), or
empty for the organisation; without the parameter a manager of exactly one team sees that team
and everyone else the organisation. A team out of reach is a 404.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kpis.dashboard import (
    DASHBOARD_PERIODS,
    DEFAULT_KPI,
    LEADERBOARD_CODES,
    TREND_CODES,
    Dashboard,
    Tile,
    dashboard_for,
    dashboard_teams,
)
from kpis.registry import REGISTRY, Period
from kpis.templatetags.kpis_ui import (
    format_kpi_value,
    format_percent,
    format_period_short,
    format_points,
    status_badge,
)
from people.models import Team, User

PERIOD_LABELS = {Period.WEEK: _("Week"), Period.MONTH: _("Month")}
MAX_ID = 2**63 - 1


class DashboardQueryForm(forms.Form):
    """`team` (an id, or empty for the organisation), `period` (week|month, default month),
    `date` (any day of the period, default today), `trend` and `rank` (KPI codes)."""

    team = forms.IntegerField(label=_("Team"), required=False, min_value=1, max_value=MAX_ID)
    period = forms.ChoiceField(
        label=_("Period"),
        choices=[(p.value, PERIOD_LABELS[p]) for p in DASHBOARD_PERIODS],
        required=False,
    )
    date = forms.DateField(label=_("Date"), required=False, input_formats=["%Y-%m-%d"])
    trend = forms.ChoiceField(
        label=_("Trend of"), choices=[(c, c) for c in TREND_CODES], required=False
    )
    rank = forms.ChoiceField(
        label=_("Rank by"), choices=[(c, c) for c in LEADERBOARD_CODES], required=False
    )

    def clean_period(self) -> str:
        return self.cleaned_data.get("period") or Period.MONTH.value

    def clean_trend(self) -> str:
        return self.cleaned_data.get("trend") or DEFAULT_KPI

    def clean_rank(self) -> str:
        return self.cleaned_data.get("rank") or DEFAULT_KPI


def _chosen_team(request: HttpRequest, teams: list[Team], team_id: int | None) -> Team | None:
    if "team" not in request.GET:
        manager = request.user.role == User.Role.MANAGER and not request.user.is_superuser
        return teams[0] if manager and len(teams) == 1 else None
    if team_id is None:
        return None  # `team=`: the organisation.
    team = next((t for t in teams if t.pk == team_id), None)
    if team is None:
        raise Http404
    return team


def chart_data(board: Dashboard) -> dict:
    """What static/js/dashboard.js draws, with every number already formatted for the locale."""
    kpi = board.trend_kpi
    ratio = kpi.is_ratio

    def plot(value) -> float | None:
        if value is None:
            return None
        return float(value) * 100 if ratio else float(value)

    return {
        "trend": {
            "label": str(kpi.name),
            "targetLabel": str(_("Target")),
            "unit": "%" if ratio else "",
            "labels": [format_period_short(p.period.period, p.period.start) for p in board.trend],
            "values": [plot(p.value) for p in board.trend],
            "targets": [plot(p.target) for p in board.trend],
            "valueText": [format_kpi_value(p.value, kpi) for p in board.trend],
            "targetText": [format_kpi_value(p.target, kpi) for p in board.trend],
        },
        "funnel": {
            "label": str(REGISTRY["stage_conversion"].name),
            "labels": [str(s.stage) for s in board.funnel],
            "values": [plot_percent(s.conversion) for s in board.funnel],
            "valueText": [format_percent(s.conversion) for s in board.funnel],
            "daysText": [format_kpi_value(s.days, "days_in_stage") for s in board.funnel],
            "daysLabel": str(REGISTRY["days_in_stage"].name),
        },
    }


ARROWS = {"up": "▲", "down": "▼", "flat": "="}


def tile_texts(tile: Tile) -> dict:
    """What a tile shows, formatted once here: 14 tiles through template filters and tags cost
    more than the rest of the page."""
    kpi = tile.kpi
    change = tile.change_abs
    words = {"up": gettext("Up"), "down": gettext("Down"), "flat": gettext("Unchanged")}
    texts = {
        "name": str(kpi.name),
        "help": str(kpi.help_text),
        "url": tile.records_url,
        "value": format_kpi_value(tile.value, kpi),
        "target": (
            f"{gettext('Target')} {format_kpi_value(tile.target, kpi)}"
            if tile.target is not None
            else ""
        ),
        "attainment": format_percent(tile.attainment) if tile.attainment is not None else "",
        "badge": status_badge(tile.status),
        "trend": tile.trend,
        "arrow": ARROWS.get(tile.trend, ""),
        "trend_word": words.get(tile.trend, ""),
        "change": (
            ""
            if not tile.trend or tile.trend == "flat"
            else format_points(change)
            if kpi.is_ratio
            else format_kpi_value(change, kpi)
        ),
        "change_css": ("better" if tile.better else "worse" if tile.better is False else ""),
        "pace": "",
    }
    if tile.pace is not None:
        on = tile.pace.on_pace
        pace = gettext("On pace") if on else gettext("Behind pace")
        if tile.pace.projection is not None:
            projection = format_kpi_value(tile.pace.projection, kpi)
            pace = f"{pace} · {gettext('proj.')} {projection}"
        texts |= {"pace": pace, "pace_css": "on-pace" if on else "off-pace",
                  "pace_icon": "✓" if on else "!"}  # fmt: skip
    return texts


def plot_percent(value) -> float | None:
    return None if value is None else round(float(value) * 100, 1)


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    viewer: User = request.user
    if not (viewer.is_superuser or viewer.role == User.Role.MANAGER):
        raise Http404
    form = DashboardQueryForm(request.GET)
    if not form.is_valid():
        return render(request, "kpis/dashboard_bad_request.html", {"form": form}, status=400)
    query = form.cleaned_data
    teams = list(dashboard_teams(viewer=viewer))
    team = _chosen_team(request, teams, query["team"])
    today = timezone.localdate()
    board = dashboard_for(
        viewer=viewer,
        team=team,
        period=query["period"],
        day=query["date"] or today,
        today=today,
        trend_kpi=query["trend"],
        leaderboard_kpi=query["rank"],
    )
    base = {
        "team": team.pk if team else "",
        "period": query["period"],
        "trend": query["trend"],
        "rank": query["rank"],
    }

    def link(**extra) -> str:
        return "?" + urlencode(base | extra)

    return render(
        request,
        "kpis/dashboard.html",
        {
            "form": form,
            "board": board,
            "teams": teams,
            "period": query["period"],
            "period_choices": form.fields["period"].choices,
            "trend_choices": [REGISTRY[c] for c in TREND_CODES],
            "rank_choices": [REGISTRY[c] for c in LEADERBOARD_CODES],
            "chart_data": chart_data(board),
            "tiles": [tile_texts(tile) for tile in board.tiles],
            "customer_tiles": [tile_texts(tile) for tile in board.customers],
            "previous_url": link(date=board.period.previous().start.isoformat()),
            "next_url": (
                link(date=board.period.end.isoformat()) if board.period.end <= today else None
            ),
            "current_url": link() if not board.is_current else None,
            "date_value": board.period.start.isoformat() if not board.is_current else "",
        },
    )
