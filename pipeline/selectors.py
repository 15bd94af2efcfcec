"""Reads of the pipeline for the rep's pages: what a rep may pick and work on, their leads, deals.

Who reaches what (the browser workspace):
- **Companies and contacts** are picked by search. A company owned by someone within the user's
  reach (`visible_owner_q`: their team; a manager's, the teams they manage) and an unowned company
  are found, with their contacts; another team's accounts are not. Unowned companies are the
  organisation's shared prospects, as in the admin and the API.
- **Leads, opportunities and activities** are worked by their owner (a lead's assignee), by the
  manager of the owner's team and by a superuser (`acts_for`). A row of another team is missing
  (404); a teammate's row exists for the user but is not theirs to work (403).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import Max, Min, OuterRef, Q, QuerySet, Subquery

from activities.models import Activity
from people.admin_scoping import visible_user_q
from people.models import User
from pipeline.models import Company, Contact, Lead, Opportunity, Stage, StageChange
from pipeline.querysets import visible_owner_q

if TYPE_CHECKING:
    from collections.abc import Iterable

SALES_ROLES = ("sdr", "ae", "am")
OPEN_LEAD_STATUSES = ("new", "contacted", "qualified")
SEARCH_MIN_CHARS = 2
SEARCH_LIMIT = 8
INBOX_LIMIT = 100


# ---------------------------------------------------------------------------
# Reach
# ---------------------------------------------------------------------------
def acts_for(user: User, owner: User | None) -> bool:
    """May `user` work on a row owned by `owner`: their own, a manager their teams' members',
    a superuser anyone's. `owner.team` should be selected with the row."""
    if user.is_superuser:
        return True
    if owner is None:
        return False
    if owner.pk == user.pk:
        return True
    return (
        user.role == User.Role.MANAGER
        and owner.team is not None
        and (owner.team.manager_id == user.pk)
    )


def _owned_or_shared(user: User, field: str) -> Q:
    if user.is_superuser:
        return Q()
    return visible_owner_q(user, field) | Q(**{f"{field}__isnull": True})


def companies_visible_to(user: User) -> QuerySet[Company]:
    """Companies the user may pick: owned within their reach, or unowned (shared prospects)."""
    return Company.objects.filter(_owned_or_shared(user, "owner"))


def contacts_visible_to(user: User) -> QuerySet[Contact]:
    """Contacts of the companies the user may pick."""
    return Contact.objects.filter(_owned_or_shared(user, "company__owner"))


def people_for(user: User) -> QuerySet[User]:
    """Whom the user may book for or hand a deal to: themselves and their team's (a manager:
    their teams') active sales reps."""
    return (
        User.objects.filter(visible_user_q(user), is_active=True)
        .filter(Q(pk=user.pk) | Q(role__in=SALES_ROLES))
        .select_related("team")
        .order_by("first_name", "last_name", "username")
    )


# ---------------------------------------------------------------------------
# Search as you type
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class SearchHit:
    type: str  # "company" or "contact"
    id: int
    label: str
    detail: str
    company_id: int

    def as_dict(self) -> dict[str, object]:
        return {
            "type": self.type,
            "id": self.id,
            "label": self.label,
            "detail": self.detail,
            "company_id": self.company_id,
        }


def company_contact_search(
    *, user: User, query: str, types: Iterable[str] = ("company", "contact")
) -> list[SearchHit]:
    """Companies (by name or organisation number), then contacts (by their name or their
    company's) within the user's reach matching `query`; two queries, nothing below two characters.
    """
    query = query.strip()
    if len(query) < SEARCH_MIN_CHARS:
        return []
    hits: list[SearchHit] = []
    if "company" in types:
        companies = (
            companies_visible_to(user)
            .filter(Q(name__icontains=query) | Q(org_number__icontains=query))
            .order_by("name", "pk")[:SEARCH_LIMIT]
        )
        hits += [SearchHit("company", c.pk, c.name, c.org_number, c.pk) for c in companies]
    if "contact" in types:
        contacts = (
            contacts_visible_to(user)
            .filter(Q(name__icontains=query) | Q(company__name__icontains=query))
            .select_related("company")
            .order_by("name", "pk")[:SEARCH_LIMIT]
        )
        hits += [
            SearchHit("contact", c.pk, c.name, _join(c.title, c.company.name), c.company_id)
            for c in contacts
        ]
    return hits


def _join(*parts: str) -> str:
    return " · ".join(part for part in parts if part)


def company_or_contact_named(*, user: User, name: str) -> Company | Contact | None:
    """The one contact, else the one company, within reach whose name is exactly `name` (any case):
    how a form without JavaScript resolves what the rep typed. None when none or several."""
    name = name.strip()
    if not name:
        return None
    contacts = list(
        contacts_visible_to(user).filter(name__iexact=name).select_related("company")[:2]
    )
    if len(contacts) == 1:
        return contacts[0]
    companies = list(companies_visible_to(user).filter(name__iexact=name)[:2])
    if len(companies) == 1 and not contacts:
        return companies[0]
    return None


# ---------------------------------------------------------------------------
# Links from an activity (only the user's own open leads and deals, and the current link)
# ---------------------------------------------------------------------------
def lead_choices(*, users: Iterable[User], current_id: int | None = None) -> QuerySet[Lead]:
    """Open leads assigned to `users` (and the one already linked): what an activity may link."""
    return Lead.objects.filter(
        Q(assigned_to__in=[u.pk for u in users], status__in=OPEN_LEAD_STATUSES)
        | Q(pk=current_id or 0)
    ).order_by("name", "pk")


