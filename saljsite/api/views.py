"""View mixins and filter base classes of the API."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, ClassVar

from django import forms
from django.db import IntegrityError, models
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField
from rest_framework import serializers, status
from rest_framework.response import Response

from saljsite.api.scopes import Actor, actor
from saljsite.api.serializers import MAX_ID

if TYPE_CHECKING:
    from rest_framework.request import Request


class ScopedQuerysetMixin:
    """`get_queryset` is `scoped_queryset(actor)`; during schema generation an empty queryset."""

    queryset: ClassVar[QuerySet]

    def scoped_queryset(self, actor: Actor) -> QuerySet:
        raise NotImplementedError

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):
            return self.queryset.none()
        return self.scoped_queryset(actor(self.request))


class IdempotentCreateMixin:
    """POST with an `external_id` already stored answers 200 with the stored object, never a
    duplicate: a client may resend a sync. Two concurrent posts race to the unique constraint;
    the loser's service raises (a validation error, or an IntegrityError from the insert) and
    the winner's row is read back. An id used by a row outside the caller's scope is a 400."""

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            self.perform_create(serializer)
        except (serializers.ValidationError, IntegrityError):
            existing = self._stored_for_external_id(serializer.validated_data.get("external_id"))
            if existing is None:
                raise
            return Response(self.get_serializer(existing).data, status=status.HTTP_200_OK)
        return Response(serializer.data, status=status.HTTP_201_CREATED)

    def _stored_for_external_id(self, external_id: str | None) -> models.Model | None:
        if not external_id:
            return None
        existing = self.get_queryset().filter(external_id=external_id).first()
        if existing is None and (
            self.queryset.model._default_manager.filter(external_id=external_id).exists()
        ):
            raise serializers.ValidationError(
                {"external_id": [_("Another record already uses this external id.")]}
            )
        return existing


class IdFilter(filters.NumberFilter):
    """A related object by id (`?owner=12`), unvalidated: an unknown id simply finds nothing."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class UtcDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time, in UTC. Python reads UTC offsets up to ±23:59, PostgreSQL takes
    ±15:59 at most (a larger one was a 500); in UTC every offset is fine, and a moment that has
    no UTC year (before year 1, after 9999) is an invalid value (400)."""

    def to_python(self, value: Any) -> dt.datetime | None:
        moment = super().to_python(value)
        if moment is None or timezone.is_naive(moment):
            return moment
        try:
            return moment.astimezone(dt.UTC)
        except OverflowError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class UtcDateTimeFilter(filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class FilterSet(filters.FilterSet):
    """django-filter's DRF FilterSet whose foreign keys filter by id (`IdFilter`) instead of a
    model choice (a query per request to validate the choice), and whose date-times are read
    in UTC (`UtcDateTimeField`)."""

    FILTER_DEFAULTS = {
        **filters.FilterSet.FILTER_DEFAULTS,
        models.ForeignKey: {"filter_class": IdFilter},
        models.DateTimeField: {"filter_class": UtcDateTimeFilter},
    }
