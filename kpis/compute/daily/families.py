"""The additive counters of each source table: `Counter`, `Family`, `FAMILIES`, `COUNTER_FAMILY`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import (
    BooleanField,
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber
from django.db.models.lookups import Exact

from activities.models import Activity
from pipeline.models import Lead, Opportunity, RepCost, StageChange

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


_TOUCH_KINDS = (Activity.Kind.MEETING, Activity.Kind.DEMO, Activity.Kind.LUNCH)


def _touches() -> QuerySet:
    """Completed meetings, demos and lunches with a contact (`activity_first_touch_idx`)."""
    return Activity.objects.filter(
        status=Activity.Status.COMPLETED, kind__in=_TOUCH_KINDS, contact__isnull=False
    ).order_by()


def _first_touch() -> Exact:
    """The activity is its contact's first completed meeting, demo or lunch (by anyone): the
    earliest `occurred_at`, ties by id. Per row: one index probe."""
    first = _touches().filter(contact=OuterRef("contact")).order_by("occurred_at", "id")
    return Exact(F("id"), Subquery(first.values("id")[:1]))


def _first_touch_rows() -> QuerySet:
    """The activities that are a first touch, with the `first_touch` alias the counters read:
    for a whole-table pass, every contact's first numbered by one window over
    `activity_first_touch_idx` (≤ one row per contact)."""
    number = Window(RowNumber(), partition_by=F("contact_id"), order_by=[F("occurred_at"), F("id")])
    firsts = _touches().alias(touch_number=number).filter(touch_number=1).values("id")
    return Activity.objects.filter(id__in=firsts).alias(
        first_touch=Value(True, output_field=BooleanField())
    )


def _answered_lead_ids() -> QuerySet:
    """Leads with a completed activity (by anyone)."""
    return Activity.objects.filter(status=Activity.Status.COMPLETED, lead__isnull=False).values(
        "lead_id"
    )


def _converted_lead_ids() -> QuerySet:
    """Leads with an opportunity."""
    return Opportunity.objects.filter(lead__isnull=False).values("lead_id")


def _in(ids: QuerySet) -> ExpressionWrapper:
    """The row's id is in `ids` (no nulls): a set hashed once per statement, for whole-table
    passes, where a correlated `EXISTS` would probe an index per row."""
    return ExpressionWrapper(Q(id__in=ids), output_field=BooleanField())


@dataclass(frozen=True)
class Counter:
    """One additive counter: the rows it counts (`where`), or the field it sums over them."""

    where: Q = field(default_factory=Q)
    sum_of: str | None = None
    money: bool = False
    # A whole-table pass counts `where` over these rows instead: the family's rows the counter
    # can count, found set-based, so the pass over every row evaluates no subquery.
    whole_rows: Callable[[], QuerySet] | None = None

    def aggregate(self):
        condition = self.where if self.where else None
        if self.sum_of is None:
            return Count("id", filter=condition)
        if self.money:
            return _sum_money(self.sum_of, condition)
        return Coalesce(Sum(self.sum_of, filter=condition), Value(0))


def _activity_counters() -> dict[str, Counter]:
    # The kind first: most rows fail there (one comparison instead of two, per counter and row).
    call = Q(kind="call") & Q(direction="outbound")
    email = Q(kind="email") & Q(direction="outbound")
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
        "meetings_new_contacts": Counter(
            Q(kind="meeting") & new_contact, whole_rows=_first_touch_rows
        ),
        "demos_held": Counter(Q(kind="demo")),
        "demos_on_site": Counter(Q(kind="demo", mode="physical")),
        "lunches_new_contacts": Counter(
            Q(kind="lunch") & new_contact, whole_rows=_first_touch_rows
        ),
        "activities_total": Counter(),
    }


@dataclass(frozen=True)
class Family:
    """One source table's contribution: rows, the (rep, day) columns, and the counters; `whole`
    spells the same rows and aliases for a pass over the whole table (see the module docstring)."""

    name: str
    queryset: Callable[[], QuerySet]
    rep: str
    day: str
    counters: Callable[[], dict[str, Counter]]
    whole: Callable[[], QuerySet] | None = None


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
            answered=Exists(_answered_lead_ids().filter(lead=OuterRef("pk"))),
            converted=Exists(_converted_lead_ids().filter(lead=OuterRef("pk"))),
        ),
        "assigned_to_id",
        "received_day",
        lambda: {
            "leads_received": Counter(),
            "leads_unanswered": Counter(Q(answered=False)),
            "leads_converted": Counter(Q(converted=True)),
        },
        whole=lambda: Lead.objects.filter(assigned_to__isnull=False).alias(
            answered=_in(_answered_lead_ids()), converted=_in(_converted_lead_ids())
        ),
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
