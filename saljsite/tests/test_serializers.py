"""`ServiceSerializer` fields: built once per class, bound once per class, copied per instance."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.utils import timezone
from rest_framework import serializers

from activities.models import Activity
from activities.serializers import ActivitySerializer
from activities.services import activity_book
from activities.tests.factories import ActivityFactory
from kpis.target_services import target_set
from people.serializers import UserSerializer
from pipeline.services import rep_cost_set
from pipeline.tests.factories import (
    CompanyFactory,
    ContactFactory,
    LeadFactory,
    OpportunityFactory,
)
from saljsite.api.serializers import ServiceSerializer, _bound_once
from saljsite.tests.api_support import build_org


def service_serializers() -> list[type[ServiceSerializer]]:
    for app in ("kpis", "people", "pipeline"):  # Their subclasses exist once imported.
        importlib.import_module(f"{app}.serializers")
    found, todo = [], [ServiceSerializer]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.append(sub)
            todo.append(sub)
    return found


@pytest.mark.parametrize("serializer_class", service_serializers(), ids=lambda c: c.__name__)
def test_the_fields_are_those_drf_binds(serializer_class):
    serializer = serializer_class()
    serializer.fields  # noqa: B018 (builds the class's bound fields)
    serializer = serializer_class()
    expected = {}
    for name, field in serializer.get_fields().items():
        field.bind(field_name=name, parent=serializer)
        expected[name] = field

    fields = serializer.fields

    assert list(fields) == list(expected)
    for name, field in fields.items():
        assert type(field) is type(expected[name])
        assert field.parent is serializer
        assert field.context is serializer.context
        if _bound_once(field):
            assert field.__dict__ == expected[name].__dict__, name
        else:  # Deep-copied and bound by DRF, with its own child.
            child = getattr(field, "child_relation", None) or getattr(field, "child", None)
            assert child is None or child.parent is field
            assert (field.field_name, field.source) == (name, expected[name].source)


def test_instances_do_not_share_fields():
    first, second = ActivitySerializer(), ActivitySerializer()

    first.fields["subject"].required = True

    assert second.fields["subject"].required is False
    assert first.fields["subject"] is not second.fields["subject"]
    assert second.fields["subject"].parent is second


def test_fields_are_bound_once_per_class(monkeypatch):
    ActivitySerializer().fields  # noqa: B018
    calls = []
    bind = serializers.Field.bind

    def counting(self, field_name, parent):
        calls.append(field_name)
        bind(self, field_name, parent)

    monkeypatch.setattr(serializers.Field, "bind", counting)

    fields = ActivitySerializer().fields

    assert calls == []
    assert len(fields) == len(ActivitySerializer._built_fields)


def test_a_field_with_a_child_is_copied_and_bound_as_drf_does():
    class WithList(ActivitySerializer):
        tags = serializers.ListField(child=serializers.CharField(), required=False)

        class Meta(ActivitySerializer.Meta):
            fields = [*ActivitySerializer.Meta.fields, "tags"]

    first, second = WithList(), WithList()

    assert first.fields["tags"].child.parent is first.fields["tags"]
    assert second.fields["tags"].child.parent is second.fields["tags"]
    assert first.fields["tags"].parent is first
    assert first.fields["tags"].child is not second.fields["tags"].child


# ---------------------------------------------------------------------------
# Output: DRF's, with plain model attributes read directly
# ---------------------------------------------------------------------------
@pytest.fixture
def rows():
    """At least one row of each model a ServiceSerializer outputs, with set and empty links."""
    org = build_org()
    company = CompanyFactory(owner=org.anna)
    contact = ContactFactory(company=company)
    lead = LeadFactory(assigned_to=org.sam, company=company, contact=contact)
    deal = OpportunityFactory(company=company, owner=org.anna, lead=lead, contact=contact)
    ActivityFactory(owner=org.anna, kind="call", outcome="connected", duration_seconds=61)
    activity_book(
        booked_by=org.sam, owner=org.anna, kind="meeting", occurred_at=timezone.now(),
        company=company, contact=contact, opportunity=deal, subject="Demo", mode="digital",
    )  # fmt: skip
    ActivityFactory(owner=org.bo, kind="email", replied=True, external_id="mail-1")
    rep_cost_set(rep=org.anna, month=dt.date(2026, 3, 1), kind="salary", amount="41000.50")
    january, december = dt.date(2026, 1, 1), dt.date(2026, 12, 31)
    target_set(kpi="calls_made", scope="rep", rep=org.anna, period="month", value=40,
               valid_from=january, changed_by=org.mia)  # fmt: skip
    target_set(kpi="win_rate", scope="team", team=org.north, period="quarter", value="0.3",
               valid_from=january, valid_to=december, changed_by=None)  # fmt: skip
    return org


def drf_output(serializer: ServiceSerializer, instance) -> dict:
    return serializers.Serializer.to_representation(serializer, instance)


@pytest.mark.django_db
@pytest.mark.parametrize("serializer_class", service_serializers(), ids=lambda c: c.__name__)
def test_the_output_is_drfs(rows, serializer_class):
    model = serializer_class.Meta.model
    instances = list(model.objects.all())
    assert instances
    serializer = serializer_class(context={"request": None})

    for instance in instances:
        assert serializer.to_representation(instance) == drf_output(serializer, instance)
    assert serializer_class(instances, many=True).data == [
        drf_output(serializer, instance) for instance in instances
    ]


@pytest.mark.django_db
def test_an_activitys_model_values_and_ids_are_read_without_drfs_lookups(rows, monkeypatch):
    activity = Activity.objects.filter(kind="meeting").get()
    expected = drf_output(ActivitySerializer(), activity)

    def lookup(self, instance):
        raise AssertionError(f"DRF's get_attribute for {self.field_name}")

    monkeypatch.setattr(serializers.Field, "get_attribute", lookup)
    monkeypatch.setattr(serializers.RelatedField, "get_attribute", lookup)

    assert ActivitySerializer(activity).data == expected
    assert expected["booked_by"] == rows.sam.pk and expected["mode"] == "digital"


@pytest.mark.django_db
def test_a_callable_or_missing_attribute_goes_through_drf(rows):
    user = rows.anna
    user.first_name, user.last_name = "Anna", "Berg"
    serializer = UserSerializer()

    assert serializer.to_representation(user)["name"] == "Anna Berg"  # source: a method
    del user.role  # Deferred now: read from the database, as DRF would.
    assert serializer.to_representation(user) == drf_output(serializer, user)
