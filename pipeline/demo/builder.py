"""The demo builder: simulates a year of a sales organisation in memory, then bulk-writes it."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from decimal import Decimal

import holidays
from django.conf import settings
from django.contrib.auth.models import Group
from django.utils import timezone

from activities.models import Activity
from people.models import Team, User
from pipeline.demo.activities import ActivitiesMixin
from pipeline.demo.clock import ClockMixin
from pipeline.demo.deals import DealsMixin
from pipeline.demo.organisation import OrganisationMixin
from pipeline.demo.parts import DemoSummary, _Co, _Rep
from pipeline.demo.words import (
    BATCH_SIZE,
    HISTORY_DAYS,
    PLANNED_DAYS,
    UTC,
)
from pipeline.models import (
    Company,
    Contact,
    Lead,
    Opportunity,
    RepCost,
    Stage,
    StageChange,
)


class _Builder(ClockMixin, OrganisationMixin, DealsMixin, ActivitiesMixin):
    def __init__(self, *, seed: int, scale: float, today: dt.date) -> None:
        self.rng = random.Random(seed)
        self.scale = scale
        self.today = today
        self.tz = timezone.get_default_timezone()
        # History ends at the start of today (site time): only planned activities lie beyond.
        self.cutoff = dt.datetime.combine(today, dt.time(), tzinfo=self.tz).astimezone(UTC)
        self.start = today - dt.timedelta(days=HISTORY_DAYS)
        country = settings.SALJSITE_HOLIDAY_COUNTRY
        # Days off de facto (Midsummer Eve, Christmas Eve…) where the calendar knows them.
        categories = {"public", "de_facto"} & set(
            holidays.country_holidays(country).supported_categories
        )
        off = holidays.country_holidays(
            country, years=range(today.year - 3, today.year + 2), categories=sorted(categories)
        )
        first = today - dt.timedelta(days=HISTORY_DAYS * 2 + 60)
        self.workdays = [
            d
            for n in range((today - first).days + 60)
            if (d := first + dt.timedelta(days=n)).weekday() < 5 and d not in off
        ]
        self.workday_set = set(self.workdays)
        self.history_days = [d for d in self.workdays if self.start <= d < today]
        self.planned_days = [
            d for d in self.workdays if today <= d <= today + dt.timedelta(days=PLANNED_DAYS)
        ]
        self.teams: list[Team] = []
        self.users: list[User] = []
        self.reps: list[_Rep] = []
        self.managers: list[User] = []
        self.cos: list[_Co] = []
        self.leads: list[Lead] = []
        self.opportunities: list[Opportunity] = []
        self.stage_changes: list[StageChange] = []
        # Activities with the rows they link to: owner, booked by, company, contact, lead, deal.
        self.activities: list[tuple[Activity, tuple]] = []
        self.costs: list[RepCost] = []
        self.bookings: Counter[tuple[_Rep, dt.date]] = Counter()  # (SDR, month) → bookings
        self.revenue: Counter[tuple[_Rep, dt.date]] = Counter()  # (rep, month) → SEK won
        stages = list(Stage.objects.order_by("order"))
        self.open_stages = [s for s in stages if s.is_open]
        self.won_stage = next(s for s in stages if s.outcome == Stage.Outcome.WON)
        self.lost_stage = next(s for s in stages if s.outcome == Stage.Outcome.LOST)

    # -- build --------------------------------------------------------------------------------
    def build(self) -> None:
        self._season_cum = list(_accumulate(self._season(d) for d in self.history_days))
        self._org()
        self._companies()
        seeds = self._legacy_and_renewals()
        seeds += self._leads()
        seeds += self._self_sourced()
        for seed in sorted(seeds, key=lambda s: s.at):  # stable: ties keep creation order
            self._opportunity(seed)
        self._background()
        self._rep_costs()

    # -- write --------------------------------------------------------------------------------
    def write(self) -> None:
        Team.objects.bulk_create(self.teams)
        User.objects.bulk_create(self.users, batch_size=BATCH_SIZE)
        for team, manager in zip(self.teams, self.managers, strict=True):
            team.manager = manager
        Team.objects.bulk_update(self.teams, ["manager"])
        group, _created = Group.objects.get_or_create(name="Managers")
        Membership = User.groups.through
        Membership.objects.bulk_create(
            [Membership(user_id=m.pk, group_id=group.pk) for m in self.managers]
        )
        contacts = [c for co in self.cos for c in co.contacts]
        for n, contact in enumerate(contacts, 1):
            contact.external_id = f"demo-ct-{n:05d}"
        for model, rows in (
            (Company, [co.company for co in self.cos]),
            (Contact, contacts),
            (Lead, self.leads),
            (Opportunity, self.opportunities),
            (StageChange, self.stage_changes),
            (RepCost, self.costs),
        ):
            model.objects.bulk_create(rows, batch_size=BATCH_SIZE)
        # In time order, so ids and external ids follow the calendar as they would in real life.
        self.activities.sort(key=lambda row: row[0].occurred_at)
        for n, (act, links) in enumerate(self.activities, 1):
            owner, booked_by, company, contact, lead, opp = links
            act.external_id = f"demo-act-{n:06d}"
            act.owner_id = owner.pk
            act.booked_by_id = booked_by.pk if booked_by is not None else None
            act.company_id = company.pk
            act.contact_id = contact.pk if contact is not None else None
            act.lead_id = lead.pk if lead is not None else None
            act.opportunity_id = opp.pk if opp is not None else None
        Activity.objects.bulk_create(
            [act for act, _links in self.activities], batch_size=BATCH_SIZE
        )

    def summary(self) -> DemoSummary:
        outcomes = Counter(o.stage.outcome for o in self.opportunities)
        return DemoSummary(
            teams=len(self.teams),
            users=len(self.users),
            companies=len(self.cos),
            contacts=sum(len(co.contacts) for co in self.cos),
            leads=len(self.leads),
            opportunities=len(self.opportunities),
            won=outcomes["won"],
            lost=outcomes["lost"],
            open=outcomes["open"],
            stage_changes=len(self.stage_changes),
            activities=len(self.activities),
            activities_by_kind=dict(sorted(Counter(a.kind for a, _ in self.activities).items())),
            activities_by_status=dict(
                sorted(Counter(a.status for a, _ in self.activities).items())
            ),
            rep_costs=len(self.costs),
            revenue_won=sum(
                (o.amount for o in self.opportunities if o.stage.outcome == "won"), Decimal(0)
            ),
        )


def _accumulate(values):
    total = 0.0
    for value in values:
        total += value
        yield total
