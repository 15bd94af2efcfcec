"""`ServiceSerializer` fields: built once per class, bound once per class, copied per instance."""

from __future__ import annotations

import importlib

import pytest
from rest_framework import serializers

from activities.serializers import ActivitySerializer
from saljsite.api.serializers import ServiceSerializer, _bound_once


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
