"""Counters split by a dimension key (`stage:<slug>`, `channel:<value>` …): `DIMENSION_FAMILIES`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection
from django.db.models import (
    Case,
    CharField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
    functions,
)
from django.db.models.functions import Concat

from kpis.compute.daily.families import Counter
from pipeline.models import Opportunity, Stage, StageChange


def _customer_type() -> Exists:
    """Existing customer: the company had a won deal closed before this opportunity was created."""
    return Exists(
        Opportunity.objects.filter(
            company=OuterRef("company"), stage__outcome="won", closed_at__lt=OuterRef("created_at")
        ).exclude(pk=OuterRef("pk"))
    )


def _next_change(field: str) -> Subquery:
    """A column of the opportunity's next stage-change row after this one (its exit)."""
    later = StageChange.objects.filter(opportunity=OuterRef("opportunity")).filter(
        Q(changed_at__gt=OuterRef("changed_at"))
        | Q(changed_at=OuterRef("changed_at"), id__gt=OuterRef("id"))
    )
    return Subquery(later.order_by("changed_at", "id").values(field)[:1])


@dataclass(frozen=True)
class DimensionFamily:
    """Counters split by a dimension key built in SQL (`stage:<slug>`, `channel:<value>` …);
    `whole_sql` is the grouped SQL of a pass over the whole table, where the ORM cannot spell it:
    columns `rep_`, `day_`, `dimension_`, then one per counter, named after it."""

    name: str
    queryset: Callable[[], QuerySet]
    rep: str
    day: str
    dimension: Callable[[], Concat]
    counters: Callable[[], dict]
    whole_sql: Callable[[], tuple[str, list]] | None = None


def _won() -> QuerySet:
    return Opportunity.objects.filter(closed_at__isnull=False, stage__outcome="won")


_DEAL_COUNTERS = lambda: {  # noqa: E731
    "deals_won": Counter(),
    "revenue_won": Counter(sum_of="amount", money=True),
}

DIMENSION_FAMILIES: tuple[DimensionFamily, ...] = (
    DimensionFamily(
        "won_by_lead_source",
        _won,
        "owner_id",
        "closed_day",
        lambda: Concat(Value("lead_source:"), "lead_source", output_field=CharField()),
        _DEAL_COUNTERS,
    ),
    DimensionFamily(
        "won_by_channel",
        _won,
        "owner_id",
        "closed_day",
        lambda: Concat(Value("channel:"), "channel", output_field=CharField()),
        _DEAL_COUNTERS,
    ),
    DimensionFamily(
        "won_by_customer_type",
        lambda: _won().alias(existing=_customer_type()),
        "owner_id",
        "closed_day",
        lambda: Concat(Value("customer_type:"), _case_existing(), output_field=CharField()),
        _DEAL_COUNTERS,
    ),
    DimensionFamily(
        "stage_exits",
        lambda: StageChange.objects.alias(
            next_id=_next_change("id"),
            next_outcome=_next_change("to_stage__outcome"),
            next_order=_next_change("to_stage__order"),
        ).filter(next_id__isnull=False, to_stage__outcome="open"),
        "owner_id",
        "changed_day",
        lambda: Concat(Value("stage:"), "to_stage__slug", output_field=CharField()),
        lambda: {
            "stage_exits": Counter(),
            "stage_exits_forward": Counter(
                Q(next_outcome="won") | Q(next_outcome="open", next_order__gt=F("to_stage__order"))
            ),
        },
        whole_sql=lambda: _stage_exits_whole(),
    ),
)


def _stage_exits_whole() -> tuple[str, list]:
    """`stage_exits` over all stage changes: each row's exit (the opportunity's next row, by
    `changed_at` then id) by one window, `LEAD`, instead of three correlated subqueries per row.
    A window cannot be filtered where it is computed, hence the derived table."""
    changes = (
        StageChange.objects.order_by()
        .annotate(
            next_stage_id=Window(
                functions.Lead("to_stage_id"),
                partition_by=F("opportunity_id"),
                order_by=[F("changed_at"), F("id")],
            )
        )
        .values("owner_id", "changed_day", "to_stage_id", "next_stage_id")
    )
    sql, params = changes.query.sql_with_params()
    qn = connection.ops.quote_name
    stage, order, outcome = qn(Stage._meta.db_table), qn("order"), qn("outcome")
    forward = (  # as `stage_exits_forward` above: the exit goes to won, or to a later open stage
        f"n.{outcome} = %s OR (n.{outcome} = %s AND n.{order} > s.{order})"
    )
    return (
        f"SELECT e.{qn('owner_id')} AS rep_, e.{qn('changed_day')} AS day_, "
        f"%s || s.{qn('slug')} AS dimension_, COUNT(*) AS {qn('stage_exits')}, "
        f"SUM(CASE WHEN {forward} THEN 1 ELSE 0 END) AS {qn('stage_exits_forward')} "
        f"FROM ({sql}) AS e "
        f"INNER JOIN {stage} AS s ON s.{qn('id')} = e.{qn('to_stage_id')} "
        f"INNER JOIN {stage} AS n ON n.{qn('id')} = e.{qn('next_stage_id')} "
        f"WHERE s.{outcome} = %s "
        f"GROUP BY e.{qn('owner_id')}, e.{qn('changed_day')}, s.{qn('slug')}",
        ["stage:", Stage.Outcome.WON, Stage.Outcome.OPEN, *params, Stage.Outcome.OPEN],
    )


def _case_existing() -> Case:
    """ "existing" when the company had an earlier won deal, else "new" (a CASE in SQL)."""
    return Case(
        When(existing=True, then=Value("existing")), default=Value("new"), output_field=CharField()
    )
