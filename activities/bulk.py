"""Log many activities at once (integrations syncing calls and emails): `activities_log_bulk`.

It does for each item exactly what `activities.services.activity_log` does — company inference,
local days, the model's validation (field checks, foreign keys, every constraint), the history
entry, the dirty KPI cells — but set-based, in one transaction: the foreign keys of all items are
checked with one query per related model, the external ids with one query, the check constraints
are evaluated in Python (three-valued, as the database does), and rows, history and dirty cells
are written with one `bulk_create` each and a single `dirty_cells_mark`. All or nothing: when an
item is invalid, nothing is written and every item's errors are reported together.
"""

from __future__ import annotations

import operator
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from activities.models import Activity, ActivityChange
from activities.services import FIRST_TOUCH_KINDS, _infer_company, _snapshot
from kpis.models import Source
from kpis.services import dirty_cells_mark
from saljsite.timeutils import local_day

if TYPE_CHECKING:
    from people.models import User

# `activity_log`'s keyword arguments and their defaults (owner and kind are required).
DEFAULTS: dict[str, Any] = {
    "status": Activity.Status.COMPLETED,
    "occurred_at": None,
    "booked_by": None,
    "booked_at": None,
    "direction": "outbound",
    "outcome": "",
    "duration_seconds": None,
    "replied": False,
    "clicked": False,
    "mode": "",
    "company": None,
    "contact": None,
    "lead": None,
    "opportunity": None,
    "subject": "",
    "notes": "",
    "external_id": "",
}
REQUIRED = ("owner", "kind")
FOREIGN_KEYS = tuple(f for f in Activity._meta.concrete_fields if isinstance(f, models.ForeignKey))


class ActivityBatchError(Exception):
    """Some items are invalid (nothing was written): `errors` maps each item's index to the
    `ValidationError` `activity_log` would have raised for it."""

    def __init__(self, errors: Mapping[int, ValidationError]) -> None:
        self.errors = dict(sorted(errors.items()))
        super().__init__(f"{len(self.errors)} invalid item(s): {sorted(self.errors)}")


@transaction.atomic
def activities_log_bulk(
    *,
    items: Sequence[Mapping[str, Any]],
    changed_by: User | None = None,
    rows_read: bool = False,
    unique_on_insert: bool = False,
) -> list[Activity]:
    """Log every item as `activity_log(**item, changed_by=changed_by)` would, all or none; the
    number of queries does not grow with the number of items.

    Two shortcuts for a caller that has done part of the work (the API's single create):
    `rows_read` — linked rows given as model instances were just read from the database (the
    API resolved them in the caller's scope, the owner is the caller), so they are not looked up
    again; `unique_on_insert` — the unique constraints (the external id) are left to the
    INSERT, which then raises `IntegrityError` rather than a `ValidationError` (the API answers
    a taken external id with the stored activity either way). In both cases the database's keys
    still hold, as they do against a row deleted or stored between a check and the insert.
    """
    now = timezone.now()
    activities = [_build(item, now) for item in items]
    errors: dict[int, ValidationError] = {}
    checked: list[tuple[int, Activity, dict[str, list[ValidationError]]]] = []
    for index, activity in enumerate(activities):
        try:
            _infer_company(activity)  # As `_prepare`: an inference error stops the item there.
            _lend_company_row(activity)
        except ValidationError as error:
            errors[index] = error
            continue
        activity.occurred_day = local_day(activity.occurred_at)
        activity.booked_day = local_day(activity.booked_at)
        checked.append((index, activity, _clean(activity)))
    _check_foreign_keys(checked, rows_read=rows_read)
    _check_constraints(checked, unique=not unique_on_insert)
    for index, _activity, found in checked:
        if found:
            errors[index] = ValidationError(found)
    if errors:
        raise ActivityBatchError(errors)
    if not activities:
        return []
    Activity.objects.bulk_create(activities)
    # Labels in the history: the inferred companies and the contacts' companies, in bulk.
    models.prefetch_related_objects(activities, "company")
    models.prefetch_related_objects([a.contact for a in activities if a.contact], "company")
    ActivityChange.objects.bulk_create(
        ActivityChange(
            activity_id_ref=activity.pk,
            action=ActivityChange.Action.CREATED,
            changed_by=changed_by,
            after=_snapshot(activity),
        )
        for activity in activities
    )
    dirty_cells_mark(cells=_cells(activities))
    return activities


