"""Check-constraint conditions evaluated in Python with SQL's three-valued logic (a NULL
comparison is unknown; a CHECK constraint fails only when its condition is false)."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Q

from activities.models import Activity

if TYPE_CHECKING:
    pass


class _Unsupported(Exception):
    pass


Truth = bool | None
Predicate = Callable[[Activity], Truth]

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "exact": operator.eq,
    "in": lambda value, expected: value in expected,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


def _evaluable(constraint: models.BaseConstraint) -> bool:
    return isinstance(constraint, models.CheckConstraint) and _evaluable_q(constraint.condition)


def _evaluable_q(condition: Q | None) -> bool:
    if condition is None:
        return True
    try:
        _compiled(condition)
    except _Unsupported:
        return False
    return True


def _split(lookup: str) -> tuple[models.Field, str]:
    name, _sep, op = lookup.partition("__")
    op = op or "exact"
    try:
        field = Activity._meta.get_field(name)
    except FieldDoesNotExist as error:
        raise _Unsupported(lookup) from error
    if not getattr(field, "concrete", False) or (op not in _COMPARE and op != "isnull"):
        raise _Unsupported(lookup)
    return field, op


# Compiled conditions by id; the condition is kept beside its predicate, so an id is never
# reused for another object while its entry exists.
_COMPILED: dict[int, tuple[Q, Predicate, frozenset[str]]] = {}


def _compiled(condition: Q) -> tuple[Predicate, frozenset[str]]:
    """The condition as a Python predicate, and the names of the fields it reads."""
    entry = _COMPILED.get(id(condition))
    if entry is None or entry[0] is not condition:
        entry = (condition, *_compile(condition))
        _COMPILED[id(condition)] = entry
    return entry[1], entry[2]


def _compile(condition: Q) -> tuple[Predicate, frozenset[str]]:
    parts: list[Predicate] = []
    names: set[str] = set()
    for child in condition.children:
        if isinstance(child, Q):
            predicate, fields = _compile(child)
            parts.append(predicate)
            names |= fields
        elif isinstance(child, tuple) and len(child) == 2:
            lookup, expected = child
            if hasattr(expected, "resolve_expression"):
                raise _Unsupported(lookup)  # F(), functions: the database evaluates those.
            field, op = _split(lookup)
            names.add(field.name)
            if isinstance(expected, models.Model):
                expected = expected.pk
            parts.append(_lookup(field.attname, op, expected))
        else:
            raise _Unsupported(child)
    if condition.connector == Q.AND:
        combine = _all
    elif condition.connector == Q.OR:
        combine = _any
    else:
        raise _Unsupported(condition.connector)

    def predicate(activity: Activity) -> Truth:
        result = combine([part(activity) for part in parts])
        if condition.negated and result is not None:
            return not result
        return result

    return predicate, frozenset(names)


def _lookup(attname: str, op: str, expected: Any) -> Predicate:
    if op == "isnull":
        wanted = bool(expected)
        return lambda activity: (getattr(activity, attname) is None) is wanted
    if op == "exact" and expected is None:
        return lambda activity: getattr(activity, attname) is None
    compare = _COMPARE[op]

    def check(activity: Activity) -> Truth:
        value = getattr(activity, attname)
        return None if value is None else compare(value, expected)

    return check


def _all(results: list[Truth]) -> Truth:
    return False if False in results else None if None in results else True


def _any(results: list[Truth]) -> Truth:
    return True if True in results else None if None in results else False


def _fields_of(condition: Q) -> frozenset[str]:
    return _compiled(condition)[1]


def _holds(condition: Q, activity: Activity) -> Truth:
    """The truth of `condition` for the activity: True, False or None (unknown)."""
    return _compiled(condition)[0](activity)
