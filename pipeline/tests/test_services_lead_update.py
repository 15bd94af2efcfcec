"""`lead_update`: a lead's details change; its assignee and received time do not."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from kpis.models import DirtyCell
from people.tests.factories import UserFactory
from pipeline.services import lead_create, lead_update
from pipeline.tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


def test_lead_update_changes_the_details():
    lead = lead_create(name="Web form", assigned_to=UserFactory())
    DirtyCell.objects.all().delete()

    lead = lead_update(lead=lead, status="qualified", notes="Budget approved")

    lead.refresh_from_db()
    assert (lead.status, lead.notes) == ("qualified", "Budget approved")
    assert not DirtyCell.objects.exists()  # No KPI reads these fields.


def test_a_contact_without_a_company_lends_its_company():
    lead = lead_create(name="Referral")
    contact = ContactFactory()

    lead = lead_update(lead=lead, contact=contact)

    assert lead.company == contact.company


def test_an_invalid_status_is_refused():
    lead = lead_create(name="Lead")

    with pytest.raises(ValidationError) as error:
        lead_update(lead=lead, status="won")

    assert "status" in error.value.message_dict


@pytest.mark.parametrize("field", ["assigned_to", "received_at"])
def test_the_assignee_and_received_time_are_not_editable_here(field):
    lead = lead_create(name="Lead")

    with pytest.raises(TypeError):
        lead_update(lead=lead, **{field: None})
