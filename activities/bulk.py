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

import datetime as dt
import json
import operator
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ValidationError
from django.db import connections, models, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Q
from django.utils import timezone
from psycopg.types.json import Jsonb

from activities.models import Activity, ActivityChange
from activities.services import FIRST_TOUCH_KINDS, _infer_company, _snapshot
from kpis.models import Source
from kpis.services import dirty_cells_mark, dirty_cells_marked, dirty_cells_statement
from pipeline.models import Contact
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

    With both, one item and PostgreSQL, the activity, its history row and its dirty cells are
    written by one statement (`_insert_one`): atomic by itself, no transaction round trips.
    """
    if unique_on_insert and rows_read and len(items) == 1:
        alias = router.db_for_write(Activity)
        if connections[alias].vendor == "postgresql":
            activities = _checked(items, rows_read=True, unique=False)
            if _self_contained(activities[0]):
                _insert_one(activities[0], changed_by=changed_by, using=alias)
                return activities
    return _log_in_transaction(
        items=items, changed_by=changed_by, rows_read=rows_read, unique=not unique_on_insert
    )


@transaction.atomic
def _log_in_transaction(
    *,
    items: Sequence[Mapping[str, Any]],
    changed_by: User | None,
    rows_read: bool,
    unique: bool,
) -> list[Activity]:
    activities = _checked(items, rows_read=rows_read, unique=unique)
    if not activities:
        return []
    alias = router.db_for_write(Activity)
    # PostgreSQL: `bulk_create`'s rows, sent as multi-row VALUES (`_insert_rows`). Its own SQL
    # (UNNEST of one array per column) costs more to prepare than the INSERT itself: psycopg
    # quotes every array element client-side with regular expressions.
    fast = connections[alias].vendor == "postgresql"
    if fast:
        _insert_rows(activities, using=alias)
    else:
        Activity.objects.bulk_create(activities)
    # Labels in the history: the inferred companies and the contacts' companies, in bulk.
    models.prefetch_related_objects(activities, "company")
    models.prefetch_related_objects([a.contact for a in activities if a.contact], "company")
    changes = [
        ActivityChange(
            activity_id_ref=activity.pk,
            action=ActivityChange.Action.CREATED,
            changed_by=changed_by,
            after=_snapshot(activity),
        )
        for activity in activities
    ]
    if fast:
        _insert_rows(changes, using=alias)
    else:
        ActivityChange.objects.bulk_create(changes)
    dirty_cells_mark(cells=_cells(activities))
    return activities


def _checked(
    items: Sequence[Mapping[str, Any]], *, rows_read: bool, unique: bool
) -> list[Activity]:
    """The items as unsaved activities, company inferred, local days set and every check
    passed; else `ActivityBatchError` with every item's errors."""
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
    _check_constraints(checked, unique=unique)
    for index, _activity, found in checked:
        if found:
            errors[index] = ValidationError(found)
    if errors:
        raise ActivityBatchError(errors)
    return activities


# ---------------------------------------------------------------------------
# One activity in one statement (PostgreSQL)
# ---------------------------------------------------------------------------
def _self_contained(activity: Activity) -> bool:
    """Its history row and dirty cells need no query: every link is a row read from the
    database (a contact with its company), and it is no meeting, demo or lunch with a contact
    (whose first-touch cells are read from the contact's other activities)."""
    for field in FOREIGN_KEYS:
        if getattr(activity, field.attname) is not None and not _read_row(activity, field):
            return False
    contact = activity.contact
    if contact is not None:
        if contact.company_id is not None and not Contact.company.field.is_cached(contact):
            return False
        if activity.kind in FIRST_TOUCH_KINDS:
            return False
    return True


