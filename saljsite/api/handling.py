"""Permissions, pagination and error conversion of the API.

Named in the REST_FRAMEWORK settings, so it must not import `rest_framework.views` at import
time (that module reads these settings while it is itself being imported).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from rest_framework import permissions, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.settings import api_settings

from saljsite.api.scopes import actor

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.response import Response


class ScopedWritePermission(permissions.BasePermission):
    """Signed-in callers only (anonymous: 401). Reads are limited by each view's queryset.

    Writes: a view with `managers_write_only = True` refuses everyone else (403); a write on an
    object asks the view's `may_write(actor, obj)` (403 when it says no).
    """

    message = _("You may not change this.")

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        if getattr(view, "managers_write_only", False) and not actor(request).is_manager:
            self.message = _("Only managers may change this.")
            return False
        return True

    def has_object_permission(self, request: Request, view: Any, obj: models.Model) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        may_write = getattr(view, "may_write", None)
        return may_write is None or may_write(actor(request), obj)


class ManagersOnly(permissions.BasePermission):
    """Managers and superusers only: everyone else signed in gets 403 (anonymous: 401)."""

    message = _("Only managers may do this.")

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated and actor(request).is_manager)


class Pagination(PageNumberPagination):
    """`?page=` and `?page_size=` (up to 1 000); answers `count`, `next`, `previous`, `results`."""

    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        response = super().get_paginated_response_schema(schema)
        descriptions = {
            "count": "Number of results over all pages.",
            "next": "URL of the next page; null on the last.",
            "previous": "URL of the previous page; null on the first.",
            "results": "This page's results.",
        }
        for name, text in descriptions.items():
            response["properties"][name]["description"] = text
        return response


def validation_detail(
    error: DjangoValidationError,
    *,
    model: type[models.Model] | None = None,
    constraint_fields: Mapping[str, Sequence[str]] | None = None,
    sent: Sequence[str] = (),
) -> dict[str, list]:
    """A django `ValidationError` as DRF error detail.

    A model constraint's violation message is a non-field error in Django; when the constraint is
    named in `constraint_fields` it goes to the first of its fields the request sent (else the
    first listed), so a client sees `{"mode": [...]}` rather than a message without a field.
    """
    detail = serializers.as_serializer_error(error)
    non_field = [
        *detail.pop(NON_FIELD_ERRORS, []),
        *detail.pop(api_settings.NON_FIELD_ERRORS_KEY, []),
    ]
    targets: dict[str, Sequence[str]] = {}
    if model is not None and constraint_fields:
        targets = {
            str(constraint.get_violation_error_message()): constraint_fields[constraint.name]
            for constraint in model._meta.constraints
            if constraint.name in constraint_fields
        }
    remaining = []
    for message in non_field:
        fields = targets.get(str(message))
        if fields:
            field = next((name for name in fields if name in sent), fields[0])
            detail.setdefault(field, []).append(message)
        else:
            remaining.append(message)
    if remaining:
        detail[api_settings.NON_FIELD_ERRORS_KEY] = remaining
    return detail


@contextlib.contextmanager
def service_errors(serializer: serializers.BaseSerializer | None = None) -> Iterator[None]:
    """Run a service call; its django `ValidationError` becomes a DRF 400 with field messages,
    placed with the serializer's `Meta.constraint_fields` (see `validation_detail`)."""
    try:
        yield
    except DjangoValidationError as error:
        meta = getattr(serializer, "Meta", None)
        data = getattr(serializer, "initial_data", None)
        raise serializers.ValidationError(
            validation_detail(
                error,
                model=getattr(meta, "model", None),
                constraint_fields=getattr(meta, "constraint_fields", None),
                sent=list(data) if isinstance(data, Mapping) else (),
            )
        ) from error


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus: a django `ValidationError` that escaped a view is a 400, not a 500."""
    # Imported here: this module is named in DEFAULT_PERMISSION_CLASSES, which
    # rest_framework.views reads while it is being imported.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, DjangoValidationError):
        exc = serializers.ValidationError(validation_detail(exc))
    return drf_exception_handler(exc, context)
