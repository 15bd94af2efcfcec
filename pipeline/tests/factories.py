"""Factories that write through the services, so tests exercise the real write path."""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from people.tests.factories import UserFactory
from pipeline import services
from pipeline.models import Company, Contact, Lead, Opportunity


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company

    name = factory.Sequence(lambda n: f"Company {n} AB")
    owner = None


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    company = factory.SubFactory(CompanyFactory)
    name = factory.Faker("name")
    title = "Purchaser"
    is_decision_maker = False


class LeadFactory(factory.Factory):
    class Meta:
        model = Lead

    name = factory.Sequence(lambda n: f"Lead {n}")
    source = "website"
    direction = "inbound"
    received_at = factory.LazyFunction(timezone.now)
    assigned_to = factory.SubFactory(UserFactory, role="sdr")
    company = None
    contact = None

    @classmethod
    def _create(cls, model_class, **kwargs):
        return services.lead_create(**kwargs)


class OpportunityFactory(factory.Factory):
    class Meta:
        model = Opportunity

    name = factory.Sequence(lambda n: f"Deal {n}")
    company = factory.SubFactory(CompanyFactory)
    owner = factory.SubFactory(UserFactory)
    created_by = factory.SelfAttribute("owner")
    kind = "new_business"
    lead_source = "website"
    channel = "field"
    amount = 100_000
    created_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=1))

    @classmethod
    def _create(cls, model_class, **kwargs):
        return services.opportunity_create(**kwargs)
