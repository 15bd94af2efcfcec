"""The manager dashboard: a team's or the organisation's KPIs now, over time and against target.

`dashboard_for` reads everything the page shows in a constant number of queries: one
`kpi_value_rows` call for the team/org block (the last 12 periods of every KPI on the page, all
dimensions) plus its targets, one for the leaderboard (the reps' values of one KPI in the current
period) plus their targets, and the open stages.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from urllib.parse import urlencode

from django.db.models import Q, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from kpis.dashboard.content import (
    CUSTOMER_CODES,
    DEAL_SIZE_FAMILIES,
    DEFAULT_KPI,
    FUNNEL_CODES,
    LEADERBOARD_SIZE,
    TILE_CODES,
    TREND_CODES,
    TREND_PERIODS,
    Dashboard,
    DealSize,
    DealSizeGroup,
    FunnelStage,
    LeaderboardRow,
    LeaderRep,
    Tile,
    TrendPoint,
)
from kpis.periods import last_periods
from kpis.registry import REGISTRY, Direction, Period
from kpis.targets import SALES_ROLES, pace
from kpis.value_rows import ValueRow, kpi_value_rows, with_targets
from people.models import Team, User
from pipeline.models import LeadSource, Opportunity, Stage


def _leader_reps(reps: QuerySet[User]) -> list[LeaderRep]:
    rows = reps.values_list("pk", "team_id", "role", "first_name", "last_name", "username",
                            "team__name")  # fmt: skip
    return [
        # `AbstractUser.get_full_name() or username`, as `User.__str__`.
        LeaderRep(pk, team_id, role, f"{first} {last}".strip() or username, team or "")
        for pk, team_id, role, first, last, username, team in rows
    ]


def dashboard_teams(*, viewer: User) -> QuerySet[Team]:
    """The teams whose dashboard the viewer may open: every team for a superuser, the teams a
    manager manages; none for anyone else."""
    if viewer.is_superuser:
        return Team.objects.order_by("name")
    if viewer.role == User.Role.MANAGER:
        return Team.objects.filter(manager=viewer).order_by("name")
    return Team.objects.none()


def dashboard_reps(*, viewer: User, team: Team | None) -> QuerySet[User]:
    """The sales reps on the leaderboard: the team's; for the organisation every rep for a
    superuser, the reps of the teams a manager manages (a manager reads no other team's reps)."""
    reps = User.objects.filter(role__in=SALES_ROLES, is_active=True)
    if team is not None:
        reps = reps.filter(team=team)
    elif not viewer.is_superuser:
        reps = reps.filter(Q(team__manager=viewer))
    return reps.select_related("team").order_by("first_name", "last_name", "username")


def _records_base() -> str | None:
    try:
        return reverse("kpis:records")
    except NoReverseMatch:  # The drill-down page has not landed (yet).
        return None


def _dimension_label(key: str, stages: dict[str, Stage]) -> str:
    family, _sep, value = key.partition(":")
    if family == "lead_source":
        return str(LeadSource(value).label) if value in LeadSource.values else value
    if family == "channel":
        channels = Opportunity.Channel
        return str(channels(value).label) if value in channels.values else value
    if family == "customer_type":
        return _("New customer") if value == "new" else _("Existing customer")
    if family == "stage" and value in stages:
        return str(stages[value])
    return value


def _rank_key(direction: Direction):
    def key(item: tuple[LeaderRep, ValueRow | None]):
        rep, row = item
        value = row.value if row is not None else None
        if value is None:
            return (1, 0.0, str(rep))
        return (0, -value if direction is Direction.UP else value, str(rep))

    return key


def dashboard_for(
    *,
    viewer: User,
    team: Team | None,
    period: Period | str,
    day: dt.date,
    today: dt.date,
    trend_kpi: str = DEFAULT_KPI,
    leaderboard_kpi: str = DEFAULT_KPI,
) -> Dashboard:
    """The dashboard of `team` (None: the organisation) for the period containing `day`: tiles
    with target, attainment, status, pace and change; the 12-period trend of `trend_kpi` with its
    target; the top reps by `leaderboard_kpi`; the funnel; deal size by lead source, customer type
    and channel; churn and repeat purchase. At most 17 queries."""
    period = Period(period)
    periods = last_periods(period, day, TREND_PERIODS)
    current = periods[-1]
    previous = periods[-2]
    scope = "team" if team is not None else "org"
    members = [team.pk] if team is not None else []
    scope_id = team.pk if team is not None else 0
    records = _records_base()

    # ~40 links a page: the fixed part encoded once.
    whose = urlencode({"scope": scope, **({"id": scope_id} if team is not None else {})})

    def records_url(
        code: str, start: dt.date, dimension: str = "", rep: int | None = None
    ) -> str | None:
        if records is None:
            return None
        who = f"scope=rep&id={rep}" if rep is not None else whose
        url = f"{records}?{who}&kpi={code}&period={period.value}&start={start.isoformat()}"
        return f"{url}&{urlencode({'dimension': dimension})}" if dimension else url

    # --- The team/org block: one kpi_value_rows call, one targets lookup -------------------
    # The current and previous period of everything (all dimensions), and the trend KPI's
    # plain value over the 12 periods: the long window only for the one KPI charted.
    now_rows = kpi_value_rows(
        codes={*TILE_CODES, *CUSTOMER_CODES, *FUNNEL_CODES},
        scope=scope,
        members=members,
        period=period,
        start=previous.start,
        end=current.start,
        stamps=True,  # Two periods: "computed at" of the values shown.
    )
    # A trend KPI of the tiles has its last two periods in `now_rows` already (for the
    # organisation each period read is every rep's days, the page's costliest statement).
    in_now = trend_kpi in TREND_CODES
    trend_rows = kpi_value_rows(
        codes=[trend_kpi],
        scope=scope,
        members=members,
        period=period,
        start=periods[0].start,
        end=periods[-3].start if in_now else current.start,
        dimension="",
    )
    # Targets only where the page shows them: the current period's tiles, and the trend line
    # (two lookups: targets resolve per code × period start, and the two sets barely overlap).
    tiles_now = [r for r in now_rows if r.dimension == "" and r.period_start == current.start]
    trend_before = [r for r in trend_rows if r.period_start != current.start]
    if in_now:
        trend_before += [
            r
            for r in now_rows
            if r.kpi == trend_kpi and r.dimension == "" and r.period_start == previous.start
        ]
    targeted = {id(row) for row in tiles_now}
    # Rows with their targets last: they replace the same period's row without one.
    rows = [
        *(row for row in now_rows if id(row) not in targeted),
        *with_targets(trend_before),
        *with_targets(tiles_now),
    ]
    plain: dict[tuple[str, dt.date], ValueRow] = {}
    dims: dict[tuple[str, dt.date], dict[str, ValueRow]] = defaultdict(dict)
    for row in rows:
        if row.dimension == "":
            plain[(row.kpi, row.period_start)] = row
        else:
            dims[(row.kpi, row.period_start)][row.dimension] = row

    def tile(code: str) -> Tile:
        now = plain.get((code, current.start))
        before = plain.get((code, previous.start))
        value = now.value if now else None
        target = now.target if now else None
        return Tile(
            kpi=REGISTRY[code],
            value=value,
            target=target,
            attainment=now.attainment if now else None,
            status=now.status if now else None,
            pace=pace(code=code, value=value, target=target, period=current, today=today),
            previous=before.value if before else None,
            records_url=records_url(code, current.start),
        )

    trend = tuple(
        TrendPoint(
            period=span,
            value=(found := plain.get((trend_kpi, span.start))) and found.value,
            target=found.target if found else None,
        )
        for span in periods
    )

    # --- Funnel: stage conversion and days in stage per open stage ---------------------------
    stages = list(Stage.objects.order_by("order"))
    by_slug = {stage.slug: stage for stage in stages}
    conversion = dims.get(("stage_conversion", current.start), {})
    days = dims.get(("days_in_stage", current.start), {})
    funnel = tuple(
        FunnelStage(
            stage=stage,
            conversion=(c := conversion.get(key)) and c.value,
            entries_exited=c.denominator if c else None,
            days=(d := days.get(key)) and d.value,
            conversion_url=records_url("stage_conversion", current.start, key),
            days_url=records_url("days_in_stage", current.start, key),
        )
        for stage in stages
        if stage.is_open
        for key in [f"stage:{stage.slug}"]
    )

    # --- Average deal size by dimension in the period: Σ revenue / Σ deals -------------------
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for key, row in dims.get(("avg_deal_size", current.start), {}).items():
        sums[key][0] += row.numerator or 0.0
        sums[key][1] += row.denominator or 0.0
    groups = []
    for family in DEAL_SIZE_FAMILIES:
        found = {
            key: (revenue, deals)
            for key, (revenue, deals) in sums.items()
            if key.startswith(f"{family}:") and deals
        }
        largest = max((revenue / deals for revenue, deals in found.values()), default=0.0)
        items = sorted(
            (
                DealSize(
                    key=key,
                    label=_dimension_label(key, by_slug),
                    value=revenue / deals,
                    revenue=revenue,
                    deals=deals,
                    share=(revenue / deals) / largest if largest else 0.0,
                    records_url=records_url("avg_deal_size", current.start, key),
                )
                for key, (revenue, deals) in found.items()
            ),
            key=lambda item: (-(item.value or 0), -item.deals, item.label),
        )
        groups.append(DealSizeGroup(family, _family_title(family), tuple(items)))

    # --- Leaderboard: the reps' values of one KPI in the current period ----------------------
    reps = _leader_reps(dashboard_reps(viewer=viewer, team=team))
    rep_rows = with_targets(
        kpi_value_rows(
            codes=[leaderboard_kpi],
            scope="rep",
            members=reps,
            period=period,
            start=current.start,
            end=current.start,
            dimension="",
        ),
        reps=reps,
    )
    by_rep = {row.rep: row for row in rep_rows if row.period_start == current.start}
    ranked = sorted(
        ((rep, by_rep.get(rep.pk)) for rep in reps),
        key=_rank_key(REGISTRY[leaderboard_kpi].direction),
    )
    leaderboard = tuple(
        LeaderboardRow(
            rank=index,
            rep=rep,
            value=row.value if row else None,
            target=row.target if row else None,
            status=row.status if row else None,
            records_url=records_url(leaderboard_kpi, current.start, rep=rep.pk),
        )
        for index, (rep, row) in enumerate(ranked[:LEADERBOARD_SIZE], start=1)
    )

    return Dashboard(
        scope=scope,
        team=team,
        period=current,
        today=today,
        tiles=tuple(tile(code) for code in TILE_CODES),
        customers=tuple(tile(code) for code in CUSTOMER_CODES),
        trend_kpi=REGISTRY[trend_kpi],
        trend=trend,
        leaderboard_kpi=REGISTRY[leaderboard_kpi],
        leaderboard=leaderboard,
        leaderboard_reps=len(reps),
        funnel=funnel,
        deal_sizes=tuple(groups),
        window_start=periods[0],
        computed_at=max(
            (r.computed_at for r in now_rows if r.period_start == current.start and r.computed_at),
            default=None,
        ),
    )


def _family_title(family: str) -> str:
    return {
        "lead_source": _("By lead source"),
        "customer_type": _("New or existing customer"),
        "channel": _("By channel"),
    }[family]
