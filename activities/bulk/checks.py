"""Validation of many activities: `full_clean` without a query per item."""

from __future__ import annotations

import operator
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.db.models import Q

from activities.models import Activity

if TYPE_CHECKING:
    pass
from activities.bulk.conditions import Truth, _evaluable, _evaluable_q, _fields_of, _holds
from activities.bulk.fields import DEFAULTS, FOREIGN_KEYS

_FK_NAMES = frozenset(f.name for f in FOREIGN_KEYS)


def _passes_clean(name: str, value: Any) -> bool:
    try:
        Activity._meta.get_field(name).clean(value, None)
    except ValidationError:
        return False
    return True


# The arguments whose default passes its field's checks (a constant: checked once, here).
_VALID_DEFAULTS = frozenset(
    name for name, value in DEFAULTS.items() if name not in _FK_NAMES and _passes_clean(name, value)
)


def _clean(
    activity: Activity, *, given: Collection[str] = (), trusted: Collection[str] = ()
) -> dict[str, list[ValidationError]]:
    """`clean_fields` (foreign keys: only the null checks; existence is checked in bulk),
    `clean` and `validate_unique`, as `full_clean` runs them.

    `clean_fields` skips what cannot fail: the arguments not `given`, whose default is valid,
    and the `trusted` ones, whose values the caller already checked with the model field's own
    checks (the API's ModelSerializer fields, built from these model fields)."""
    found: dict[str, list[ValidationError]] = {}
    exclude = _FK_NAMES | (_VALID_DEFAULTS - set(given)) | set(trusted)
    try:
        activity.clean_fields(exclude=exclude)
    except ValidationError as error:
        found = error.update_error_dict(found)
    for field in _NOT_NULLABLE_KEYS:
        if getattr(activity, field.attname) is None:
            try:
                field.clean(None, activity)  # Null or blank: no query.
            except ValidationError as error:
                found.setdefault(field.name, []).extend(error.error_list)
    try:
        activity.clean()
    except ValidationError as error:
        found = error.update_error_dict(found)
    if activity.pk is not None or not _ONLY_PK_UNIQUE:
        try:
            activity.validate_unique(exclude=_excluded(found))
        except ValidationError as error:
            found = error.update_error_dict(found)
    return found


# A None of a key that is null and blank passes its `clean` (no choices, no validator runs on
# an empty value): only the others' None is checked.
_NOT_NULLABLE_KEYS = tuple(f for f in FOREIGN_KEYS if not (f.null and f.blank))
# `validate_unique` checks unique fields and `unique_for_date` (constraints are checked apart):
# when the id is the only one, a new row (no id yet) has nothing to check.
_ONLY_PK_UNIQUE = Activity()._get_unique_checks() == (
    [(Activity, (Activity._meta.pk.name,))],
    [],
)


def _excluded(found: Mapping[str, Any]) -> set[str]:
    return {name for name in found if name != NON_FIELD_ERRORS}


def _check_foreign_keys(checked: list[tuple[int, Activity, dict]], *, rows_read: bool) -> None:
    """Every linked row exists: one query per related model for all items (none for the rows
    given as instances read from the database, with `rows_read`)."""
    wanted: dict[type[models.Model], set[Any]] = defaultdict(set)
    for _index, activity, _found in checked:
        for field in FOREIGN_KEYS:
            value = getattr(activity, field.attname)
            if value is not None and not (rows_read and _read_row(activity, field)):
                wanted[field.related_model].add(value)
    if not wanted:
        return
    existing = {
        model: set(model._base_manager.filter(pk__in=ids).order_by().values_list("pk", flat=True))
        for model, ids in wanted.items()
    }
    for _index, activity, found in checked:
        for field in FOREIGN_KEYS:
            value = getattr(activity, field.attname)
            if value is None or (rows_read and _read_row(activity, field)):
                continue
            if value not in existing[field.related_model]:
                try:
                    field.validate(value, activity)  # Gone: the field's own message.
                except ValidationError as error:
                    found.setdefault(field.name, []).extend(error.error_list)


LINKS_WITH_COMPANY = ("opportunity", "contact", "lead")


def _lend_company_row(activity: Activity) -> None:
    """An inferred company is the company row of the link it came from, when that was read
    with its link (`select_related`): no query to check it or to label it in the history."""
    company = Activity._meta.get_field("company")
    if activity.company_id is None or company.is_cached(activity):
        return
    for name in LINKS_WITH_COMPANY:
        link = Activity._meta.get_field(name).get_cached_value(activity, default=None)
        if link is None or link.company_id != activity.company_id:
            continue
        row = type(link)._meta.get_field("company").get_cached_value(link, default=None)
        if row is not None:
            company.set_cached_value(activity, row)
            return