def _insert_one(activity: Activity, *, changed_by: User | None, using: str) -> None:
    """Write the activity, its history row and its dirty KPI cells with one statement (data-
    modifying `WITH`): PostgreSQL runs it whole or not at all, so without a transaction around
    it there are no BEGIN and COMMIT round trips. Rows and values are what `bulk_create` and
    `dirty_cells_mark` write (`pre_save`, `get_db_prep_save`; no signals, as `bulk_create`). A
    taken external id raises `IntegrityError`, nothing written."""
    connection = connections[using]
    activity._prepare_related_fields_for_save(operation_name="bulk_create")
    insert_activity, activity_columns = _insert_sql(Activity, connection)
    insert_change, change_columns = _insert_sql(ActivityChange, connection)
    change = ActivityChange(
        activity_id_ref=0,  # The new activity's id, from the first INSERT.
        action=ActivityChange.Action.CREATED,
        changed_by=changed_by,
        after=_snapshot(activity),
    )
    qn = connection.ops.quote_name
    pk = qn(Activity._meta.pk.column)
    params = _values(activity, activity_columns, connection)
    change_params = _values(change, change_columns, connection)
    ref = [field.attname for field in change_columns].index("activity_id_ref")
    change_values = ["%s"] * len(change_columns)
    change_values[ref] = f"(SELECT {pk} FROM new_activity)"  # noqa: S608 (names, no values)
    del change_params[ref]
    sql = (
        f"WITH new_activity AS ({insert_activity} "
        f"VALUES ({', '.join(['%s'] * len(activity_columns))}) RETURNING {pk}), "
        f"new_change AS ({insert_change} VALUES ({', '.join(change_values)}))"
    )
    params += change_params
    marks = dirty_cells_statement(cells=_cells([activity]), now=timezone.now(), using=using)
    if marks is not None:
        sql += f", new_marks AS ({marks[0]})"
        params += marks[1]
    sql += f" SELECT {pk} FROM new_activity"  # noqa: S608 (names, no values)
    # Inside a caller's transaction, a savepoint keeps it usable after an IntegrityError.
    savepoint = transaction.atomic(using=using) if connection.in_atomic_block else nullcontext()
    with savepoint, connection.cursor() as cursor:
        cursor.execute(sql, params)
        (activity.pk,) = cursor.fetchone()
    activity._state.adding = False
    activity._state.db = using
    if marks is not None:
        dirty_cells_marked(rep_ids=marks[2])  # After commit: now, or with the caller's.


def _insert_rows(objs: Sequence[models.Model], *, using: str) -> None:
    """`bulk_create(objs)` for new rows of one model on PostgreSQL: the same columns and values
    (`pre_save`, `get_db_prep_save`; no signals either), sent as one JSON parameter that
    `json_populate_recordset` turns into rows of the table's type. Ids are set from RETURNING in
    the order of the rows, as `bulk_create` relies on too (its INSERT … SELECT of UNNESTed
    arrays). Cheaper than both: psycopg quotes each array element, and parses each of the
    thousands of placeholders of multi-row VALUES, in Python; `json.dumps` is C."""
    connection = connections[using]
    model = type(objs[0])
    _insert, fields = _insert_sql(model, connection)
    qn = connection.ops.quote_name
    table, pk = qn(model._meta.db_table), qn(model._meta.pk.column)
    columns = ", ".join(qn(field.column) for field in fields)
    names = [field.column for field in fields]
    rows = []
    for obj in objs:
        obj._prepare_related_fields_for_save(operation_name="bulk_create")
        values = [_json_ready(value) for value in _values(obj, fields, connection)]
        rows.append(dict(zip(names, values, strict=True)))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} "  # noqa: S608 (names only)
            f"FROM json_populate_recordset(NULL::{table}, %s::json) RETURNING {pk}",
            [json.dumps(rows)],
        )
        for obj, (new_pk,) in zip(objs, cursor.fetchall(), strict=True):
            obj.pk = new_pk
            obj._state.adding = False
            obj._state.db = using


def _json_ready(value: Any) -> Any:
    """A database parameter as JSON whose text PostgreSQL reads back as the same value."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Jsonb):  # A JSONField's value, with the field's encoder.
        return json.loads(value.dumps(value.obj)) if value.dumps else value.obj
    raise TypeError(f"No JSON form for {type(value).__name__}")


# By model and database vendor: "INSERT INTO table (columns)" and the fields, in order.
_INSERTS: dict[tuple[type[models.Model], str], tuple[str, list[models.Field]]] = {}


def _insert_sql(
    model: type[models.Model], connection: BaseDatabaseWrapper
) -> tuple[str, list[models.Field]]:
    """The columns `bulk_create` writes for a new row (every concrete field but the auto id)."""
    key = (model, connection.vendor)
    found = _INSERTS.get(key)
    if found is None:
        fields = [
            field
            for field in model._meta.concrete_fields
            if not field.generated and not isinstance(field, models.AutoField)
        ]
        if model._meta.db_returning_fields != [model._meta.pk] or any(
            field.has_db_default() for field in fields
        ):
            raise RuntimeError(f"{model.__name__}: database defaults are not written here.")
        qn = connection.ops.quote_name
        columns = ", ".join(qn(field.column) for field in fields)
        found = (f"INSERT INTO {qn(model._meta.db_table)} ({columns})", fields)
        _INSERTS[key] = found
    return found


def _values(
    obj: models.Model, fields: list[models.Field], connection: BaseDatabaseWrapper
) -> list[Any]:
    """The row's parameters as `SQLInsertCompiler` prepares them (`pre_save` fills the
    `auto_now` times on the instance too)."""
    return [field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields]


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
