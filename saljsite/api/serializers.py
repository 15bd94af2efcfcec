"""The base serializer of the API and its related-object field."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import QuerySet
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.fields import SkipField, empty
from rest_framework.relations import PKOnlyObject
from rest_framework.utils import html
from rest_framework.utils.serializer_helpers import BindingDict

from saljsite.api.scopes import Actor, actor

# Ids are 64-bit integers; a larger number can name no row (and would overflow the database).
MAX_ID = 2**63 - 1
_MISSING = object()
_PK_FIELD = serializers.PrimaryKeyRelatedField


class IdField(serializers.PrimaryKeyRelatedField):
    """A related object by id.

    Parsing makes no query; `ServiceSerializer.validate` resolves all ids of a request in bulk
    (one query per model) within the caller's scope. Output is the stored id (no query either).
    """

    def __init__(self, *, model: type[models.Model], **kwargs: Any) -> None:
        self.model = model
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet:
        return self.model._default_manager.all()

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("incorrect_type", data_type=type(data).__name__)
        try:
            pk = int(data)
        except ValueError:
            self.fail("incorrect_type", data_type=type(data).__name__)
        if not 0 < pk <= MAX_ID:
            self.fail("does_not_exist", pk_value=data)
        return pk


def _unbound_copy(field: serializers.Field) -> serializers.Field:
    """A copy of a never-bound field for one serializer instance to bind.

    Binding only sets attributes on the copy (name, parent, source), so a shallow copy of the
    instance dict is enough; it costs a few microseconds where `deepcopy` re-runs each field's
    `__init__` (DRF's default, about 30 µs a field). Fields with a bound child (lists, nested
    serializers, many-related) are deep-copied: the child's parent must be the copy.
    """
    if isinstance(field, serializers.BaseSerializer) or hasattr(field, "child_relation"):
        return copy.deepcopy(field)
    if hasattr(field, "child"):
        return copy.deepcopy(field)
    clone = object.__new__(type(field))
    clone.__dict__.update(field.__dict__)
    return clone


def _bound_once(field: serializers.Field) -> bool:
    """The field is copied shallowly (`_unbound_copy`) and bound by DRF's own `Field.bind`,
    which depends on the field's name only (and sets the parent)."""
    return (
        type(field).bind is serializers.Field.bind
        and not isinstance(field, serializers.BaseSerializer)
        and not hasattr(field, "child_relation")
        and not hasattr(field, "child")
    )


