"""Reads of the team comparison: which teams a viewer may compare, the default role, and the
prepared page (`team_comparison`) in a constant number of queries."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from collections.abc import Callable
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse

from kpis.funnel import below_team
from kpis.periods import PeriodRange, period_containing
from kpis.registry import KPI, REGISTRY, Direction, Period
from kpis.scorecards import scorecard_codes
from kpis.targets import SALES_ROLES
from kpis.team_comparison.rows import (
    PAY_DERIVED,
    Cell,
    Column,
    FunnelCell,
    RepRow,
    TeamComparison,
    best_first,
)
from kpis.value_rows import ValueRow, kpi_value_rows, with_targets
from people.models import Team, User
from pipeline.models import Stage

FUNNEL_CODES = ("stage_conversion", "days_in_stage")
RecordsUrl = Callable[..., "str | None"]


def team_choices(*, viewer: User) -> QuerySet[Team]:
    """The teams the viewer may compare: all for a superuser, the ones a manager manages, a
    rep's own team; nothing for anyone else."""
    if viewer.is_superuser:
        return Team.objects.order_by("name")
    if viewer.role == User.Role.MANAGER:
        return Team.objects.filter(manager=viewer).order_by("name")
    if viewer.team_id is not None:
        return Team.objects.filter(pk=viewer.team_id)
    return Team.objects.none()


def default_role(counts: dict[str, int], fallback: str) -> str:
    """The team's most common sales role (ties: SDR, AE, AM order); `fallback` without reps."""
    if not counts:
        return fallback if fallback in SALES_ROLES else "ae"
    return max(SALES_ROLES, key=lambda role: (counts.get(role, 0), -SALES_ROLES.index(role)))


def team_role_counts(*, team: Team) -> dict[str, int]:
    """How many active reps of each sales role the team has; one query."""
    roles = User.objects.filter(team=team, is_active=True, role__in=SALES_ROLES).values_list(
        "role", flat=True
    )
    return dict(Counter(roles))


def _records_link(span: PeriodRange) -> RecordsUrl:
    """A builder of drill-down URLs (`kpis:records`) for the period; None before that page
    exists."""
    try:
        base = reverse("kpis:records")
    except NoReverseMatch:
        base = None

    def url(code: str, scope: str, scope_id: int, dimension: str = "") -> str | None:
        if base is None:
            return None
        params = {"scope": scope, "id": scope_id, "kpi": code, "period": span.period.value}
        params["start"] = span.start.isoformat()
        if dimension:
            params["dimension"] = dimension
        return f"{base}?{urlencode(params)}"

    return url


def _versus(value: float | None, median: float | None, kpi: KPI) -> tuple[str | None, bool | None]:
    """Where a value stands against the median, and whether that is better (direction-aware)."""
    if value is None or median is None:
        return None, None
    if value == median:
        return "equal", None
    above = value > median
    return ("above" if above else "below"), above == (kpi.direction is Direction.UP)


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _sort_rows(rows: list[RepRow], code: str, descending: bool) -> list[RepRow]:
    def key(row: RepRow):
        cell = row.cell(code)
        value = None if cell is None or cell.hidden else cell.value
        name = str(row.rep).casefold()
        if value is None:
            return (1, 0.0, name)  # No value: last, whichever the direction.
        return (0, -value if descending else value, name)

    return sorted(rows, key=key)


def _parse_sort(sort: str, visible: list[KPI]) -> tuple[str, str, bool]:
    """(sort, code, descending): `sort` if it names a visible KPI, else the first one best first."""
    code = sort.lstrip("-")
    if code not in {k.code for k in visible}:
        sort = best_first(visible[0])
        code = sort.lstrip("-")
    return sort, code, sort.startswith("-")


def _columns(kpis: list[KPI], code: str, descending: bool, sees_pay: bool) -> tuple[Column, ...]:
    columns = []
    for kpi in kpis:
        if kpi.code == code:
            state = "descending" if descending else "ascending"
            next_sort = kpi.code if descending else f"-{kpi.code}"
        else:
            state, next_sort = "none", best_first(kpi)
        sortable = sees_pay or kpi.code not in PAY_DERIVED
        columns.append(Column(kpi=kpi, sorted=state, next_sort=next_sort, sortable=sortable))
    return tuple(columns)


def _cell(
    kpi: KPI, row: ValueRow | None, *, median: float | None, url: str | None, compare: bool
) -> Cell:
    """A value with its target status; without a target (and `compare`), against the median."""
    value = row.value if row else None
    status = row.status if row else None
    versus, better = _versus(value, median, kpi) if compare and status is None else (None, None)
    return Cell(
        kpi=kpi,
        value=value,
        target=row.target if row else None,
        attainment=row.attainment if row else None,
        status=status,
        versus_median=versus,
        better=better,
        records_url=url if value is not None else None,  # Nothing to drill into.
    )


