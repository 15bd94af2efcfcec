"""A small sales organisation for the rep workspace's page tests: two teams, their accounts,
leads, deals, activities and targets, all written through the services.

`grow(org, size)` adds `size` more of everything, so a page can be measured at two data sizes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from activities import services as activity_services
from kpis.models import Target
from people.models import User
from people.tests.factories import ManagerFactory, TeamFactory, UserFactory
from pipeline import services as pipeline_services
from pipeline.models import Company, Contact, Lead, Opportunity
from pipeline.tests.factories import CompanyFactory, ContactFactory

PASSWORD = "pw-for-tests-1"  # The factories' password.


@dataclass
class Org:
    manager: User
    sdr: User
    ae: User
    ae2: User
    other_rep: User  # Another team.
    other_manager: User
    company: Company  # Owned by the AE.
    contact: Contact
    shared_company: Company  # Unowned: everyone's prospect.
    other_company: Company  # Owned by the other team.
    other_contact: Contact
    lead: Lead  # Assigned to the SDR, new.
    other_lead: Lead
    opportunity: Opportunity  # The AE's, open.
    other_opportunity: Opportunity


def build_org() -> Org:
    team = TeamFactory(name="Team Stockholm")
    other_team = TeamFactory(name="Team Göteborg")
    manager = ManagerFactory(username="manager", first_name="Maja", team=team)
    sdr = UserFactory(
        username="sdr", first_name="Sara", last_name="Svensson", role="sdr", team=team
    )
    ae = UserFactory(username="ae", first_name="Erik", last_name="Ek", role="ae", team=team)
    ae2 = UserFactory(username="ae2", first_name="Anna", last_name="Berg", role="ae", team=team)
    other_rep = UserFactory(username="other", first_name="Olle", role="ae", team=other_team)
    other_manager = ManagerFactory(username="othermanager", team=other_team)
    company = CompanyFactory(name="Acme Verkstad AB", owner=ae)
    contact = ContactFactory(company=company, name="Karin Lind", is_decision_maker=True)
    shared_company = CompanyFactory(name="Delta Logistik AB", owner=None)
    other_company = CompanyFactory(name="Gamma Bygg AB", owner=other_rep)
    other_contact = ContactFactory(company=other_company, name="Göran Gamma")
    lead = pipeline_services.lead_create(
        name="Webbförfrågan Acme",
        assigned_to=sdr,
        contact=contact,
        received_at=timezone.now() - dt.timedelta(minutes=42),
    )
    other_lead = pipeline_services.lead_create(name="Gamma lead", assigned_to=other_rep)
    opportunity = pipeline_services.opportunity_create(
        name="Acme maskinpark",
        company=company,
        owner=ae,
        created_by=ae,
        amount=Decimal("150000"),
        created_at=timezone.now() - dt.timedelta(days=3),
    )
    other_opportunity = pipeline_services.opportunity_create(
        name="Gamma deal", company=other_company, owner=other_rep, created_by=other_rep
    )
    return Org(
        manager,
        sdr,
        ae,
        ae2,
        other_rep,
        other_manager,
        company,
        contact,
        shared_company,
        other_company,
        other_contact,
        lead,
        other_lead,
        opportunity,
        other_opportunity,
    )


def grow(org: Org, size: int) -> None:
    """`size` more companies, contacts, leads, deals (with moves), activities, bookings, targets."""
    now = timezone.now()
    today = timezone.localdate()
    stages = ["meeting", "proposal", "negotiation"]
    for i in range(size):
        company = CompanyFactory(owner=org.ae if i % 2 else None)
        contact = ContactFactory(company=company)
        lead = pipeline_services.lead_create(
            name=f"Lead {company.name}",
            assigned_to=org.sdr,
            contact=contact,
            received_at=now - dt.timedelta(hours=i + 1),
        )
        if i % 2:
            activity_services.activity_log(
                owner=org.sdr, kind="email", lead=lead, occurred_at=now - dt.timedelta(minutes=i)
            )
        opp = pipeline_services.opportunity_create(
            name=f"Deal {company.name}",
            company=company,
            owner=org.ae,
            created_by=org.sdr,
            lead=lead if i % 3 == 0 else None,
            amount=Decimal(10_000 * (i + 1)),
            created_at=now - dt.timedelta(days=10),
        )
        pipeline_services.opportunity_move_stage(
            opportunity=opp,
            to_stage=stages[i % 3],
            changed_by=org.ae,
            at=now - dt.timedelta(days=5),
        )
        for rep in (org.ae, org.sdr):
            activity = activity_services.activity_log(
                owner=rep,
                kind="call",
                outcome="connected",
                duration_seconds=120 + i,
                contact=contact,
                opportunity=opp if rep == org.ae else None,
                occurred_at=now - dt.timedelta(minutes=5 + i),
                changed_by=rep,
            )
            activity_services.activity_update(
                activity=activity, notes=f"Follow-up {i}", changed_by=rep
            )
        activity_services.activity_book(
            booked_by=org.sdr,
            owner=org.ae,
            kind="meeting",
            mode="digital",
            contact=contact,
            occurred_at=now - dt.timedelta(minutes=30 + i),
            changed_by=org.sdr,
        )
        activity_services.activity_log(
            owner=org.ae,
            kind="demo",
            status="planned",
            occurred_at=now + dt.timedelta(days=1, hours=i),
        )
    week_start = today - dt.timedelta(days=today.weekday())
    for rep in (org.ae, org.sdr):
        for code, value in (("calls_made", 40), ("emails_sent", 25)):
            Target.objects.get_or_create(
                kpi=code,
                scope="rep",
                rep=rep,
                period="week",
                valid_from=week_start,
                defaults={"value": value},
            )
