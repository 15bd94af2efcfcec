"""Rows of the non-additive KPIs: the semantics of `kpis/compute/periodic/` as ORM querysets."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Exists, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from activities.models import Activity
from kpis.compute.daily import COUNTER_FAMILY, DIMENSION_FAMILIES, DimensionFamily
from kpis.compute.periodic import _Bounds, _year_before
from kpis.drilldown.counters import _counted, _counter
from kpis.drilldown.request import _Request, _Rows
from kpis.formulas import FORMULAS, Stored
from pipeline.models import Company, Opportunity, Stage, StageChange


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
