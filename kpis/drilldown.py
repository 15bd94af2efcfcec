"""Drill-down: the source rows behind any KPI value (rep, team or organisation; any period).

`records(code=…, scope=…, scope_id=…, period=…, period_start=…)` returns the queryset of the rows
that were counted for that value: activities, bookings, opportunities, leads, stage changes, rep
costs, or companies (churn, repeat purchase). The rows come from the very definitions the
computation uses, never from restated conditions:

- additive counters: the family of `COUNTER_FAMILY[counter]` (`kpis/compute/daily/`), filtered by
  the counter's `where`, the family's rep column and its stored local-day column in `[start, end)`;
- dimensional counters (`stage:<slug>`, `lead_source:<value>` …): the `DIMENSION_FAMILIES` entry
  whose key prefix is the dimension's, with the key annotated as `dimension_` and filtered on;
- the non-additive KPIs: the semantics of `kpis/compute/periodic.py` as ORM querysets, on the same
  families where one exists (calls with a company, answered leads, deals won, stage exits).

Scopes: "rep" = rows attributed to that user; "team" = to users whose *current* `team_id` is
`scope_id` (as the stored values); "org" = all rows (`scope_id` is ignored, 0 by convention).

Which rows, and the `part` argument (`records_split` returns `(all, numerator)`):

- counts and sums: the rows counted or summed; `part` must be "all";
- medians: the rows the median is over (each annotated with its missing moment, see below);
- calls_per_customer: the calls with a company (its numerator); its denominator is their distinct
  `company_id`s, not a subset of rows, so `part` must be "all";
- ratios whose numerator and denominator come from the same family: the rows of the union of both
  sides, which is the denominator's rows (call_connect_rate → the calls made, win_rate → deals won
  and lost, lead_conversion_rate → the leads received, stage_conversion → the exited entries,
  churn_rate → the customers active at period start, repeat_purchase_rate → the buyers). The one
  exception is avg_call_minutes, whose numerator sums the talk time of *every* call made while its
  denominator counts the connected ones: its rows are the calls made, so both sides read from them.
  `part="numerator"` narrows to the rows in the numerator (the connected calls, the deals won …),
  `part="denominator"` to those in the denominator;
- ratios across two families: the numerator's rows (activities_per_won_deal → the activities,
  cost_to_revenue → the rep costs, quota_attainment → the deals won); `part="denominator"` gives the
  other family's rows (the deals won); quota_attainment's denominator is a target, not rows.
- `part="numerator"` and `"denominator"` are refused (ValueError) for KPIs that are not ratios;
  `records_split` returns `None` as the numerator for them.

Annotations for the medians: `first_activity_at` on leads (lead_response_minutes, minutes from
`received_at`), `entered_at` on the exit rows of days_in_stage (days to the row's `changed_at`);
sales_cycle_days reads `created_at` → `closed_at`. Churn and repeat rows carry
`purchases_at_start` / `purchases_at_end` (purchases in the 365 days before S and E). Snapshot rows
(open_opportunities, pipeline_value) carry `stage_then_id`, the stage they were in at T.

Every queryset `select_related`s what a drill-down table shows, so a page lists it in one query.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import reduce
from operator import or_
from typing import Literal

from django.db.models import Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from activities.models import Activity
from kpis.compute.daily import (
    COUNTER_FAMILY,
    DIMENSION_FAMILIES,
    Counter,
    DimensionFamily,
    Family,
)
from kpis.compute.periodic import _Bounds, _year_before
from kpis.formulas import FORMULAS, Ratio, Stored
from kpis.formulas import Sum as SumFormula
from kpis.periods import PeriodRange, period_containing
from kpis.registry import REGISTRY, Period
from pipeline.models import Company, Lead, Opportunity, RepCost, Stage, StageChange

Part = Literal["all", "numerator", "denominator"]
PARTS: tuple[str, ...] = ("all", "numerator", "denominator")
SCOPES: tuple[str, ...] = ("rep", "team", "org")

# What a drill-down table shows of each source model (owner, company, contact, stage …); a
# contact prints with its company.
SHOWN: dict[type, tuple[str, ...]] = {
    Activity: ("owner", "booked_by", "company", "contact__company", "lead", "opportunity"),
    Opportunity: ("owner", "created_by", "company", "contact__company", "stage", "lead"),
    Lead: ("assigned_to", "company", "contact__company"),
    StageChange: (
        "opportunity",
        "opportunity__company",
        "from_stage",
        "to_stage",
        "owner",
        "changed_by",
    ),
    RepCost: ("rep",),
    Company: ("owner",),
}


@dataclass(frozen=True)
class _Request:
    code: str
    scope: str
    scope_id: int
    range: PeriodRange
    dimension: str
    now: dt.datetime

    def scoped(self, qs: QuerySet, rep: str) -> QuerySet:
        """Rows whose rep column `rep` (e.g. "owner_id") is the rep, or a member of the team."""
        if self.scope == "rep":
            return qs.filter(**{rep: self.scope_id})
        if self.scope == "team":
            # `scope_rep_` names the rep column, so a page can read the rows member by member
            # (`scorecard_records`); an alias selects nothing and filters nothing by itself.
            return qs.alias(scope_rep_=F(rep)).filter(
                **{f"{rep.removesuffix('_id')}__team_id": self.scope_id}
            )
        return qs

    def in_period(self, qs: QuerySet, day: str) -> QuerySet:
        """Rows whose stored local day `day` falls in the period's `[start, end)`."""
        return qs.filter(**{f"{day}__gte": self.range.start, f"{day}__lt": self.range.end})


