"""A drill-down's request and answer: scopes, parts, what a table shows, `_Request`, `_Rows`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from django.db.models import F, QuerySet

from activities.models import Activity
from kpis.periods import PeriodRange
from pipeline.models import Company, Lead, Opportunity, RepCost, StageChange

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