class ServiceSerializer(serializers.ModelSerializer):
    """Input shape and output of a resource whose writes are service calls made by the view.

    - Fields are built from the model once per class and copied per instance: ModelSerializer
      otherwise rebuilds them on every request, most of the overhead of a naive create.
    - `IdField` ids are resolved in bulk: `related_scopes()` says where each must be found
      (default: anywhere; user fields are then checked by the view's write rules, 403).
    - `create_only` fields may be sent on create; on update the stored value may be sent back
      unchanged (a PUT of a fetched object), a different one is refused with 400.
    - `Meta.descriptions` gives each model-built field its OpenAPI description; declared fields
      take `help_text` directly. `Meta.constraint_fields` places constraint messages on fields.
    """

    create_only: ClassVar[tuple[str, ...]] = ()

    def get_fields(self) -> dict[str, serializers.Field]:
        cls = type(self)
        fields = cls.__dict__.get("_built_fields")
        if fields is None:
            fields = super().get_fields()
            cls._built_fields = fields
        return {name: _unbound_copy(field) for name, field in fields.items()}

    @cached_property
    def fields(self) -> BindingDict:
        """DRF's bound fields, bound once per class: `Field.bind` sets the field's name, source,
        source attributes and label, the same for every instance of the class, and its parent.
        Each instance gets a shallow copy of the bound field with itself as parent (about 15 µs
        for an activity's 22 fields, where copying and binding each cost 55 µs). A field whose
        class binds otherwise, or with a bound child, is copied and bound as before."""
        cls = type(self)
        bound = cls.__dict__.get("_bound_fields")
        if bound is None:
            bound = {}
            for name, field in self.get_fields().items():
                if _bound_once(field):
                    field.bind(field_name=name, parent=None)
                    bound[name] = field
                else:
                    bound[name] = None
            cls._bound_fields = bound
        fields = BindingDict(self)
        for name, field in bound.items():
            if field is None:
                fields[name] = _unbound_copy(cls._built_fields[name])  # Bound by DRF.
            else:
                clone = object.__new__(type(field))
                clone.__dict__.update(field.__dict__)
                clone.parent = self
                fields.fields[name] = clone  # The BindingDict's own dict: bound already.
        return fields

    def to_representation(self, instance: Any) -> dict[str, Any]:
        """DRF's output, reading a model field's value straight from the instance where DRF's
        `get_attribute` would end up reading just that attribute (`_direct_reads`): half the
        cost of an activity's output. Every other field, and a mapping, go through DRF."""
        if isinstance(instance, Mapping):
            return super().to_representation(instance)
        direct = self._direct_reads()
        ret: dict[str, Any] = {}
        # `_readable_fields`, from the BindingDict's own dict (its Mapping views cost more).
        for field in self.fields.fields.values():
            if field.write_only:
                continue
            how = direct.get(field.field_name)
            if how is not None and type(field) is how[2]:
                value = getattr(instance, how[0], _MISSING)
                if value is None:
                    ret[field.field_name] = None
                    continue
                if value is not _MISSING and not callable(value):
                    ret[field.field_name] = value if how[1] else field.to_representation(value)
                    continue
            # DRF's own steps (`Serializer.to_representation`), for this field.
            try:
                attribute = field.get_attribute(instance)
            except SkipField:
                continue
            check = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
            ret[field.field_name] = None if check is None else field.to_representation(attribute)
        return ret

    def _direct_reads(self) -> dict[str, tuple[str, bool, type]]:
        """By field name, for the class's fields whose value DRF reads as one model attribute:
        the attribute, whether it is a related id given as is, and the field's class.
        - A field of DRF's own `get_attribute` whose source is a concrete model field that is no
          relation: DRF reads `getattr(instance, source)` (a value, never a callable) and calls
          the field's `to_representation` unless it is None.
        - A `PrimaryKeyRelatedField` (as `IdField`) without `pk_field` over a forward foreign
          key: DRF reads the key's `attname` (`serializable_value`) and gives it as is.
        Computed once per class."""
        cls = type(self)
        found = cls.__dict__.get("_direct")
        if found is None:
            meta = self.Meta.model._meta
            found = {}
            for name, field in self.fields.items():
                if field.write_only or len(field.source_attrs) != 1:
                    continue
                try:
                    model_field = meta.get_field(field.source)
                except FieldDoesNotExist:
                    continue
                if not model_field.concrete:
                    continue
                kind = type(field)
                if not model_field.is_relation:
                    if kind.get_attribute is serializers.Field.get_attribute:
                        found[name] = (model_field.attname, False, kind)
                elif (
                    isinstance(field, serializers.PrimaryKeyRelatedField)
                    and field.pk_field is None
                    and model_field.many_to_one
                    and kind.get_attribute is serializers.RelatedField.get_attribute
                    and kind.to_representation is _PK_FIELD.to_representation
                    and kind.use_pk_only_optimization is _PK_FIELD.use_pk_only_optimization
                ):
                    found[name] = (model_field.attname, True, kind)
            cls._direct = found
        return found

    def model_checked_fields(self) -> frozenset[str]:
        """The writable fields ModelSerializer built from the model field of the same name (not
        declared here): they carry that field's checks (choices, max_length, null and blank,
        its validators), so a value they accepted passes the model field's `clean` too and a
        service need not clean it again. Computed once per class."""
        cls = type(self)
        found = cls.__dict__.get("_model_checked")
        if found is None:
            self.get_fields()  # Builds the class's fields once.
            model_fields = {field.name for field in self.Meta.model._meta.concrete_fields}
            found = frozenset(
                name
                for name, field in cls._built_fields.items()
                if name not in self._declared_fields
                and name in model_fields
                and not field.read_only
                and field.source in (None, name)
            )
            cls._model_checked = found
        return found

    @property
    def _writable_fields(self) -> Iterator[serializers.Field]:
        """DRF's, minus (while `to_internal_value` reads a JSON object) the optional fields
        without a default that the object leaves out: DRF would visit each only to raise and
        catch `SkipField` (14 of an activity's 19 fields for a typical call)."""
        given = self.__dict__.get("_given")
        writable = self.__dict__.get("_writable")
        if writable is None:  # Once per instance (a batch validates all its items with one).
            writable = self._writable = [
                (field, not field.required and field.default is empty)
                for field in self.fields.values()
                if not field.read_only
            ]
        for field, optional in writable:
            if optional and given is not None and field.field_name not in given:
                continue
            yield field

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, Mapping) or html.is_html_input(data) or self._is_partial():
            return super().to_internal_value(data)
        self._given = data
        try:
            return super().to_internal_value(data)
        finally:
            self._given = None

    def _is_partial(self) -> bool:
        return bool(getattr(self.root, "partial", False))

    def get_extra_kwargs(self) -> dict[str, dict[str, Any]]:
        extra = copy.deepcopy(super().get_extra_kwargs())
        for name, text in getattr(self.Meta, "descriptions", {}).items():
            extra.setdefault(name, {}).setdefault("help_text", text)
        return extra

    def get_validators(self) -> list:
        # Uniqueness (external ids, org numbers) is checked by the model's full_clean in the
        # service; an `external_id` seen before is the idempotent path, not a 400.
        return []

    def create(self, validated_data: dict[str, Any]) -> models.Model:
        raise NotImplementedError("Writes are service calls made by the view.")

    def update(self, instance: models.Model, validated_data: dict[str, Any]) -> models.Model:
        raise NotImplementedError("Writes are service calls made by the view.")

    def related_scopes(self) -> Mapping[str, QuerySet | Callable[[], QuerySet]]:
        """Where each `IdField`'s id must be found; missing ones are 400 "does not exist". A
        value may be a factory, called only when a request sends that field (building a scoped
        queryset costs more than most of a create)."""
        return {}

    @property
    def actor(self) -> Actor:
        return actor(self.context["request"])

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        self._check_create_only(attrs)
        # A batch resolves the ids of all its items at once (`resolve_ids`).
        if not self.context.get("defer_ids"):
            errors = resolve_ids([(self, attrs)])[0]
            if errors:
                raise serializers.ValidationError(errors)
        return attrs

    def _stored(self, name: str) -> Any:
        field = self.fields[name]
        if isinstance(field, IdField):
            return getattr(self.instance, self.Meta.model._meta.get_field(field.source).attname)
        return field.get_attribute(self.instance)

    def _check_create_only(self, attrs: dict[str, Any]) -> None:
        if self.instance is None:
            return
        errors = {}
        for name in self.create_only:
            if name not in attrs:
                continue
            field, value, stored = self.fields[name], attrs.pop(name), self._stored(name)
            if not isinstance(field, IdField):
                value, stored = field.to_representation(value), field.to_representation(stored)
            if value != stored:
                errors[name] = [_("Set when the record is created; it cannot be changed.")]
        if errors:
            raise serializers.ValidationError(errors)