def opportunity_choices(
    *, users: Iterable[User], current_id: int | None = None
) -> QuerySet[Opportunity]:
    """Open deals owned by `users` (and the one already linked) to link an activity to."""
    return Opportunity.objects.filter(
        Q(owner__in=[u.pk for u in users], stage__outcome=Stage.Outcome.OPEN)
        | Q(pk=current_id or 0)
    ).order_by("name", "pk")


# ---------------------------------------------------------------------------
# Leads inbox
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class InboxLead:
    lead: Lead
    responded_at: dt.datetime | None
    has_opportunity: bool
    now: dt.datetime

    @property
    def waiting_seconds(self) -> float | None:
        """Seconds since the lead came in, while nobody has answered it."""
        if self.responded_at is not None:
            return None
        return max((self.now - self.lead.received_at).total_seconds(), 0.0)

    @property
    def response_seconds(self) -> float | None:
        if self.responded_at is None:
            return None
        return max((self.responded_at - self.lead.received_at).total_seconds(), 0.0)


@dataclass(frozen=True)
class Inbox:
    waiting: list[InboxLead]
    answered: list[InboxLead]
    total: int
    limit: int


def lead_inbox(*, rep: User, now: dt.datetime) -> Inbox:
    """The rep's open leads, newest first (a fresh lead is where speed pays), split into those
    waiting for a first response and those answered; a lead is answered by its first completed
    activity (as `lead_response_minutes`). Two queries at most."""
    first_response = (
        Activity.objects.filter(lead=OuterRef("pk"), status=Activity.Status.COMPLETED)
        .order_by()
        .values("lead")
        .annotate(first=Min("occurred_at"))
        .values("first")
    )
    opportunity = Opportunity.objects.filter(lead=OuterRef("pk")).values("pk")[:1]
    leads = (
        Lead.objects.filter(assigned_to=rep, status__in=OPEN_LEAD_STATUSES)
        .select_related("company", "contact")
        .annotate(responded_at=Subquery(first_response), opportunity_ref=Subquery(opportunity))
        .order_by("-received_at", "-pk")
    )
    rows = [
        InboxLead(lead, lead.responded_at, lead.opportunity_ref is not None, now)
        for lead in leads[:INBOX_LIMIT]
    ]
    waiting = [r for r in rows if r.responded_at is None]
    answered = [r for r in rows if r.responded_at is not None]
    total = len(rows) if len(rows) < INBOX_LIMIT else leads.count()
    return Inbox(waiting, answered, total, INBOX_LIMIT)


def lead_for_user(*, user: User, pk: int) -> Lead | None:
    """A lead within the user's reading scope (their team's; unassigned ones are nobody's here)."""
    return (
        Lead.objects.visible_to(user)
        .select_related("assigned_to__team", "company", "contact__company")
        .filter(pk=pk)
        .first()
    )


# ---------------------------------------------------------------------------
# Pipeline
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class StageColumn:
    stage: Stage
    opportunities: list[Opportunity]

    @property
    def total(self) -> Decimal:
        return sum((o.amount for o in self.opportunities), Decimal(0))


@dataclass(frozen=True)
class Board:
    columns: list[StageColumn]

    @property
    def count(self) -> int:
        return sum(len(c.opportunities) for c in self.columns)

    @property
    def total(self) -> Decimal:
        return sum((c.total for c in self.columns), Decimal(0))


def pipeline_board(*, rep: User) -> Board:
    """The rep's open opportunities per open stage (every open stage shown, empty or not), with
    when each entered its stage; two queries."""
    stages = list(Stage.objects.filter(outcome=Stage.Outcome.OPEN).order_by("order"))
    opportunities = (
        Opportunity.objects.filter(owner=rep, stage__outcome=Stage.Outcome.OPEN)
        .select_related("company")
        .annotate(entered_at=Max("stage_changes__changed_at"))
        .order_by("-entered_at", "-pk")
    )
    by_stage: dict[int, list[Opportunity]] = defaultdict(list)
    for opp in opportunities:
        by_stage[opp.stage_id].append(opp)
    return Board([StageColumn(stage, by_stage[stage.pk]) for stage in stages])


def opportunity_for_user(*, user: User, pk: int) -> Opportunity | None:
    """An opportunity within the user's reading scope (their team's), ready for its page."""
    return (
        Opportunity.objects.visible_to(user)
        .select_related("owner__team", "created_by", "company", "contact", "stage", "lead")
        .filter(pk=pk)
        .first()
    )


def may_work_opportunity(user: User, opportunity: Opportunity) -> bool:
    """Its owner (and their manager), and whoever created it (an SDR who converted a lead)."""
    return acts_for(user, opportunity.owner) or opportunity.created_by_id == user.pk


@dataclass(frozen=True)
class OpportunityDetail:
    opportunity: Opportunity
    history: list[StageChange]
    activities: list[Activity]
    stages: list[Stage]

    @property
    def stage_outcomes(self) -> dict[str, str]:
        """Each stage's outcome by id, for static/js/move.js (a lost stage asks for a reason)."""
        return {str(stage.pk): stage.outcome for stage in self.stages}


def opportunity_detail(*, opportunity: Opportunity) -> OpportunityDetail:
    """The deal with its stage history (oldest first), its activities and the stages; 3 queries."""
    history = list(
        StageChange.objects.filter(opportunity=opportunity)
        .select_related("from_stage", "to_stage", "changed_by")
        .order_by("changed_at", "pk")
    )
    activities = list(
        Activity.objects.filter(opportunity=opportunity)
        .select_related("owner", "contact")
        .order_by("-occurred_at", "-pk")[:50]
    )
    stages = list(Stage.objects.order_by("order"))
    return OpportunityDetail(opportunity, history, activities, stages)


def open_stages() -> QuerySet[Stage]:
    """The stages a new deal may start in, in pipeline order."""
    return Stage.objects.filter(outcome=Stage.Outcome.OPEN).order_by("order")
