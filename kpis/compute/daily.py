"""Additive daily counters: set-based `SELECT … GROUP BY rep, day`, written once per table.

Each family is an ORM aggregate grouped on a stored local day (no time-zone maths per row). The
families of a table are stacked with `UNION ALL` and folded into one row per (rep, day) — every
counter comes from exactly one family — so each rollup row is written once, and no row travels
through Python:
- an incremental run (a few cells) deletes the cells' rows and inserts them again with one
  `INSERT … SELECT … ON CONFLICT DO UPDATE` per table (`rollup_families`);
- a full run computes every row into a temporary table and writes it over the stored rows,
  updating the kept keys in place (`rollup_rebuild`, `_replace`).
The same SQL runs on PostgreSQL and SQLite (≥ 3.25, for window functions).

A few definitions have two spellings with the same rows, picked per run:
- per row (`Family.queryset`, `DimensionFamily.queryset`): correlated subqueries reading a handful
  of index entries per row. Drill-downs, live counters and incremental runs use it.
- whole table (`Family.whole`, `Counter.whole_rows`, `DimensionFamily.whole_sql`): computed once
  for all rows (the set of first touches by a window, every stage change's next row by `LEAD`,
  answered leads as a set). Full runs use it; per row it would cost an index probe or three for
  each of millions of rows.
The tests pin one against the other (incremental runs equal full runs, drill-down records equal
the stored values).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    CharField,
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
    When,
    Window,
    functions,
)
from django.db.models.functions import Coalesce, Concat, RowNumber
from django.db.models.lookups import Exact

from activities.models import Activity
from kpis.models import RepDay, RepDayDimension
from pipeline.models import Lead, Opportunity, RepCost, Stage, StageChange

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


@dataclass(frozen=True)
class _Rows:
    """A SELECT of rollup rows, its columns named as the table's, and the table's key."""

    table: str
    columns: list[str]
    key: list[str]
    sql: str
    params: list


def _upsert(rows: _Rows, source: str, params: list) -> None:
    # Only quoted identifiers of our own models are interpolated; values travel as parameters.
    # `WHERE true` keeps SQLite from reading `ON CONFLICT` as a join constraint.
    qn = connection.ops.quote_name
    columns = ", ".join(qn(c) for c in rows.columns)
    statement = (
        f"INSERT INTO {qn(rows.table)} ({columns}) SELECT {columns} FROM {source} WHERE true "
        f"ON CONFLICT ({', '.join(qn(c) for c in rows.key)}) DO UPDATE SET "
        + ", ".join(f"{qn(c)} = excluded.{qn(c)}" for c in rows.columns if c not in rows.key)
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def _insert(rows: _Rows) -> None:
    """Insert the rows (the caller deleted the stored rows of the same cells)."""
    _upsert(rows, f"({rows.sql}) AS rollup", rows.params)


def _replace(rows: _Rows) -> None:
    """Make the table hold exactly these rows. They are computed into a temporary table first
    (where PostgreSQL can run the SELECT in parallel, unlike an INSERT … SELECT), then written
    over the stored rows of the same keys, and the keys no longer computed are deleted.

    On PostgreSQL the kept keys are updated from the temporary table in one join: in place, a HOT
    update without new index entries thanks to the table's fillfactor, where deleting and
    inserting every row would add an entry to each index per row, and a dead one. The new keys
    (none in a steady state) are inserted after. Elsewhere one upsert does both (SQLite has
    `UPDATE … FROM` only since 3.33)."""
    qn = connection.ops.quote_name
    table, rebuilt = qn(rows.table), qn(f"{rows.table}_rebuilt")
    columns = ", ".join(qn(c) for c in rows.columns)
    same_key = " AND ".join(f"r.{qn(c)} = {table}.{qn(c)}" for c in rows.key)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {rebuilt}")
        cursor.execute(f"CREATE TEMPORARY TABLE {rebuilt} AS {rows.sql}", rows.params)
        cursor.execute(f"SELECT COUNT(*) FROM {rebuilt}")
        computed = cursor.fetchone()[0]
        if connection.vendor == "postgresql":
            values = ", ".join(f"{qn(c)} = r.{qn(c)}" for c in rows.columns if c not in rows.key)
            cursor.execute(f"UPDATE {table} SET {values} FROM {rebuilt} AS r WHERE {same_key}")
            if cursor.rowcount < computed:
                # Not an anti-join: its plan could rescan the table it inserts into per row.
                cursor.execute(
                    f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {rebuilt} WHERE true "
                    f"ON CONFLICT ({', '.join(qn(c) for c in rows.key)}) DO NOTHING"
                )
        else:
            _upsert(rows, rebuilt, [])
        # Every computed row is stored now: any more stored rows are stale.
        cursor.execute(f"SELECT COUNT(*) FROM {table}")
        if cursor.fetchone()[0] > computed:
            cursor.execute(
                f"DELETE FROM {table} "
                f"WHERE NOT EXISTS (SELECT 1 FROM {rebuilt} AS r WHERE {same_key})"
            )
        cursor.execute(f"DROP TABLE {rebuilt}")


def _computed_at(model, now) -> object:
    return model._meta.get_field("computed_at").get_db_prep_value(now, connection)


def _family_sql(family: Family, restrict: ScopeFilter | None) -> list[tuple[str, list, list[str]]]:
    """One family's counters per (rep, day) as SQL: columns `rep_`, `day_`, then its counters;
    for a whole-table pass (`restrict` None) one SELECT per set of rows counted."""
    counters = family.counters()
    if restrict is not None:
        sources = {None: (restrict(family.queryset(), family.rep, family.day), counters)}
    else:
        sources = {}
        for name, counter in counters.items():
            rows = counter.whole_rows or family.whole or family.queryset
            sources.setdefault(rows, (rows(), {}))[1][name] = counter
    parts = []
    for qs, counted in sources.values():
        grouped = (
            qs.order_by()
            .values(rep_=F(family.rep), day_=F(family.day))
            .annotate(**{name: counter.aggregate() for name, counter in counted.items()})
        )
        sql, params = grouped.query.sql_with_params()
        parts.append((sql, list(params), list(counted)))
    return parts


def _dimension_sql(
    family: DimensionFamily, restrict: ScopeFilter | None
) -> tuple[str, list, list[str]]:
    """One dimension family's counters per (rep, day, key): `rep_`, `day_`, `dimension_`, then
    one column per counter."""
    counters = family.counters()
    if restrict is None and family.whole_sql is not None:
        sql, params = family.whole_sql()
        return sql, list(params), list(counters)
    qs = family.queryset()
    if restrict is not None:
        qs = restrict(qs, family.rep, family.day)
    qs = (
        qs.order_by()
        .annotate(dimension_=family.dimension())
        .values("dimension_", rep_=F(family.rep), day_=F(family.day))
        .annotate(**{name: counter.aggregate() for name, counter in counters.items()})
    )
    sql, params = qs.query.sql_with_params()
    return sql, list(params), list(counters)


def _rep_days(restrict: ScopeFilter | None, now) -> _Rows:
    """Every family's counters per (rep, day): the families' grouped rows stacked (null where
    another family counts a counter), then one row per (rep, day)."""
    qn = connection.ops.quote_name
    parts = [part for family in FAMILIES for part in _family_sql(family, restrict)]
    counters = [name for _sql, _params, names in parts for name in names]
    # Typed nulls: PostgreSQL resolves a UNION's column types branch by branch.
    nulls = {c: f"CAST(NULL AS {RepDay._meta.get_field(c).db_type(connection)})" for c in counters}
    branches, params = [], []
    for sql, family_params, names in parts:
        columns = ", ".join(
            f"{f'f.{qn(c)}' if c in names else nulls[c]} AS c{i}" for i, c in enumerate(counters)
        )
        branches.append(f"SELECT f.rep_ AS rep_, f.day_ AS day_, {columns} FROM ({sql}) AS f")
        params += family_params
    # A (rep, day) has at most one row per family and each counter one family: the one non-null
    # value (MAX is cheaper than SUM: no numeric state per group), else 0.
    values = ", ".join(f"COALESCE(MAX(u.c{i}), 0) AS {qn(c)}" for i, c in enumerate(counters))
    sql = (
        f"SELECT u.rep_ AS {qn('rep_id')}, u.day_ AS {qn('day')}, %s AS {qn('computed_at')}, "
        f"{values} FROM ({' UNION ALL '.join(branches)}) AS u GROUP BY u.rep_, u.day_"
    )
    return _Rows(
        RepDay._meta.db_table,
        ["rep_id", "day", "computed_at", *counters],
        ["rep_id", "day"],
        sql,
        [_computed_at(RepDay, now), *params],
    )


def _dimensions(restrict: ScopeFilter | None, now) -> _Rows:
    """Every dimension family's counters, one row per (rep, day, key, counter): each family's
    grouped rows are read once and crossed with its counter names."""
    qn = connection.ops.quote_name
    branches, params = [], []
    for family in DIMENSION_FAMILIES:
        sql, family_params, counters = _dimension_sql(family, restrict)
        names = " UNION ALL ".join(["SELECT %s AS counter_"] * len(counters))
        value = " ".join(f"WHEN %s THEN f.{qn(c)}" for c in counters)
        branches.append(
            f"SELECT f.rep_ AS {qn('rep_id')}, f.day_ AS {qn('day')}, "
            f"f.dimension_ AS {qn('dimension')}, n.counter_ AS {qn('counter')}, "
            f"CASE n.counter_ {value} END AS {qn('value')}, %s AS {qn('computed_at')} "
            f"FROM ({sql}) AS f CROSS JOIN ({names}) AS n"
        )
        params += [*counters, _computed_at(RepDayDimension, now), *family_params, *counters]
    return _Rows(
        RepDayDimension._meta.db_table,
        ["rep_id", "day", "dimension", "counter", "value", "computed_at"],
        ["rep_id", "day", "counter", "dimension"],
        " UNION ALL ".join(branches),
        params,
    )


def rollup_families(*, restrict: ScopeFilter, now) -> None:
    """Insert the counters of every family for the rows `restrict` keeps (call in a transaction,
    after deleting the stored rows of the same cells). Per-row definitions: few cells."""
    _insert(_rep_days(restrict, now))
    _insert(_dimensions(restrict, now))


def rollup_rebuild(*, now) -> None:
    """Replace every stored rollup row with the counters of all rows (a full run; call in a
    transaction). Whole-table definitions."""
    _replace(_rep_days(None, now))
    _replace(_dimensions(None, now))