def _read_row(activity: Activity, field: models.ForeignKey) -> bool:
    """The link is an instance read from the database (not a bare id, not an unsaved row)."""
    row = field.get_cached_value(activity, default=None)
    return row is not None and not row._state.adding and row.pk == getattr(activity, field.attname)


def _check_constraints(checked: list[tuple[int, Activity, dict]], *, unique: bool = True) -> None:
    """Every model constraint, for the fields that passed their checks (as `full_clean`); the
    unique ones only with `unique`."""
    excluded = [_excluded(found) for _index, _activity, found in checked]
    for constraint, fields, values in _constraint_plan():
        if isinstance(constraint, models.UniqueConstraint):
            if unique:
                _check_unique(constraint, checked)
            continue
        # A condition's truth depends only on the values of the fields it reads: items of a
        # batch that share them (a telephony sync's calls) share the answer.
        truths: dict[Any, Truth] = {}
        for (_index, activity, found), exclude in zip(checked, excluded, strict=True):
            if values is not None:
                if fields & exclude:
                    continue  # Django skips a constraint over a field that failed its checks.
                key = values(activity)
                try:
                    truth = truths.get(key, truths)
                except TypeError:  # A value that cannot be a key (it failed no check).
                    truth = _holds(constraint.condition, activity)
                if truth is truths:
                    truth = truths[key] = _holds(constraint.condition, activity)
                if truth is False:
                    found.setdefault(NON_FIELD_ERRORS, []).append(_violation(constraint))
            else:  # An expression Python cannot evaluate: the database checks it.
                try:
                    constraint.validate(Activity, activity, exclude=exclude)
                except ValidationError as error:
                    found.setdefault(NON_FIELD_ERRORS, []).extend(error.error_list)


_Plan = list[tuple[models.BaseConstraint, frozenset[str], Callable[[Activity], Any] | None]]
_PLAN: _Plan = []


def _constraint_plan() -> _Plan:
    """Each constraint with the fields its condition reads and a getter of their values (None:
    Python cannot evaluate it); built once (by whichever thread comes first: complete, then
    published in one step)."""
    if not _PLAN:
        plan: _Plan = []
        for constraint in Activity._meta.constraints:
            if isinstance(constraint, models.CheckConstraint) and _evaluable(constraint):
                fields = _fields_of(constraint.condition)
                attnames = sorted(Activity._meta.get_field(name).attname for name in fields)
                plan.append((constraint, fields, operator.attrgetter(*attnames)))
            else:
                plan.append((constraint, frozenset(), None))
        _PLAN[:] = plan
    return _PLAN


def _violation(constraint: models.BaseConstraint) -> ValidationError:
    return ValidationError(
        constraint.get_violation_error_message(), code=constraint.violation_error_code
    )


def _check_unique(
    constraint: models.UniqueConstraint, checked: list[tuple[int, Activity, dict]]
) -> None:
    """A unique constraint over plain fields (with a simple condition): one query for all items;
    an item repeating an earlier item's value violates it too (it would once that is saved)."""
    names = tuple(constraint.fields)
    if constraint.expressions or not names or not _evaluable_q(constraint.condition):
        for _index, activity, found in checked:
            try:
                constraint.validate(Activity, activity, exclude=_excluded(found))
            except ValidationError as error:
                found.setdefault(NON_FIELD_ERRORS, []).extend(error.error_list)
        return
    attnames = [Activity._meta.get_field(name).attname for name in names]
    candidates = []
    for _index, activity, found in checked:
        if set(names) & _excluded(found):
            continue
        if constraint.condition is not None and _holds(constraint.condition, activity) is not True:
            continue
        key = tuple(getattr(activity, attname) for attname in attnames)
        if None in key:
            continue  # NULLs are distinct.
        candidates.append((key, found))
    if not candidates:
        return
    keys = {key for key, _found in candidates}
    if len(attnames) == 1:
        lookup = Q(**{f"{attnames[0]}__in": [key[0] for key in keys]})
    else:
        lookup = Q()
        for key in keys:
            lookup |= Q(**dict(zip(attnames, key, strict=True)))
    stored = Activity._base_manager.filter(lookup)
    if constraint.condition is not None:
        stored = stored.filter(constraint.condition)
    taken = set(stored.values_list(*attnames))
    for key, found in candidates:
        if key in taken:
            found.setdefault(NON_FIELD_ERRORS, []).append(_violation(constraint))
        taken.add(key)
