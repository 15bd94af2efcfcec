"""Reads of KPI values for pages, the API and exports: a constant number of queries.

Additive KPIs and ratios of additive counters are summed at read time from the per-period rollups
(whole periods) or the daily ones (other ranges), one grouped query per rollup table; non-additive
ones are read from `KPIValue`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import DateField, F, Max, Sum
from django.db.models.functions import Trunc

from kpis.formulas import FORMULAS, Ratio, Stored
from kpis.formulas import Sum as SumFormula
from kpis.models import (
    COUNTER_FIELDS,
    KPIValue,
    RepDay,
    RepDayDimension,
    RepPeriod,
    RepPeriodDimension,
)
from kpis.periods import period_start
from kpis.registry import REGISTRY, Period
from people.models import User


class PeriodStart(Trunc):
    """The first day of the week/month/quarter/year containing a date column, as a date.

    On PostgreSQL `DATE_TRUNC` of a bare date casts it to `timestamptz` first, a time-zone
    conversion on every row grouped (a year of rep days: ~40 % of the statement); the date is a
    local day already, so it is truncated as a plain `timestamp` (the same first day).
    """

    def __init__(self, period: Period, expression: str) -> None:
        super().__init__(expression, Period(period).value, output_field=DateField())

    def as_postgresql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.lhs)
        return f"DATE_TRUNC(%s, ({sql})::timestamp)::date", (self.kind, *params)


# The per-period sums of each daily rollup (kpis/compute/period_rollups.py).
_PERIOD_SUMS = {RepDay: RepPeriod, RepDayDimension: RepPeriodDimension}

# How a scope groups the reps' rows: by rep, by the rep's current team, or all together.
_SCOPE_KEY = {"rep": "rep_id", "team": "rep__team_id", "org": None}


@dataclass(frozen=True)
class Value:
    kpi: str
    scope: str
    scope_id: int
    period: str
    period_start: dt.date
    dimension: str
    value: float | None
    numerator: float | None
    denominator: float | None
    computed_at: dt.datetime | None


def _as_date(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _aligned(period: Period, start: dt.date, end: dt.date) -> bool:
    """Whether `start` and `end` are period boundaries (the whole periods are read)."""
    return all(period_start(period, day) == day for day in (start, end))


def _grouped(
    model, *, scope: str, scope_ids, period: Period, start, end, extra=(), fields, stamps=True
):
    key = _SCOPE_KEY[scope]
    if _aligned(period, start, end):
        # Whole periods: their stored sums, one row per rep and period instead of every day.
        qs = _PERIOD_SUMS[model].objects.filter(
            period=period.value, period_start__gte=start, period_start__lt=end
        )
        starts = F("period_start")
    else:
        qs = model.objects.filter(day__gte=start, day__lt=end)
        starts = PeriodStart(period, "day")
    if key is not None and scope_ids is not None:
        qs = qs.filter(**{f"{key}__in": list(scope_ids)})
    if scope == "team":
        qs = qs.filter(rep__team__isnull=False)
        if scope_ids is not None:
            # The same rows, spelled so PostgreSQL walks the (rep, day) index per member instead
            # of scanning every rep's days for a few teams (one team of 30: ~50 ms → a few ms).
            members = User.objects.filter(team_id__in=list(scope_ids)).values("pk")
            qs = qs.filter(rep_id__in=members)
    group = {"period_start_": starts}
    if key is not None:
        group["scope_id_"] = F(key)
    sums = {f: Sum(f) for f in fields}
    if stamps:
        sums["computed_at_"] = Max("computed_at")
    return qs.order_by().annotate(**group).values(*group, *extra).annotate(**sums)


def kpi_values(
    *,
    codes: Iterable[str],
    scope: str,
    period: Period | str,
    start: dt.date,
    end: dt.date,
    scope_ids: Iterable[int] | None = None,
    stamps: bool = True,
    dimensions: bool = True,
) -> list[Value]:
    """Values of `codes` for each scope member and each period starting in `[start, end)`.

    A period with no data at all has no value (not zero); ratios with a zero denominator are None.
    `stamps=False`: no `computed_at` of summed values (None; the MAX costs time on every row).
    `dimensions=False`: no dimension rows of summed ratios (the plain values only).
    """
    period = Period(period)
    codes = list(codes)
    scope_ids = list(scope_ids) if scope_ids is not None else None
    formulas = {code: FORMULAS[code] for code in codes}
    out: list[Value] = []

    def make(code, sid, pstart, dim, num, den, scale, at):
        if isinstance(formulas[code], Ratio):
            value = None if not den else num / den * scale
        else:
            value = num * scale
        out.append(Value(code, scope, sid, period, pstart, dim, value, num, den, at))

    plain = [
        c
        for c, f in formulas.items()
        if isinstance(f, SumFormula) or (isinstance(f, Ratio) and f.plain and period in f.periods)
    ]
    quota: dict[tuple[int, dt.date], tuple[float, dt.datetime]] = {}
    if plain:
        # Only the counters these codes read: each SUM costs time on every row grouped.
        needed = {
            c
            for code in plain
            for c in (
                formulas[code].counters
                if isinstance(formulas[code], SumFormula)
                else (*formulas[code].numerator, *formulas[code].denominator)
            )
        }
        if "quota_attainment" in plain:
            needed.add("revenue_won")
        rows = _grouped(
            RepDay, scope=scope, scope_ids=scope_ids, period=period, start=start, end=end,
            fields=[c for c in COUNTER_FIELDS if c in needed], stamps=stamps,
        )  # fmt: skip
        for row in rows:
            sid, pstart, at = (
                row.get("scope_id_", 0),
                _as_date(row["period_start_"]),
                row.get("computed_at_"),
            )
            for code in plain:
                f = formulas[code]
                if isinstance(f, SumFormula):
                    make(
                        code,
                        sid,
                        pstart,
                        "",
                        float(sum(row[c] for c in f.counters)),
                        None,
                        f.scale,
                        at,
                    )
                elif f.denominator:
                    num = float(sum(row[c] for c in f.numerator))
                    den = float(sum(row[c] for c in f.denominator))
                    make(code, sid, pstart, "", num, den, f.scale, at)
                else:  # quota_attainment: the denominator is the revenue target
                    quota[(sid, pstart)] = (float(row["revenue_won"]), at)
        if quota:
            targets = _revenue_targets(scope, period, quota)
            for (sid, pstart), (revenue, at) in quota.items():
                target = targets.get((sid, pstart))
                make("quota_attainment", sid, pstart, "", revenue,
                     float(target) if target is not None else None, 1.0, at)  # fmt: skip

    dimensional = [
        c
        for c, f in formulas.items()
        if dimensions and isinstance(f, Ratio) and f.dimensional and period in f.periods
    ]
    if dimensional:
        counters = {
            c
            for code in dimensional
            for c in (*formulas[code].numerator, *formulas[code].denominator)
        }
        rows = _grouped(
            RepDayDimension,
            scope=scope, scope_ids=scope_ids, period=period, start=start, end=end,
            extra=("counter", "dimension"), fields=("value",), stamps=stamps,
        )  # fmt: skip
        rows = rows.filter(counter__in=counters)
        cells: dict[tuple, dict[str, float]] = defaultdict(dict)
        found_at: dict[tuple, dt.datetime] = {}
        for row in rows:
            key = (row.get("scope_id_", 0), _as_date(row["period_start_"]), row["dimension"])
            cells[key][row["counter"]] = float(row["value"])
            at = row.get("computed_at_")
            if at is not None:
                found_at[key] = max(found_at.get(key, at), at)
        for (sid, pstart, dim), sums in cells.items():
            for code in dimensional:
                f = formulas[code]
                num = sum(sums.get(c, 0.0) for c in f.numerator)
                den = sum(sums.get(c, 0.0) for c in f.denominator)
                if dim.split(":", 1)[0] in _dimension_families(code):
                    at = found_at.get((sid, pstart, dim))
                    make(code, sid, pstart, dim, num, den, f.scale, at)

    stored = [c for c, f in formulas.items() if isinstance(f, Stored)]
    if stored:
        qs = KPIValue.objects.filter(
            kpi__in=stored,
            scope=scope,
            period=period,
            period_start__gte=start,
            period_start__lt=end,
        )
        if scope_ids is not None:
            qs = qs.filter(scope_id__in=scope_ids)
        columns = ("kpi", "scope_id", "period_start", "dimension", "value", "numerator",
                   "denominator", "computed_at")  # fmt: skip
        out.extend(
            Value(kpi, scope, sid, period, pstart, dim, value, num, den, at)
            for kpi, sid, pstart, dim, value, num, den, at in qs.values_list(*columns)
        )
    return out


def _revenue_targets(scope: str, period: Period, quota: dict) -> dict:
    """The `revenue_won` target of each (scope id, period start) in `quota`: at most 3 queries."""
    from kpis import targets

    starts = sorted({start for _sid, start in quota})
    ids = sorted({sid for sid, _start in quota})
    codes = ["revenue_won"]
    if scope == "rep":
        reps = User.objects.filter(pk__in=ids).only("id", "team_id", "role")
        found = targets.targets_for_reps(
            reps=reps, codes=codes, period=period, period_starts=starts
        )
    elif scope == "team":
        found = targets.targets_for_teams(
            teams=ids, codes=codes, period=period, period_starts=starts
        )
    else:
        found = {
            (0, code, start): value
            for (code, start), value in targets.target_for_org(
                codes=codes, period=period, period_starts=starts
            ).items()
        }
    return {(sid, start): value for (sid, _code, start), value in found.items()}


def _dimension_families(code: str) -> tuple[str, ...]:
    return REGISTRY[code].dimensions
