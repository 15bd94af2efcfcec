"""The drill-down page's reads: who may drill into which scope, and one page of the records
behind a KPI value (`kpis.drilldown.records_split`) with the links the viewer may follow.

Reach (anything else is a 404, as if it did not exist):
- scope rep: the rep themselves, the manager of the rep's team, a superuser (a rep never drills
  into a teammate's rep-scope records; their team's are at scope team);
- scope team: a rep their own team, a manager the teams they manage, a superuser every team;
- scope org: managers and superusers.

A page makes a constant number of queries: the scope, the value, the page's ids with the count of
all rows, and the page's rows with what the table shows (for ratios, whether each is in the
numerator).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page, Paginator
from django.db import connections
from django.db.models import Count, Exists, F, OuterRef, QuerySet, Subquery, Window
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils.translation import gettext as _

from activities.models import Activity
from kpis.drilldown import records_split
from kpis.periods import PeriodRange, period_containing
from kpis.registry import KPI, REGISTRY, Period
from kpis.selectors import Value, kpi_values
from people.models import Team, User
from pipeline.models import Company, Lead, Opportunity, RepCost, StageChange

PAGE_SIZE = 50
BOOKING_KPIS = frozenset({"meetings_booked", "meetings_booked_decision_makers", "demos_booked"})
# What the table shows of an activity: `drilldown.SHOWN` also joins its lead and opportunity,
# and planning those two joins more costs more than reading the page's 50 rows.
ACTIVITY_SHOWN = ("owner", "booked_by", "company", "contact__company")
# The columns the table and its links read of those rows: not each user's password, e-mail and
# dates, nor the activity's notes (the page's 50 rows carry ~250 model instances).
ACTIVITY_COLUMNS = (
    *("id", "kind", "status", "occurred_at", "booked_at", "outcome", "duration_seconds"),
    *("owner", "booked_by", "company", "contact"),
    *(
        f"{user}__{field}"
        for user in ("owner", "booked_by")
        for field in ("username", "first_name", "last_name", "team_id")
    ),
    *("company__name", "contact__name", "contact__company", "contact__company__name"),
)
KINDS: dict[type, str] = {
    Activity: "activity",
    Opportunity: "opportunity",
    Lead: "lead",
    StageChange: "stage_change",
    RepCost: "rep_cost",
    Company: "company",
}


@dataclass(frozen=True)
class RecordsScope:
    scope: str
    # The rep's or team's id; 0 for the organisation.
    scope_id: int
    name: str


@dataclass(frozen=True)
class Reach:
    """What the viewer may open: their id, superuser, the teams they manage."""

    user: User
    managed_team_ids: frozenset[int]

    @classmethod
    def of(cls, user: User) -> Reach:
        managed: frozenset[int] = frozenset()
        if user.role == User.Role.MANAGER and not user.is_superuser:
            managed = frozenset(Team.objects.filter(manager=user).values_list("pk", flat=True))
        return cls(user, managed)

    def acts_for(self, owner_id: int | None, owner_team_id: int | None) -> bool:
        """As `pipeline.selectors.acts_for`, without reading the owner's team again."""
        if self.user.is_superuser:
            return True
        if owner_id is None:
            return False
        return owner_id == self.user.pk or (
            owner_team_id is not None and owner_team_id in self.managed_team_ids
        )


def records_scope(*, reach: Reach, scope: str, scope_id: int | None) -> RecordsScope | None:
    """The scope if the viewer may drill into it (see the module docstring), else None."""
    viewer = reach.user
    if scope == "org":
        if viewer.is_superuser or viewer.role == User.Role.MANAGER:
            return RecordsScope("org", 0, _("The whole organisation"))
        return None
    if scope == "team":
        team = Team.objects.filter(pk=scope_id).first()
        if team is None:
            return None
        allowed = (
            viewer.is_superuser
            or team.pk in reach.managed_team_ids
            or (viewer.role != User.Role.MANAGER and viewer.team_id == team.pk)
        )
        return RecordsScope("team", team.pk, team.name) if allowed else None
    if scope == "rep":
        rep = viewer if scope_id == viewer.pk else User.objects.filter(pk=scope_id).first()
        if rep is None:
            return None
        allowed = (
            rep.pk == viewer.pk
            or viewer.is_superuser
            or (rep.team_id is not None and rep.team_id in reach.managed_team_ids)
        )
        return RecordsScope("rep", rep.pk, str(rep)) if allowed else None
    return None


