"""Additive daily counters: one set-based `INSERT … SELECT … GROUP BY rep, day` per source family.

Each family is an ORM aggregate grouped on a stored local day (no time-zone maths per row); its SQL
is wrapped in an `INSERT … ON CONFLICT DO UPDATE` so the rows never travel through Python. The
same SQL runs on PostgreSQL and SQLite (≥ 3.24).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.db.models import (
    Case,
    CharField,
    Count,
    DecimalField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Concat

from activities.models import Activity
from kpis.models import RepDay, RepDayDimension
from pipeline.models import Lead, Opportunity, RepCost, StageChange

ScopeFilter = Callable[[QuerySet, str, str], QuerySet]

_MONEY = DecimalField(max_digits=16, decimal_places=2)


def _sum_money(field: str, condition: Q | None = None) -> Coalesce:
    return Coalesce(Sum(field, filter=condition), Value(0), output_field=_MONEY)


def is_forward(change_alias: str = "") -> Q:
    """A forward move: to a later open stage, or to won. A move to lost never is."""
    p = change_alias
    return Q(**{f"{p}from_stage__isnull": False}) & (
        Q(**{f"{p}to_stage__outcome": "won"})
        | Q(
            **{
                f"{p}to_stage__outcome": "open",
                f"{p}to_stage__order__gt": F(f"{p}from_stage__order"),
            }
        )
    )


def _first_touch() -> Exists:
    """The activity is its contact's first completed meeting, demo or lunch (by anyone)."""
    earlier = Activity.objects.filter(
        contact=OuterRef("contact"),
        status=Activity.Status.COMPLETED,
        kind__in=[Activity.Kind.MEETING, Activity.Kind.DEMO, Activity.Kind.LUNCH],
    ).filter(
        Q(occurred_at__lt=OuterRef("occurred_at"))
        | Q(occurred_at=OuterRef("occurred_at"), id__lt=OuterRef("id"))
    )
    return ~Exists(earlier)


@dataclass(frozen=True)
class Counter:
    """One additive counter: the rows it counts (`where`), or the field it sums over them."""

    where: Q = field(default_factory=Q)
    sum_of: str | None = None
    money: bool = False

    def aggregate(self):
        condition = self.where if self.where else None
        if self.sum_of is None:
            return Count("id", filter=condition)
        if self.money:
            return _sum_money(self.sum_of, condition)
        return Coalesce(Sum(self.sum_of, filter=condition), Value(0))


def _activity_counters() -> dict[str, Counter]:
    call = Q(kind="call", direction="outbound")
    email = Q(kind="email", direction="outbound")
    connected = call & Q(outcome="connected")
    new_contact = Q(contact__isnull=False, first_touch=True)
    quality = Q(duration_seconds__gte=settings.KPI_QUALITY_CALL_SECONDS)
    return {
        "calls_made": Counter(call),
        "calls_connected": Counter(connected),
        "calls_over_3_min": Counter(connected & quality),
        "talk_time_seconds": Counter(call, sum_of="duration_seconds"),
        "calls_with_company": Counter(call & Q(company__isnull=False)),
        "emails_sent": Counter(email),
        "emails_replied": Counter(email & Q(replied=True)),
        "emails_clicked": Counter(email & Q(clicked=True)),
        "meetings_held": Counter(Q(kind="meeting")),
        "meetings_held_physical": Counter(Q(kind="meeting", mode="physical")),
        "meetings_held_digital": Counter(Q(kind="meeting", mode="digital")),
        "meetings_new_contacts": Counter(Q(kind="meeting") & new_contact),
        "demos_held": Counter(Q(kind="demo")),
        "demos_on_site": Counter(Q(kind="demo", mode="physical")),
        "lunches_new_contacts": Counter(Q(kind="lunch") & new_contact),
        "activities_total": Counter(),
    }


@dataclass(frozen=True)
class Family:
    """One source table's contribution: rows, the (rep, day) columns, and the counters."""

    name: str
    queryset: Callable[[], QuerySet]
    rep: str
    day: str
    counters: Callable[[], dict[str, Counter]]