def _build(item: Mapping[str, Any], now) -> Activity:
    unknown = set(item) - set(DEFAULTS) - set(REQUIRED)
    missing = [name for name in REQUIRED if name not in item]
    if unknown or missing:
        raise TypeError(f"Unknown: {sorted(unknown)}; missing: {missing}")
    fields = {**DEFAULTS, **item}
    fields["occurred_at"] = fields["occurred_at"] or now
    return Activity(**fields)


# ---------------------------------------------------------------------------
# Validation: `full_clean` without a query per item
# ---------------------------------------------------------------------------
_FK_NAMES = frozenset(f.name for f in FOREIGN_KEYS)


def _clean(activity: Activity) -> dict[str, list[ValidationError]]:
    """`clean_fields` (foreign keys: only the null checks; existence is checked in bulk),
    `clean` and `validate_unique`, as `full_clean` runs them."""
    found: dict[str, list[ValidationError]] = {}
    try:
        activity.clean_fields(exclude=_FK_NAMES)
    except ValidationError as error:
        found = error.update_error_dict(found)
    for field in FOREIGN_KEYS:
        if getattr(activity, field.attname) is None:
            try:
                field.clean(None, activity)  # Null or blank: no query.
            except ValidationError as error:
                found.setdefault(field.name, []).extend(error.error_list)
    try:
        activity.clean()
    except ValidationError as error:
        found = error.update_error_dict(found)
    try:
        activity.validate_unique(exclude=_excluded(found))
    except ValidationError as error:
        found = error.update_error_dict(found)
    return found


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
    for constraint in Activity._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint):
            if unique:
                _check_unique(constraint, checked)
            continue
        evaluable = _evaluable(constraint)
        fields = _fields_of(constraint.condition) if evaluable else set()
        for _index, activity, found in checked:
            exclude = _excluded(found)
            if evaluable:
                if fields & exclude:
                    continue  # Django skips a constraint over a field that failed its checks.
                if _holds(constraint.condition, activity) is False:
                    found.setdefault(NON_FIELD_ERRORS, []).append(_violation(constraint))
            else:  # An expression Python cannot evaluate: the database checks it.
                try:
                    constraint.validate(Activity, activity, exclude=exclude)
                except ValidationError as error:
                    found.setdefault(NON_FIELD_ERRORS, []).extend(error.error_list)


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


# ---------------------------------------------------------------------------
# Check conditions in Python, with SQL's three-valued logic (a NULL comparison is unknown, and
# a CHECK constraint only fails when its condition is false)
# ---------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------
# Dirty cells: `activities.services._cells` for many activities, one query for the contacts
# ---------------------------------------------------------------------------
def _cells(activities: Sequence[Activity]) -> list[tuple[int | None, Any, int]]:
    cells: list[tuple[int | None, Any, int]] = []
    contacts = set()
    for activity in activities:
        cells.append((activity.owner_id, activity.occurred_day, Source.ACTIVITY))
        cells.append((activity.booked_by_id, activity.booked_day, Source.COUNTERS))
        if activity.lead_id is not None:
            lead = activity.lead
            cells.append((lead.assigned_to_id, lead.received_day, Source.LEAD))
        if activity.contact_id is not None and activity.kind in FIRST_TOUCH_KINDS:
            contacts.add(activity.contact_id)
    if contacts:
        cells += (
            (owner_id, day, Source.COUNTERS)
            for owner_id, day in Activity.objects.filter(
                contact_id__in=contacts, kind__in=FIRST_TOUCH_KINDS, status="completed"
            )
            .order_by()
            .values_list("owner_id", "occurred_day")
            .distinct()
        )
    return cells