@dataclass(frozen=True)
class RecordRow:
    record: Any
    # The detail page the viewer may open (None: no page, or not theirs to open).
    url: str | None
    # Ratios: whether the row is in the numerator; None when the KPI is not a ratio.
    counted: bool | None


@dataclass(frozen=True)
class RecordsPage:
    kpi: KPI
    scope: RecordsScope
    period: PeriodRange
    dimension: str
    value: Value | None
    kind: str
    rows: tuple[RecordRow, ...]
    page: Page
    is_ratio: bool

    @property
    def booking(self) -> bool:
        return self.kpi.code in BOOKING_KPIS


def _ordered(qs: QuerySet, code: str) -> QuerySet:
    model = qs.model
    if model is Activity:
        if code in BOOKING_KPIS:
            return qs.order_by("-booked_at", "-pk")
        return qs.order_by("-occurred_at", "-pk")
    if model is Opportunity:
        return qs.order_by(F("closed_at").desc(nulls_last=True), "-created_at", "-pk")
    if model is Lead:
        if "first_activity_at" not in qs.query.annotations:
            first = (
                Activity.objects.filter(lead=OuterRef("pk"), status=Activity.Status.COMPLETED)
                .order_by("occurred_at")
                .values("occurred_at")[:1]
            )
            qs = qs.annotate(first_activity_at=Subquery(first))
        return qs.order_by("-received_at", "-pk")
    if model is StageChange:
        return qs.select_related("opportunity__owner").order_by("-changed_at", "-pk")
    if model is RepCost:
        return qs.order_by("-month", "rep__first_name", "-pk")
    return qs.order_by("name", "pk")


def _url(reach: Reach, record: Any) -> str | None:
    """The detail page of an activity or opportunity, when the viewer may open it (the rules of
    `activities:detail` and `pipeline:opportunity_detail`)."""
    viewer = reach.user
    if isinstance(record, Activity):
        owner = record.owner
        if reach.acts_for(owner.pk, owner.team_id) or record.booked_by_id == viewer.pk:
            return reverse("activities:detail", args=[record.pk])
        return None
    opportunity = record.opportunity if isinstance(record, StageChange) else record
    if isinstance(opportunity, Opportunity):
        owner = opportunity.owner
        if reach.acts_for(owner.pk, owner.team_id) or (
            # Its creator, while it stays in their team (the detail page reads by team).
            opportunity.created_by_id == viewer.pk
            and viewer.team_id is not None
            and owner.team_id == viewer.team_id
        ):
            return reverse("pipeline:opportunity_detail", args=[opportunity.pk])
    return None


def _ids_by_member(ordered: QuerySet, team_id: int, bottom: int) -> list[tuple[int, int]] | None:
    """`PAGE_SIZE` of the team's rows' (primary key, count of all) from `bottom`, read member by
    member (PostgreSQL; None where this does not apply: another database, another scope, an
    ordering by expression).

    A team's rows filtered as one set (`rep__team_id = …` and the period) are found through the
    period's index: every rep's rows of the period (a team's month of calls: all 24 000 calls
    of the organisation read for ~900). A `LATERAL` subquery per member, fenced by `OFFSET 0` so
    the planner cannot flatten it back into that join, reads each member's rows through the
    (rep, day) index instead. The same rows, the same order.
    """
    connection = connections[ordered.db]
    if connection.vendor != "postgresql" or "scope_rep_" not in ordered.query.annotations:
        return None
    order = ordered.query.order_by
    if not order or not all(isinstance(item, str) and item.strip("-") for item in order):
        return None
    columns = {f"o{index}_": F(item.lstrip("-")) for index, item in enumerate(order)}
    inner = (
        ordered.filter(scope_rep_=RawSQL('"records_member"."id"', ()))
        .order_by()
        .values(id_=F("pk"), **columns)
    )
    inner_sql, params = inner.query.sql_with_params()
    by = ", ".join(
        f'r."{name}" {"DESC" if item.startswith("-") else "ASC"}'
        for name, item in zip(columns, order, strict=True)
    )
    members = connection.ops.quote_name(User._meta.db_table)
    sql = (
        # Identifiers and the ORM's own compiled SQL only; values are parameters.
        f'SELECT r."id_", COUNT(*) OVER () FROM {members} "records_member" '  # noqa: S608
        f"CROSS JOIN LATERAL ({inner_sql} OFFSET 0) r "
        f'WHERE "records_member"."team_id" = %s ORDER BY {by} LIMIT %s OFFSET %s'
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, (*params, team_id, PAGE_SIZE, bottom))
        return [(pk, total) for pk, total in cursor.fetchall()]


