"""The scorecard page: a rep's scorecard with its history, the team median and the rep's rank.

Wraps `kpis.scorecards` (value, target, attainment, status, pace) and adds what the page shows
beside each KPI: the last 12 periods (sparkline), the median of the rep's peers and the rep's rank
among them. Peers are the members of the rep's team with the same role, the rep included (a rep
without a team has neither median nor rank). One `kpi_values` read covers the 12 periods of
every peer, so the page makes a constant number of queries whatever the team size or preset.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from kpis.periods import PeriodRange, last_periods, period_containing
from kpis.registry import KPI, Category, Direction, Kind, Period
from kpis.scorecards import Scorecard, ScorecardLine, scorecard_codes, scorecard_groups
from kpis.selectors import Value, kpi_values
from kpis.targets import SALES_ROLES, targets_for_reps
from kpis.value_rows import has_plain_value
from people.models import User

HISTORY_PERIODS = 12

CATEGORY_LABELS = {
    Category.ACTIVITY: _("Activity"),
    Category.EFFICIENCY: _("Efficiency"),
    Category.PROGRESS: _("Progress"),
    Category.RESULT: _("Results"),
}
KIND_LABELS = {
    Kind.LEADING: _("Leading indicators"),
    Kind.LAGGING: _("Lagging indicators"),
}


@dataclass(frozen=True)
class PageLine:
    """A scorecard line with what the page adds: history, peers' median, rank, drill-down."""

    line: ScorecardLine
    # The rep's value in each of the last 12 periods, oldest first (None: no data).
    history: tuple[float | None, ...]
    # The rep's target in each of those periods (None: no target).
    target_history: tuple[Decimal | None, ...]
    team_median: float | None
    # 1 = best; None when the rep has no value. `ranked`: peers with a value.
    rank: int | None
    ranked: int
    # The query string of the drill-down page (None: no plain value to drill into).
    records_query: str | None

    @property
    def kpi(self) -> KPI:
        return self.line.kpi

    @property
    def history_last(self) -> float | None:
        return self.history[-1] if self.history else None

    @property
    def history_first(self) -> float | None:
        return self.history[0] if self.history else None


@dataclass(frozen=True)
class PageGroup:
    category: Category
    lines: tuple[PageLine, ...]

    @property
    def label(self) -> str:
        return str(CATEGORY_LABELS[self.category])

    @property
    def kind(self) -> Kind:
        return self.lines[0].kpi.kind

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS[self.kind])


@dataclass(frozen=True)
class ScorecardPage:
    card: Scorecard
    groups: tuple[PageGroup, ...]
    # The 12 periods of the sparklines, oldest first (the last is the period shown).
    periods: tuple[PeriodRange, ...]
    # The latest recompute of the values shown (None: nothing computed for the period yet).
    computed_at: dt.datetime | None
    peers: int

    @property
    def rep(self) -> User:
        return self.card.rep

    @property
    def period(self) -> PeriodRange:
        return self.card.period

    @property
    def lines(self) -> tuple[PageLine, ...]:
        return tuple(line for group in self.groups for line in group.lines)

    def chart_data(self) -> dict:
        """What static/js/scorecard.js draws: the period starts and each KPI's history."""
        return {
            "periods": [p.start.isoformat() for p in self.periods],
            "series": {
                line.kpi.code: {
                    "values": list(line.history),
                    "targets": [None if t is None else float(t) for t in line.target_history],
                    "ratio": line.kpi.is_ratio,
                }
                for line in self.lines
            },
        }


def scorecard_reps(*, viewer: User) -> QuerySet[User]:
    """The reps whose scorecard `viewer` may open, by team and name: a superuser every sales rep,
    a manager the sales reps of the teams they manage, a rep themselves."""
    reps = User.objects.filter(role__in=SALES_ROLES).select_related("team")
    if viewer.is_superuser:
        pass
    elif viewer.role == User.Role.MANAGER:
        reps = reps.filter(team__manager=viewer)
    else:
        reps = reps.filter(pk=viewer.pk)
    return reps.order_by("team__name", "first_name", "last_name", "username")


