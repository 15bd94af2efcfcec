"""Token authentication of the API, with the token lookup as one precompiled query.

DRF's `TokenAuthentication` builds and compiles `Token.objects.select_related("user").get(key=…)`
on every request: about half a millisecond of CPU, a tenth of a whole activity create. The same
query (the token joined to its user) is compiled by the ORM once per database vendor and then
run as is, prepared on PostgreSQL (`saljsite.prepared`); its row becomes the `User` and `Token`
instances the ORM would build. Same answers: unknown token or inactive user → 401.

Named in the REST_FRAMEWORK settings: it must not import `rest_framework.views` (see `handling`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connections, router
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from people.models import User
from saljsite.prepared import prepared_cursor

_USER_FIELDS = list(User._meta.concrete_fields)
# By database vendor: the SQL and the converters of its columns (the ORM's `from_db_value`s).
_COMPILED: dict[str, tuple[str, list[tuple[int, list[Callable], Any]]]] = {}


def _compiled(alias: str) -> tuple[str, list[tuple[int, list[Callable], Any]]]:
    """The ORM's SQL of the lookup (the token's creation time, then the user's columns) and its
    value converters, compiled once per vendor; the only parameter is the key."""
    vendor = connections[alias].vendor
    compiled = _COMPILED.get(vendor)
    if compiled is None:
        lookup = (
            Token.objects.using(alias)
            .filter(key="")
            .values_list("created", *(f"user__{field.attname}" for field in _USER_FIELDS))
        )
        compiler = lookup.query.get_compiler(alias)
        sql, params = compiler.as_sql()
        if tuple(params) != ("",):
            raise RuntimeError(f"Unexpected parameters of the token lookup: {params!r}")
        converters = compiler.get_converters([column[0] for column in compiler.select])
        compiled = (
            sql,
            [(pos, funcs, expression) for pos, (funcs, expression) in converters.items()],
        )
        _COMPILED[vendor] = compiled
    return compiled


def token_user(key: str) -> tuple[User, Token] | None:
    """The token with this key and its user (one query), or None."""
    alias = router.db_for_read(Token)
    connection = connections[alias]
    sql, converters = _compiled(alias)
    with prepared_cursor(connection) as cursor:  # Planned once per connection (PostgreSQL).
        cursor.execute(sql, [key])
        row = cursor.fetchone()
    if row is None:
        return None
    row = list(row)
    for pos, funcs, expression in converters:
        for convert in funcs:
            row[pos] = convert(row[pos], expression, connection)
    user = User.from_db(alias, [field.attname for field in _USER_FIELDS], row[1:])
    token = Token.from_db(alias, ["key", "user_id", "created"], [key, user.pk, row[0]])
    token.user = user
    return user, token


class TokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token <key>`, as DRF's, with the lookup precompiled (`token_user`)."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        found = token_user(key)
        if found is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        user, token = found
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return user, token