FAMILIES: tuple[Family, ...] = (
    Family(
        "activities",
        lambda: Activity.objects.filter(status=Activity.Status.COMPLETED).alias(
            first_touch=_first_touch()
        ),
        "owner_id",
        "occurred_day",
        _activity_counters,
    ),
    Family(
        "bookings",
        lambda: Activity.objects.filter(booked_by__isnull=False).exclude(
            status=Activity.Status.CANCELLED
        ),
        "booked_by_id",
        "booked_day",
        lambda: {
            "meetings_booked": Counter(Q(kind="meeting")),
            "meetings_booked_decision_makers": Counter(
                Q(kind="meeting", contact__is_decision_maker=True)
            ),
            "demos_booked": Counter(Q(kind="demo")),
        },
    ),
    Family(
        "opportunities_created",
        lambda: Opportunity.objects.all(),
        "created_by_id",
        "created_day",
        lambda: {
            "opportunities_created": Counter(),
            "opportunities_created_new_business": Counter(Q(kind="new_business")),
            "opportunities_created_upsell": Counter(Q(kind="upsell")),
        },
    ),
    Family(
        "stage_moves",
        lambda: StageChange.objects.filter(from_stage__isnull=False),
        "owner_id",
        "changed_day",
        lambda: {"stage_advances": Counter(is_forward())},
    ),
    Family(
        "deals_closed",
        lambda: Opportunity.objects.filter(closed_at__isnull=False),
        "owner_id",
        "closed_day",
        lambda: {
            "deals_won": Counter(Q(stage__outcome="won")),
            "deals_lost": Counter(Q(stage__outcome="lost")),
            "revenue_won": Counter(Q(stage__outcome="won"), sum_of="amount", money=True),
        },
    ),
    Family(
        "leads",
        lambda: Lead.objects.filter(assigned_to__isnull=False).alias(
            answered=Exists(
                Activity.objects.filter(lead=OuterRef("pk"), status=Activity.Status.COMPLETED)
            ),
            converted=Exists(Opportunity.objects.filter(lead=OuterRef("pk"))),
        ),
        "assigned_to_id",
        "received_day",
        lambda: {
            "leads_received": Counter(),
            "leads_unanswered": Counter(Q(answered=False)),
            "leads_converted": Counter(Q(converted=True)),
        },
    ),
    Family(
        "costs",
        lambda: RepCost.objects.all(),
        "rep_id",
        "month",
        lambda: {"cost": Counter(sum_of="amount", money=True)},
    ),
)

COUNTER_FAMILY: dict[str, Family] = {
    counter: family for family in FAMILIES for counter in family.counters()
}


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
    """Counters split by a dimension key built in SQL (`stage:<slug>`, `channel:<value>` …)."""

    name: str
    queryset: Callable[[], QuerySet]
    rep: str
    day: str
    dimension: Callable[[], Concat]
    counters: Callable[[], dict]


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
    ),
)


def _case_existing() -> Case:
    """ "existing" when the company had an earlier won deal, else "new" (a CASE in SQL)."""
    return Case(
        When(existing=True, then=Value("existing")), default=Value("new"), output_field=CharField()
    )


def _insert_select(
    qs: QuerySet, table: str, columns: list[str], conflict: list[str], update: list[str]
) -> None:
    # Only quoted identifiers of our own models are interpolated; values travel as parameters.
    sql, params = qs.query.sql_with_params()
    qn = connection.ops.quote_name
    statement = (
        f"INSERT INTO {qn(table)} ({', '.join(qn(c) for c in columns)}) "
        f"SELECT * FROM ({sql}) AS rollup WHERE true "
        f"ON CONFLICT ({', '.join(qn(c) for c in conflict)}) DO UPDATE SET "
        + ", ".join(f"{qn(c)} = excluded.{qn(c)}" for c in update)
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def rollup_families(*, restrict: ScopeFilter, now) -> None:
    """Insert the counters of every family for the rows `restrict` keeps (call in a transaction,
    after deleting the stored rows of the same cells)."""
    for family in FAMILIES:
        counters = {name: counter.aggregate() for name, counter in family.counters().items()}
        qs = (
            restrict(family.queryset(), family.rep, family.day)
            .order_by()
            .values(family.rep, family.day)
            .annotate(computed_at_=Value(now), **counters)
        )
        _insert_select(
            qs,
            RepDay._meta.db_table,
            ["rep_id", "day", "computed_at", *counters],
            ["rep_id", "day"],
            ["computed_at", *counters],
        )
    for family in DIMENSION_FAMILIES:
        for counter, definition in family.counters().items():
            aggregate = definition.aggregate()
            qs = (
                restrict(family.queryset(), family.rep, family.day)
                .order_by()
                .annotate(dimension_=family.dimension())
                .values(family.rep, family.day, "dimension_")
                .annotate(counter_=Value(counter), value_=aggregate, computed_at_=Value(now))
            )
            _insert_select(
                qs,
                RepDayDimension._meta.db_table,
                ["rep_id", "day", "dimension", "counter", "value", "computed_at"],
                ["rep_id", "day", "counter", "dimension"],
                ["value", "computed_at"],
            )