def resolve_ids(entries: Sequence[tuple[ServiceSerializer, dict[str, Any]]]) -> list[dict]:
    """Resolve the `IdField` ids of validated inputs of one serializer class, in place: each id
    becomes its row, looked up where `related_scopes()` says (default: anywhere). One query per
    scope for all the entries. Returns each entry's errors (missing ids: "does not exist").
    """
    if not entries:
        return []
    scopes: Mapping[str, QuerySet | Callable[[], QuerySet]] | None = None
    built: dict[int, QuerySet] = {}  # A scope given as a factory is built once, when needed.
    default_scopes: dict[type[models.Model], QuerySet] = {}
    wanted: dict[int, tuple[QuerySet, set[int]]] = {}
    asked: list[list[tuple[str, IdField, QuerySet, int]]] = []
    id_fields: dict[int, list[tuple[str, IdField]]] = {}  # By serializer (a batch shares one).
    for serializer, attrs in entries:
        mine = []
        fields = id_fields.get(id(serializer))
        if fields is None:
            fields = id_fields[id(serializer)] = [
                (name, field)
                for name, field in serializer.fields.items()
                if isinstance(field, IdField) and not field.read_only
            ]
        for name, field in fields:
            if attrs.get(field.source) is None:
                continue
            pk = attrs[field.source]
            if serializer.instance is not None and pk == serializer._stored(name):
                del attrs[field.source]  # Unchanged: nothing to resolve, nothing to write.
                continue
            if scopes is None:
                scopes = entries[0][0].related_scopes()
            queryset = scopes.get(name)
            if callable(queryset):
                if id(queryset) not in built:
                    built[id(queryset)] = queryset()
                queryset = built[id(queryset)]
            if queryset is None:
                queryset = default_scopes.setdefault(field.model, field.get_queryset())
            wanted.setdefault(id(queryset), (queryset, set()))[1].add(pk)
            mine.append((name, field, queryset, pk))
        asked.append(mine)
    found = {key: queryset.in_bulk(pks) for key, (queryset, pks) in wanted.items()}
    all_errors = []
    for (_serializer, attrs), mine in zip(entries, asked, strict=True):
        errors = {}
        for name, field, queryset, pk in mine:
            row = found[id(queryset)].get(pk)
            if row is not None:
                attrs[field.source] = row
            else:
                errors[name] = [field.error_messages["does_not_exist"].format(pk_value=pk)]
        all_errors.append(errors)
    return all_errors
