"""KPI values as a table of rows with their targets: what `/api/v1/kpi-values/` and exports read.

`kpi_value_rows` lays out one row per KPI, scope member and period (plain values: a period without
data is a row whose value is null, so a client sees the target beside it), plus the dimension
rows that have data. `with_targets` adds target, attainment and status to the rows of one page.
Both make a constant number of queries, however many rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from kpis.formulas import FORMULAS, Ratio, Stored
from kpis.periods import period_containing
from kpis.registry import CODES, REGISTRY, Period
from kpis.selectors import Value, kpi_values
from kpis.targets import (
    RepLike,
    Status,
    attainment,
    attainment_status,
    target_for_org,
    targets_for_reps,
    targets_for_teams,
)

_ORDER = {code: index for index, code in enumerate(CODES)}


@dataclass(frozen=True)
class ValueRow:
    kpi: str
    scope: str
    rep: int | None
    team: int | None
    period: str
    period_start: dt.date
    dimension: str
    value: float | None
    numerator: float | None
    denominator: float | None
    target: Decimal | None = None
    attainment: Decimal | None = None
    status: Status | None = None
    # The latest recompute of the value (only when asked for: `kpi_value_rows(stamps=True)`).
    computed_at: dt.datetime | None = None


def period_starts(period: Period | str, start: dt.date, end: dt.date) -> list[dt.date]:
    """The first days of the periods overlapping the days `start`..`end` (both included)."""
    span = period_containing(period, start)
    starts = []
    while span.start <= end:
        starts.append(span.start)
        span = span.next()
    return starts


def has_plain_value(code: str, period: Period | str) -> bool:
    """Whether the KPI has a plain value ("" dimension) for this period type."""
    formula = FORMULAS[code]
    if isinstance(formula, Ratio):
        return formula.plain and Period(period) in formula.periods
    if isinstance(formula, Stored):
        return not REGISTRY[code].dimensions  # days_in_stage: per stage only
    return True


def _dimension_matches(key: str, wanted: str | None) -> bool:
    if wanted is None:
        return True
    if wanted == "" or ":" in wanted:
        return key == wanted
    return key.startswith(f"{wanted}:")


def kpi_value_rows(
    *,
    codes: Iterable[str],
    scope: str,
    members: Sequence[RepLike] | Sequence[int],
    period: Period | str,
    start: dt.date,
    end: dt.date,
    dimension: str | None = None,
    stamps: bool = False,
) -> list[ValueRow]:
    """Rows of `codes` for each member (reps for scope rep, team ids for team; ignored for org)
    and each period overlapping `start`..`end`, ordered by KPI (registry order), member, period
    and dimension; at most 4 queries. `dimension`: None every key, "" the plain value only, a
    family (`stage`) its keys, a key (`stage:won`) that key. `stamps`: each row's `computed_at`
    too (a MAX over every row summed: ask only for short windows)."""
    period = Period(period)
    codes = sorted(set(codes), key=_ORDER.__getitem__)
    starts = period_starts(period, start, end)
    if scope == "org":
        keys: dict[int, tuple[int | None, int | None]] = {0: (None, None)}
    elif scope == "team":
        keys = {team_id: (None, team_id) for team_id in members}
    else:
        keys = {rep.pk: (rep.pk, rep.team_id) for rep in members}
    if not keys or not codes:
        return []
    found: dict[tuple[str, int, dt.date, str], Value] = {
        (v.kpi, v.scope_id, v.period_start, v.dimension): v
        for v in kpi_values(
            codes=codes,
            scope=scope,
            period=period,
            start=starts[0],
            end=period_containing(period, starts[-1]).end,
            scope_ids=None if scope == "org" else list(keys),
            stamps=stamps,
            dimensions=dimension != "",
        )
        if v.scope_id in keys and _dimension_matches(v.dimension, dimension)
    }
    if _dimension_matches("", dimension):
        for code in codes:
            if not has_plain_value(code, period):
                continue
            for scope_id in keys:
                for day in starts:
                    found.setdefault(
                        (code, scope_id, day, ""),
                        Value(code, scope, scope_id, period, day, "", None, None, None, None),
                    )
    rows = []
    for (code, scope_id, day, key), value in found.items():
        rep, team = keys[scope_id]
        rows.append(
            ValueRow(
                kpi=code,
                scope=scope,
                rep=rep,
                team=team,
                period=period,
                period_start=day,
                dimension=key,
                value=value.value,
                numerator=value.numerator,
                denominator=value.denominator,
                computed_at=value.computed_at,
            )
        )
    rows.sort(key=lambda r: (_ORDER[r.kpi], r.rep or r.team or 0, r.period_start, r.dimension))
    return rows


def with_targets(rows: Sequence[ValueRow], *, reps: Sequence[RepLike] = ()) -> list[ValueRow]:
    """The rows with the target in force for each plain value, its attainment and status; at most
    2 queries. Rep rows need their `reps` (team and role decide which targets apply)."""
    plain = [row for row in rows if row.dimension == ""]
    if not plain:
        return list(rows)
    scope, period = plain[0].scope, plain[0].period
    codes = sorted({row.kpi for row in plain})
    starts = sorted({row.period_start for row in plain})
    if scope == "rep":
        wanted = {row.rep for row in plain}
        targets = targets_for_reps(
            reps=[rep for rep in reps if rep.pk in wanted],
            codes=codes,
            period=period,
            period_starts=starts,
        )
    elif scope == "team":
        targets = targets_for_teams(
            teams=sorted({row.team for row in plain}),
            codes=codes,
            period=period,
            period_starts=starts,
        )
    else:
        targets = {
            (0, code, day): value
            for (code, day), value in target_for_org(
                codes=codes, period=period, period_starts=starts
            ).items()
        }
    out = []
    for row in rows:
        if row.dimension != "":
            out.append(row)
            continue
        subject = row.rep if scope == "rep" else row.team if scope == "team" else 0
        target = targets.get((subject, row.kpi, row.period_start))
        reached = attainment(value=row.value, target=target, direction=REGISTRY[row.kpi].direction)
        out.append(
            replace(row, target=target, attainment=reached, status=attainment_status(reached))
        )
    return out
