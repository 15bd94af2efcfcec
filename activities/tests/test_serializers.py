"""`ActivitySerializer`: what it checks is what the model checks (the services rely on it)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import ValidationError
from rest_framework.fields import SkipField

from activities.bulk.checks import _VALID_DEFAULTS
from activities.bulk.fields import DEFAULTS
from activities.models import Activity
from activities.serializers import ActivitySerializer

PROBES = [
    None, "", " ", "x" * 10, "x" * 11, "x" * 101, "x" * 200, "x" * 201, "x" * 5000,
    -1, 0, 1, 185, 2**31 - 1, 2**31, 2**63, 1.5, "5", "-5", True, False, "true", [], {},
    *(value for choices in (Activity.Kind, Activity.Status, Activity.Outcome, Activity.Mode)
      for value in choices.values),
    "inbound", "outbound", "sideways", "fax",
    "2026-03-10T09:30:00+01:00", "2026-03-10", "10000-01-01T00:00:00Z", "not a time",
]  # fmt: skip


def test_the_model_checked_fields_are_the_writable_model_built_ones():
    checked = ActivitySerializer().model_checked_fields()

    assert "kind" in checked and "subject" in checked and "duration_seconds" in checked
    # Declared fields (ids, the external id) and read-only ones are the model's to check.
    assert not checked & {"owner", "company", "external_id", "created_at", "updated_at", "id"}


@pytest.mark.parametrize("name", sorted(ActivitySerializer().model_checked_fields()))
def test_a_value_a_model_checked_field_accepts_passes_the_model_fields_clean(name):
    # The services skip `clean_fields` for these (`checked_fields`): that is only right when
    # the serializer refuses everything the model field would.
    field = ActivitySerializer().fields[name]
    model_field = Activity._meta.get_field(name)
    accepted = 0
    for probe in PROBES:
        try:
            value = field.run_validation(probe)
        except (ValidationError, SkipField):
            continue
        accepted += 1
        try:
            model_field.clean(value, Activity())
        except DjangoValidationError as error:
            pytest.fail(f"{name}: {probe!r} passes the serializer, not the model: {error}")
    assert accepted  # The probes reach the comparison for every field.


def test_the_defaults_left_uncleaned_pass_their_fields_clean():
    assert _VALID_DEFAULTS  # Not empty: the skip is in use.
    for name in _VALID_DEFAULTS:
        Activity._meta.get_field(name).clean(DEFAULTS[name], Activity())
    # A default that would fail (no time yet) is cleaned as given.
    assert "occurred_at" not in _VALID_DEFAULTS