@dataclass(frozen=True)
class _Rows:
    """The rows behind a value, and for a ratio the rows of each side (None: no such side)."""

    all: QuerySet
    numerator: QuerySet | None = None
    denominator: QuerySet | None = None
    ratio: bool = False


# ---------------------------------------------------------------------------
# Families
# ---------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------
# The non-additive KPIs (kpis/compute/periodic.py)
# ---------------------------------------------------------------------------
def _calls_per_customer(req: _Request) -> _Rows:
    # The calls linked to a company: the numerator; the denominator is their distinct companies.
    return _Rows(_counted(req, ("calls_with_company",)))


def _lead_response_minutes(req: _Request) -> _Rows:
    """Leads received in the period that have a completed activity, with the first one's moment."""
    family = COUNTER_FAMILY["leads_unanswered"]
    answered = ~_counter("leads_unanswered").where
    first_activity = (
        Activity.objects.filter(lead=OuterRef("pk"), status=Activity.Status.COMPLETED)
        .order_by("occurred_at")
        .values("occurred_at")[:1]
    )
    qs = req.in_period(req.scoped(family.queryset(), family.rep), family.day)
    return _Rows(qs.filter(answered).annotate(first_activity_at=Subquery(first_activity)))


def _stage_exits() -> DimensionFamily:
    return next(f for f in DIMENSION_FAMILIES if "stage_exits" in f.counters())


def _days_in_stage(req: _Request) -> _Rows:
    """The exit rows in the period (owner and day of the exit) of entries into the stage.

    An entry with its exit is a row of the `stage_exits` family (an open-stage entry that has a
    next row); the record is that next row, annotated with the entry's `entered_at`.
    """
    family = _stage_exits()
    entries = (
        family.queryset()
        .annotate(dimension_=family.dimension())
        .filter(dimension_=req.dimension, opportunity=OuterRef("opportunity"))
        .filter(next_id=OuterRef("pk"))
    )
    exits = StageChange.objects.filter(Exists(entries)).annotate(
        entered_at=Subquery(entries.values("changed_at")[:1])
    )
    # The exit row carries the attribution: the same rep and day columns as the family's entries.
    return _Rows(req.in_period(req.scoped(exits, family.rep), family.day))


def _sales_cycle_days(req: _Request) -> _Rows:
    return _Rows(_counted(req, ("deals_won",)))


def _open_at_end(req: _Request) -> _Rows:
    """Opportunities created before T whose latest stage row before T is into an open stage;
    T = min(period end, now); by current owner."""
    at = _Bounds.of(req.range, req.now).at_end
    latest = StageChange.objects.filter(opportunity=OuterRef("pk"), changed_at__lt=at).order_by(
        "-changed_at", "-id"
    )
    qs = (
        Opportunity.objects.filter(created_at__lt=at)
        .annotate(stage_then_id=Subquery(latest.values("to_stage_id")[:1]))
        .alias(outcome_then=Subquery(latest.values("to_stage__outcome")[:1]))
        .filter(outcome_then=Stage.Outcome.OPEN)
    )
    return _Rows(req.scoped(qs, "owner_id"))


def _accounts(req: _Request) -> QuerySet:
    """The scope's companies with their purchases in the 365 days before S and before E."""
    bounds = _Bounds.of(req.range, req.now)
    family, won = COUNTER_FAMILY["deals_won"], _counter("deals_won")
    purchases = family.queryset().filter(won.where, company=OuterRef("pk"))

    def count(lo: dt.datetime, hi: dt.datetime) -> Coalesce:
        within = (
            purchases.filter(closed_at__gte=lo, closed_at__lt=hi)
            .order_by()
            .values("company")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return Coalesce(Subquery(within, output_field=IntegerField()), 0)

    qs = Company.objects.annotate(
        purchases_at_start=count(_year_before(bounds.at_start), bounds.at_start),
        purchases_at_end=count(_year_before(bounds.at_end), bounds.at_end),
    )
    return req.scoped(qs, "owner_id")


def _churn_rate(req: _Request) -> _Rows:
    active = _accounts(req).filter(purchases_at_start__gt=0)
    churned = active.filter(purchases_at_end=0)
    return _Rows(active, numerator=churned, denominator=active, ratio=True)


def _repeat_purchase_rate(req: _Request) -> _Rows:
    buyers = _accounts(req).filter(purchases_at_end__gt=0)
    return _Rows(
        buyers, numerator=buyers.filter(purchases_at_end__gt=1), denominator=buyers, ratio=True
    )


_STORED = {
    "calls_per_customer": _calls_per_customer,
    "lead_response_minutes": _lead_response_minutes,
    "days_in_stage": _days_in_stage,
    "sales_cycle_days": _sales_cycle_days,
    "open_opportunities": _open_at_end,
    "pipeline_value": _open_at_end,
    "churn_rate": _churn_rate,
    "repeat_purchase_rate": _repeat_purchase_rate,
}
# Stored KPIs that only exist per dimension (no plain value).
_DIMENSION_ONLY = frozenset({"days_in_stage"})
assert set(_STORED) == {c for c, f in FORMULAS.items() if isinstance(f, Stored)}


# ---------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------
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
    `period_start` (for a ratio: see the module docstring; `part` narrows to one side)."""
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
