"""The entry points, `records` and `records_split`: the request checked, then its rows."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
from django.utils import timezone

from kpis.drilldown.counters import _ratio_rows, _sum_rows
from kpis.drilldown.request import PARTS, SCOPES, SHOWN, Part, _Request, _Rows
from kpis.drilldown.stored import _DIMENSION_ONLY, _STORED
from kpis.formulas import FORMULAS, Ratio
from kpis.formulas import Sum as SumFormula
from kpis.periods import period_containing
from kpis.registry import REGISTRY, Period


def _validate(code: str, scope: str, dimension: str, part: str) -> None:
    if code not in REGISTRY:
        raise ValueError(f"Unknown KPI code {code!r}")
    if scope not in SCOPES:
        raise ValueError(f"Unknown scope {scope!r}: use one of {', '.join(SCOPES)}")
    if part not in PARTS:
        raise ValueError(f"Unknown part {part!r}: use one of {', '.join(PARTS)}")
    formula, families = FORMULAS[code], REGISTRY[code].dimensions
    if not dimension:
        no_plain = (isinstance(formula, Ratio) and not formula.plain) or code in _DIMENSION_ONLY
        if no_plain:
            raise ValueError(f"{code} exists only per dimension ({', '.join(families)}:<value>)")
        return
    prefix, _colon, value = dimension.partition(":")
    if prefix not in families or not value:
        allowed = ", ".join(f"{f}:<value>" for f in families) or "none"
        raise ValueError(f"Unknown dimension {dimension!r} for {code} (allowed: {allowed})")


def _rows(
    *,
    code: str,
    scope: str,
    scope_id: int,
    period: Period | str,
    period_start: dt.date,
    dimension: str,
    now: dt.datetime | None,
    part: str,
) -> _Rows:
    _validate(code, scope, dimension, part)
    now = now or timezone.now()
    if timezone.is_naive(now):
        raise ValueError("`now` must be an aware datetime.")
    req = _Request(code, scope, scope_id, period_containing(period, period_start), dimension, now)
    formula = FORMULAS[code]
    if isinstance(formula, SumFormula):
        return _sum_rows(req, formula)
    if isinstance(formula, Ratio):
        return _ratio_rows(req, formula)
    return _STORED[code](req)


def _shown(qs: QuerySet) -> QuerySet:
    return qs.select_related(*SHOWN[qs.model])


def records(
    *,
    code: str,
    scope: str,
    scope_id: int,
    period: Period | str,
    period_start: dt.date,
    dimension: str = "",
    now: dt.datetime | None = None,
    part: Part = "all",
) -> QuerySet:
    """The source rows counted for the value of `code` for the scope in the period containing
    `period_start` (for a ratio: see the package docstring; `part` narrows to one side)."""
    rows = _rows(code=code, scope=scope, scope_id=scope_id, period=period,
                 period_start=period_start, dimension=dimension, now=now, part=part)  # fmt: skip
    if part == "all":
        return _shown(rows.all)
    if not rows.ratio:
        raise ValueError(f"{code} is not a ratio: it has no {part}")
    side = rows.numerator if part == "numerator" else rows.denominator
    if side is None:
        raise ValueError(f"The {part} of {code} is a target, not rows")
    return _shown(side)


def records_split(
    *,
    code: str,
    scope: str,
    scope_id: int,
    period: Period | str,
    period_start: dt.date,
    dimension: str = "",
    now: dt.datetime | None = None,
) -> tuple[QuerySet, QuerySet | None]:
    """`records(…)` and the part of them in the numerator (None when the KPI is not a ratio), so a
    page can highlight the numerator's rows among the records."""
    rows = _rows(code=code, scope=scope, scope_id=scope_id, period=period,
                 period_start=period_start, dimension=dimension, now=now, part="all")  # fmt: skip
    numerator = _shown(rows.numerator) if rows.ratio and rows.numerator is not None else None
    return _shown(rows.all), numerator