def _page_of_ids(ordered: QuerySet, number: int | None, team_id: int | None = None) -> Page:
    """The page `number` (1 when missing, the last when past it) of the rows' primary keys, in
    order, with the number of rows counted in the same statement (`COUNT(*) OVER ()`): one pass
    over the rows instead of a `COUNT` and then the page. `team_id`: the rows are a team's
    (see `_ids_by_member`)."""
    paginator = Paginator(ordered.values_list("pk", flat=True), PAGE_SIZE)
    wanted = number if number is not None and number > 0 else 1

    def fetch(page_number: int) -> list[tuple[int, int]]:
        bottom = (page_number - 1) * PAGE_SIZE
        if team_id is not None:
            found = _ids_by_member(ordered, team_id, bottom)
            if found is not None:
                return found
        counted = ordered.annotate(total_=Window(Count("pk"))).values_list("pk", "total_")
        return list(counted[bottom : bottom + PAGE_SIZE])

    found = fetch(wanted)
    if found:
        total = found[0][1]
    else:
        total = ordered.count() if wanted > 1 else 0
        if total:  # Past the last page: the last page, as `Paginator.get_page` does.
            wanted = (total - 1) // PAGE_SIZE + 1
            found = fetch(wanted)
        else:
            wanted = 1
    # Paginator.count is a cached property: the total is known already.
    paginator.__dict__["count"] = total
    return Page([pk for pk, _total in found], wanted, paginator)


def records_page(
    *,
    reach: Reach,
    scope: RecordsScope,
    code: str,
    period: Period | str,
    start: dt.date,
    dimension: str = "",
    page_number: int | None = None,
    now: dt.datetime | None = None,
) -> RecordsPage:
    """One page (50 rows) of the records behind the scope's value of `code` in the period
    containing `start`, with the value itself; ValueError for a KPI, period or dimension the
    drill-down does not define. At most 5 queries."""
    span = period_containing(period, start)
    rows, numerator = records_split(
        code=code,
        scope=scope.scope,
        scope_id=scope.scope_id,
        period=span.period,
        period_start=span.start,
        dimension=dimension,
        now=now,
    )
    ordered = _ordered(rows, code)
    page = _page_of_ids(
        ordered, page_number, team_id=scope.scope_id if scope.scope == "team" else None
    )
    ids = list(page.object_list)
    records: list[Any] = []
    if ids:
        # The page's rows with what the table shows, by primary key: the joins and the wide
        # rows for 50 records, not for every record sorted (a team's month of calls: ~900).
        if ordered.query.annotation_select:  # Leads, stage exits, accounts: computed columns.
            shown = ordered.filter(pk__in=ids)
        else:  # By primary key alone: the period's filters were applied finding the ids.
            shown = ordered.model._base_manager.filter(pk__in=ids)
            if ordered.model is Activity:
                shown = shown.select_related(*ACTIVITY_SHOWN).only(*ACTIVITY_COLUMNS)
            else:
                shown.query.select_related = ordered.query.select_related
        if numerator is not None:
            shown = shown.annotate(counted_=Exists(numerator.filter(pk=OuterRef("pk"))))
        by_pk = {record.pk: record for record in shown}
        records = [by_pk[pk] for pk in ids if pk in by_pk]
    value = next(
        (
            v
            for v in kpi_values(
                codes=[code],
                scope=scope.scope,
                period=span.period,
                start=span.start,
                end=span.end,
                scope_ids=None if scope.scope == "org" else [scope.scope_id],
            )
            if v.dimension == dimension and v.period_start == span.start
        ),
        None,
    )
    return RecordsPage(
        kpi=REGISTRY[code],
        scope=scope,
        period=span,
        dimension=dimension,
        value=value,
        kind=KINDS[rows.model],
        rows=tuple(
            RecordRow(
                record=record,
                url=_url(reach, record),
                counted=None if numerator is None else record.counted_,
            )
            for record in records
        ),
        page=page,
        is_ratio=numerator is not None,
    )