def _funnel(
    stages: tuple[Stage, ...],
    get: Callable[[str, str], ValueRow | None],
    url: Callable[[str, str], str | None] | None,
    team: Callable[[str], ValueRow | None] | None = None,
) -> tuple[FunnelCell, ...]:
    """Conversion and days per stage; with `team`, the flag where the rep converts
    significantly worse than the rest of the team (`kpis.funnel.below_team`)."""
    cells = []
    for stage in stages:
        key = f"stage:{stage.slug}"
        conv, days = get("stage_conversion", key), get("days_in_stage", key)
        flag = None
        if team is not None and conv is not None:
            whole = team(key)
            flag = below_team(
                rep_forward=conv.numerator,
                rep_exits=conv.denominator,
                team_forward=whole.numerator if whole else None,
                team_exits=whole.denominator if whole else None,
            )
        cells.append(
            FunnelCell(
                stage=stage,
                conversion=conv.value if conv else None,
                forward=conv.numerator if conv else None,
                exits=conv.denominator if conv else None,
                days=days.value if days else None,
                flag=flag,
                conversion_url=url("stage_conversion", key) if url and conv else None,
                days_url=url("days_in_stage", key) if url and days else None,
            )
        )
    return tuple(cells)


def team_comparison(
    *,
    viewer: User,
    team: Team,
    role: str,
    period: Period | str,
    day: dt.date,
    today: dt.date,
    sort: str = "",
    chart_kpi: str = "",
    role_counts: dict[str, int] | None = None,
) -> TeamComparison:
    """The active reps of `role` in `team` on the role's scorecard KPIs for the period containing
    `day`, sorted by `sort` (a KPI code, `-code` descending; default the first KPI, best first),
    with the team's value, the reps' median, the chart of `chart_kpi` (default the sort KPI) and
    the funnel; pay-derived values of others hidden unless the viewer manages the team (or is a
    superuser). At most 15 queries."""
    span = period_containing(period, day)
    manages = viewer.is_superuser or team.manager_id == viewer.pk
    kpis = [REGISTRY[code] for code in scorecard_codes(role=role)]
    visible = [k for k in kpis if manages or k.code not in PAY_DERIVED]
    sort, sort_code, descending = _parse_sort(sort, visible or kpis)
    if chart_kpi not in {k.code for k in visible}:
        chart_kpi = sort_code
    reps = list(
        User.objects.filter(team=team, role=role, is_active=True)
        .select_related("team")
        .order_by("first_name", "last_name", "username")
    )
    if role_counts is None:
        role_counts = team_role_counts(team=team)
    url = _records_link(span)

    codes = {k.code for k in kpis} | set(FUNNEL_CODES)
    read = {"codes": codes, "period": span.period, "start": span.start, "end": span.start}
    by_rep = {
        (row.rep, row.kpi, row.dimension): row
        for row in with_targets(kpi_value_rows(scope="rep", members=reps, **read), reps=reps)
    }
    by_team = {
        (row.kpi, row.dimension): row
        for row in with_targets(kpi_value_rows(scope="team", members=[team.pk], **read))
    }

    def may_see(rep: User, kpi: KPI) -> bool:
        return manages or kpi.code not in PAY_DERIVED or rep.pk == viewer.pk

    medians = {
        k.code: _median([(row := by_rep.get((rep.pk, k.code, ""))) and row.value for rep in reps])
        if manages or k.code not in PAY_DERIVED
        else None
        for k in kpis
    }
    stages = tuple(s for s in Stage.objects.order_by("order") if s.is_open)

    rows = []
    for rep in reps:
        # Drill-down: a manager into every rep, a rep into their own numbers only.
        linked = manages or rep.pk == viewer.pk
        cells = tuple(
            _cell(
                kpi,
                by_rep.get((rep.pk, kpi.code, "")),
                median=medians[kpi.code],
                url=url(kpi.code, "rep", rep.pk) if linked else None,
                compare=True,
            )
            if may_see(rep, kpi)
            else Cell(kpi=kpi, value=None, hidden=True)
            for kpi in kpis
        )
        funnel = _funnel(
            stages,
            lambda code, key, rep=rep: by_rep.get((rep.pk, code, key)),
            (lambda code, key, rep=rep: url(code, "rep", rep.pk, key)) if linked else None,
            team=lambda key: by_team.get(("stage_conversion", key)),
        )
        rows.append(RepRow(rep=rep, cells=cells, funnel=funnel, is_viewer=rep.pk == viewer.pk))

    team_pay_hidden = not manages
    team_cells = tuple(
        Cell(kpi=kpi, value=None, hidden=True)
        if team_pay_hidden and kpi.code in PAY_DERIVED
        else _cell(
            kpi,
            by_team.get((kpi.code, "")),
            median=None,
            url=url(kpi.code, "team", team.pk),
            compare=False,
        )
        for kpi in kpis
    )
    median_cells = tuple(
        Cell(kpi=kpi, value=medians[kpi.code], hidden=team_pay_hidden and kpi.code in PAY_DERIVED)
        for kpi in kpis
    )
    return TeamComparison(
        team=team,
        role=role,
        role_counts=role_counts,
        period=span,
        today=today,
        columns=_columns(kpis, sort_code, descending, manages),
        sort=sort,
        rows=tuple(_sort_rows(rows, sort_code, descending)),
        team_cells=team_cells,
        median_cells=median_cells,
        chart_kpi=REGISTRY[chart_kpi],
        chart_choices=tuple(visible),
        stages=stages,
        team_funnel=_funnel(
            stages,
            lambda code, key: by_team.get((code, key)),
            lambda code, key: url(code, "team", team.pk, key),
        ),
        sees_pay=manages,
    )