def records_query(
    *, scope: str, scope_id: int | None, code: str, period: PeriodRange, dimension: str = ""
) -> str:
    """The query string of the drill-down page (`kpis:records`) for one value."""
    params = {"scope": scope}
    if scope_id is not None and scope != "org":
        params["id"] = str(scope_id)
    params |= {"kpi": code, "period": period.period.value, "start": period.start.isoformat()}
    if dimension:
        params["dimension"] = dimension
    return urlencode(params)


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _rank(mine: float | None, values: list[float], direction: Direction) -> int | None:
    """1 + the number of peers strictly better (ties share a rank); lower is better for `down`."""
    if mine is None:
        return None
    if direction is Direction.DOWN:
        return 1 + sum(1 for v in values if v < mine)
    return 1 + sum(1 for v in values if v > mine)


def scorecard_page(
    *, rep: User, period: Period | str, day: dt.date, today: dt.date
) -> ScorecardPage:
    """The rep's scorecard for the period containing `day` with 12 periods of history, the peers'
    median and the rep's rank per KPI; at most 8 queries."""
    span = period_containing(period, day)
    periods = tuple(last_periods(span.period, span.start, HISTORY_PERIODS))
    codes = scorecard_codes(role=rep.role)
    if rep.team_id is not None:
        peers = list(User.objects.filter(team_id=rep.team_id, role=rep.role).only("id"))
    else:
        peers = []
    peer_ids = sorted({p.pk for p in peers} | {rep.pk})
    found: dict[tuple[str, int, dt.date], Value] = {}
    if codes:
        for v in kpi_values(
            codes=codes,
            scope="rep",
            period=span.period,
            start=periods[0].start,
            end=span.end,
            scope_ids=peer_ids,
            dimensions=False,  # The scorecard shows plain values only.
        ):
            if v.dimension == "":
                found[(v.kpi, v.scope_id, v.period_start)] = v
    targets = targets_for_reps(
        reps=[rep], codes=codes, period=span.period, period_starts=[p.start for p in periods]
    )
    current = {code: found[key] for code in codes if (key := (code, rep.pk, span.start)) in found}
    groups = scorecard_groups(
        rep=rep, span=span, codes=codes, values=current, targets=targets, today=today
    )
    card = Scorecard(rep=rep, period=span, day=day, today=today, groups=groups)
    # Read once: the rep is often `request.user`, a lazy object, and each line reads them.
    rep_id, has_team = rep.pk, rep.team_id is not None

    def page_line(line: ScorecardLine) -> PageLine:
        code = line.kpi.code
        values = [
            v.value
            for peer in peer_ids
            if (v := found.get((code, peer, span.start))) is not None and v.value is not None
        ]
        # No team, no peers: neither a median nor a rank.
        rank = _rank(line.value, values, line.kpi.direction) if has_team else None
        history = tuple(
            v.value if (v := found.get((code, rep_id, p.start))) is not None else None
            for p in periods
        )
        drillable = has_plain_value(code, span.period)
        return PageLine(
            line=line,
            history=history,
            target_history=tuple(targets.get((rep_id, code, p.start)) for p in periods),
            team_median=_median(values) if has_team else None,
            rank=rank,
            ranked=len(values),
            records_query=records_query(scope="rep", scope_id=rep_id, code=code, period=span)
            if drillable
            else None,
        )

    stamps = [v.computed_at for v in current.values() if v.computed_at is not None]
    return ScorecardPage(
        card=card,
        groups=tuple(
            PageGroup(group.category, tuple(page_line(line) for line in group.lines))
            for group in groups
        ),
        periods=periods,
        computed_at=max(stamps) if stamps else None,
        peers=len(peer_ids),
    )


def scorecard_export_rows(page: ScorecardPage) -> list[list]:
    """The scorecard as shown, one row per KPI: code, name, category, value, target, attainment,
    status, team median, rank ("2 / 7")."""
    rows = []
    for line in page.lines:
        item = line.line
        rows.append(
            [
                line.kpi.code,
                str(line.kpi.name),
                line.kpi.category.value,
                item.value,
                item.target,
                None if item.attainment is None else round(item.attainment, 4),
                item.status.value if item.status is not None else None,
                line.team_median,
                f"{line.rank} / {line.ranked}" if line.rank is not None else None,
            ]
        )
    return rows


EXPORT_HEADER = (
    "kpi",
    "name",
    "category",
    "value",
    "target",
    "attainment",
    "status",
    "team_median",
    "rank",
)
