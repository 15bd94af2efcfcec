"""Rows of the additive KPIs and ratios: the daily families' own definitions, scoped, in period."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import reduce
from operator import or_

from django.db.models import Q, QuerySet, Value

from kpis.compute.daily import (
    COUNTER_FAMILY,
    DIMENSION_FAMILIES,
    Counter,
    DimensionFamily,
    Family,
)
from kpis.drilldown.request import _Request, _Rows
from kpis.formulas import Ratio
from kpis.formulas import Sum as SumFormula


def _any(conditions: Iterable[Q]) -> Q:
    """Rows meeting any of the conditions; an empty Q (every row) absorbs the rest."""
    conditions = list(conditions)
    if not conditions or any(not c for c in conditions):
        return Q()
    return reduce(or_, conditions)


def _counter(name: str) -> Counter:
    """The declaration of a daily counter (its `where`, `sum_of`)."""
    return COUNTER_FAMILY[name].counters()[name]


def _family_of(counters: Sequence[str]) -> Family | None:
    """The one daily family holding all `counters`, or None when they span families."""
    names = {COUNTER_FAMILY[c].name for c in counters}
    return COUNTER_FAMILY[counters[0]] if len(names) == 1 else None


def _key_prefix(family: DimensionFamily) -> str:
    """The literal its keys start with, read from its SQL expression: "stage" for `stage:<slug>`."""
    expression = family.dimension()
    while not isinstance(expression, Value):
        expression = expression.get_source_expressions()[0]
    return str(expression.value).removesuffix(":")


def _dimension_family(prefix: str, counters: Iterable[str]) -> DimensionFamily:
    for family in DIMENSION_FAMILIES:
        if _key_prefix(family) == prefix and set(counters) <= set(family.counters()):
            return family
    raise ValueError(f"No dimension family computes {prefix!r} keys")  # pragma: no cover


def _family_rows(
    req: _Request, counters: Sequence[str]
) -> tuple[QuerySet, dict[str, Counter]] | None:
    """The scoped, in-period rows of the family computing `counters` (None: several families)."""
    if req.dimension:
        dim_family = _dimension_family(req.dimension.split(":", 1)[0], counters)
        qs = (
            dim_family.queryset()
            .annotate(dimension_=dim_family.dimension())
            .filter(dimension_=req.dimension)
        )
        qs = req.in_period(req.scoped(qs, dim_family.rep), dim_family.day)
        return qs, dim_family.counters()
    family = _family_of(counters)
    if family is None:
        return None
    qs = req.in_period(req.scoped(family.queryset(), family.rep), family.day)
    return qs, family.counters()


def _counted(req: _Request, counters: Sequence[str]) -> QuerySet:
    """The rows counted (or summed) by any of `counters`, which share one family."""
    found = _family_rows(req, counters)
    assert found is not None, counters
    qs, defined = found
    return qs.filter(_any(defined[c].where for c in counters))


def _sum_rows(req: _Request, formula: SumFormula) -> _Rows:
    return _Rows(_counted(req, formula.counters))


def _ratio_rows(req: _Request, formula: Ratio) -> _Rows:
    if req.range.period not in formula.periods:
        raise ValueError(f"{req.code} is not defined for {req.range.period.value} periods")
    num, den = formula.numerator, formula.denominator
    same = _family_rows(req, (*num, *den)) if den else None
    if same is not None:
        qs, defined = same
        rows = qs.filter(_any(defined[c].where for c in (*num, *den)))
        return _Rows(
            rows,
            numerator=rows.filter(_any(defined[c].where for c in num)),
            denominator=rows.filter(_any(defined[c].where for c in den)),
            ratio=True,
        )
    rows = _counted(req, num)
    return _Rows(rows, numerator=rows, denominator=_counted(req, den) if den else None, ratio=True)
