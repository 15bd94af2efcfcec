"""The REST API `/api/v1/`: shared pieces; each app's `api.py` holds its views.

The rules every endpoint follows (the KPI endpoints reuse these pieces):
- Reads go through the caller's scope (`Actor`): an object outside it is missing (404), never
  forbidden, so an id of another team reveals nothing.
- Writes go through the services. A service's django `ValidationError` becomes a 400 with field
  messages (`service_errors`); a model constraint's message is put on the field it is about.
- Writing for someone else, or setting what only managers set (history timestamps, `created_by`),
  is refused with 403 (`PermissionDenied`): the value is well-formed, the caller lacks the right.

Modules: `scopes` (Actor), `handling` (permission, pagination, errors), `serializers`
(ServiceSerializer, IdField), `views` (view mixins, FilterSet), `auth` (the token endpoint),
`authentication` (token authentication, one precompiled query), `negotiation` (content
negotiation, DRF's with a shortcut), `renderers` (`?format=csv|xlsx` downloads), `urls` (router).
"""

from __future__ import annotations

from saljsite.api.handling import (
    ManagersOnly,
    Pagination,
    ScopedWritePermission,
    exception_handler,
    service_errors,
    validation_detail,
)
from saljsite.api.scopes import Actor, actor
from saljsite.api.serializers import MAX_ID, IdField, ServiceSerializer, resolve_ids
from saljsite.api.views import FilterSet, IdempotentCreateMixin, IdFilter, ScopedQuerysetMixin

__all__ = [
    "MAX_ID",
    "Actor",
    "FilterSet",
    "IdField",
    "IdFilter",
    "IdempotentCreateMixin",
    "ManagersOnly",
    "Pagination",
    "ScopedQuerysetMixin",
    "ScopedWritePermission",
    "ServiceSerializer",
    "actor",
    "exception_handler",
    "resolve_ids",
    "service_errors",
    "validation_detail",
]
