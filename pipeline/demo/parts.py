"""The building blocks the demo builder keeps in memory before it writes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from decimal import Decimal

from people.models import User
from pipeline.models import (
    Company,
    Contact,
    Lead,
)


def org_number(rng: random.Random) -> str:
    """A valid Swedish organisation number of an aktiebolag (556…/559…): Luhn check digit last."""
    digits = [5, 5, rng.choice((6, 9))] + [rng.randrange(10) for _ in range(6)]
    total = sum(sum(divmod(d * (2 - i % 2), 10)) for i, d in enumerate(digits))
    digits.append((10 - total % 10) % 10)
    text = "".join(map(str, digits))
    return f"{text[:6]}-{text[6:]}"


def _ascii(text: str) -> str:
    return text.lower().translate(str.maketrans("åäöé", "aaoe")).replace(" ", "")


@dataclasses.dataclass(eq=False)
class _Rep:
    user: User
    role: str
    team: int
    skill: float = 1.0


@dataclasses.dataclass(eq=False)
class _Co:
    company: Company
    team: int
    owner: _Rep
    contacts: list[Contact]
    customer_since: dt.datetime | None = None  # first won deal's close (a customer from then on)

    def is_customer(self, at: dt.datetime) -> bool:
        return self.customer_since is not None and self.customer_since < at


@dataclasses.dataclass(eq=False)
class _Seed:
    """An opportunity to be: who creates it, when, on what; its fate is simulated later."""

    at: dt.datetime
    creator: _Rep
    owner: _Rep
    co: _Co | None  # None: an upsell whose account is picked when it is created
    kind: str
    source: str
    channel: str
    contact: Contact | None = None
    lead: Lead | None = None
    amount: int | None = None


@dataclasses.dataclass(frozen=True)
class DemoSummary:
    teams: int
    users: int
    companies: int
    contacts: int
    leads: int
    opportunities: int
    won: int
    lost: int
    open: int
    stage_changes: int
    activities: int
    activities_by_kind: dict[str, int]
    activities_by_status: dict[str, int]
    rep_costs: int
    revenue_won: Decimal

    def lines(self) -> list[str]:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.activities_by_kind.items()))
        statuses = ", ".join(f"{k} {n}" for k, n in sorted(self.activities_by_status.items()))
        return [
            f"  {self.teams} teams, {self.users} users, {self.companies} companies, "
            f"{self.contacts} contacts, {self.leads} leads",
            f"  {self.opportunities} opportunities ({self.won} won, {self.lost} lost, "
            f"{self.open} open; {self.revenue_won:,.0f} SEK won), "
            f"{self.stage_changes} stage changes",
            f"  {self.activities} activities ({kinds}; {statuses})",
            f"  {self.rep_costs} rep costs",
        ]
