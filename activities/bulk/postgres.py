"""Faster writes on PostgreSQL: one activity in one statement, many rows as one JSON parameter."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

from django.db import connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone
from psycopg.types.json import Jsonb

from activities.bulk.cells import _cells
from activities.bulk.checks import _read_row
from activities.bulk.fields import FOREIGN_KEYS
from activities.models import Activity, ActivityChange
from activities.services import FIRST_TOUCH_KINDS, _snapshot
from kpis.services import dirty_cells_marked, dirty_cells_statement
from pipeline.models import Contact
from saljsite.prepared import prepared_cursor

if TYPE_CHECKING:
    from people.models import User


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
    taken external id raises `IntegrityError`, nothing written. The statement is prepared
    (`saljsite.prepared`): its parameters are bound server-side, typed by the target columns
    (`get_db_prep_save` wraps integers in their column's type)."""
    connection = connections[using]
    activity._prepare_related_fields_for_save(operation_name="bulk_create")
    activity_columns = _insert_sql(Activity, connection)[1]
    change_columns = _insert_sql(ActivityChange, connection)[1]
    change = ActivityChange(
        activity_id_ref=0,  # The new activity's id, from the first INSERT.
        action=ActivityChange.Action.CREATED,
        changed_by=changed_by,
        after=_snapshot(activity),
    )
    marks = dirty_cells_statement(cells=_cells([activity]), now=timezone.now(), using=using)
    sql, ref = _one_sql(connection, marks[0] if marks is not None else None)
    params = _values(activity, activity_columns, connection)
    change_params = _values(change, change_columns, connection)
    del change_params[ref]
    params += change_params
    if marks is not None:
        params += marks[1]
    # Inside a caller's transaction, a savepoint keeps it usable after an IntegrityError.
    # Prepared: parsed and planned once per connection, not on every create (a fifth of the
    # statement's cost on the server).
    savepoint = transaction.atomic(using=using) if connection.in_atomic_block else nullcontext()
    with savepoint, prepared_cursor(connection) as cursor:
        cursor.execute(sql, params)
        (activity.pk,) = cursor.fetchone()
    activity._state.adding = False
    activity._state.db = using
    if marks is not None:
        dirty_cells_marked(rep_ids=marks[2])  # After commit: now, or with the caller's.


# By database vendor and the dirty-cell upsert it embeds: `_insert_one`'s statement and the
# position of the history row's activity id among the history columns.
_ONE: dict[tuple[str, str | None], tuple[str, int]] = {}


def _one_sql(connection: BaseDatabaseWrapper, marks: str | None) -> tuple[str, int]:
    """The statement of `_insert_one` (built once per upsert): the activity's INSERT, the
    history row's (its activity id from the first), the dirty cells' upsert if any."""
    key = (connection.vendor, marks)
    found = _ONE.get(key)
    if found is None:
        insert_activity, activity_columns = _insert_sql(Activity, connection)
        insert_change, change_columns = _insert_sql(ActivityChange, connection)
        pk = connection.ops.quote_name(Activity._meta.pk.column)
        ref = [field.attname for field in change_columns].index("activity_id_ref")
        change_values = ["%s"] * len(change_columns)
        change_values[ref] = f"(SELECT {pk} FROM new_activity)"  # noqa: S608 (names, no values)
        sql = (
            f"WITH new_activity AS ({insert_activity} "
            f"VALUES ({', '.join(['%s'] * len(activity_columns))}) RETURNING {pk}), "
            f"new_change AS ({insert_change} VALUES ({', '.join(change_values)}))"
        )
        if marks is not None:
            sql += f", new_marks AS ({marks})"
        sql += f" SELECT {pk} FROM new_activity"  # noqa: S608 (names, no values)
        found = _ONE[key] = (sql, ref)
    return found


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
        values = _values(obj, fields, connection)
        # The few values no JSON type (times, dates, JSON fields) made ready here: as the
        # encoder's `default`, each would cost a call from C back into Python.
        rows.append(
            {
                name: _json_ready(value) if type(value) in _READY_HERE else value
                for name, value in zip(names, values, strict=True)
            }
        )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} "  # noqa: S608 (names only)
            f"FROM json_populate_recordset(NULL::{table}, %s::json) RETURNING {pk}",
            # Strings, numbers, booleans and None are encoded in C; `_json_ready` is the
            # `default` of any other value left (a subclass of those types).
            [json.dumps(rows, default=_json_ready)],
        )
        for obj, (new_pk,) in zip(objs, cursor.fetchall(), strict=True):
            obj.pk = new_pk
            obj._state.adding = False
            obj._state.db = using


# The exact types `_insert_rows` makes JSON-ready before encoding.
_READY_HERE = frozenset({dt.datetime, dt.date, uuid.UUID, Jsonb})


def _json_ready(value: Any) -> Any:
    """A database parameter that is no JSON type as JSON whose text PostgreSQL reads back as the
    same value (`json.dumps`'s `default`: strings, numbers, booleans and None never get here)."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Jsonb):  # A JSONField's value, with the field's encoder.
        if value.dumps is json.dumps or not value.dumps:
            # The same encoder as the rows': encoded in place, not encoded and decoded first.
            return value.obj
        return json.loads(value.dumps(value.obj))
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


# Django's own field classes (exactly these: a subclass may prepare differently) whose
# `get_db_prep_save` gives back a value of these exact types unchanged (`to_python` or `bool()`
# of it is itself; integers are wrapped by the PostgreSQL backend, so only their None);
# pinned by a test.
_TEXT = frozenset({str, type(None)})
_INTEGER = frozenset({type(None)})
_UNCHANGED: dict[type[models.Field], frozenset[type]] = {
    models.CharField: _TEXT,
    models.TextField: _TEXT,
    models.IntegerField: _INTEGER,
    models.PositiveIntegerField: _INTEGER,
    models.BigIntegerField: _INTEGER,
    models.AutoField: _INTEGER,
    models.BigAutoField: _INTEGER,
    models.BooleanField: frozenset({bool, type(None)}),
}
# On PostgreSQL (`adapt_datefield_value` and `adapt_datetimefield_value` give the value back):
# a date of a date field, and a time zone aware datetime of a datetime field (a naive one is
# made aware with a warning, so it is prepared).
_UNCHANGED_ON_POSTGRESQL: dict[type[models.Field], frozenset[type]] = {
    models.DateField: frozenset({dt.date, type(None)}),
    models.DateTimeField: frozenset({type(None)}),
}
# By the (cached, never freed) field list of `_insert_sql`: each field, the attribute its
# `pre_save` only reads (else None), its plain types and whether an aware datetime is plain.
_Plan = list[tuple[models.Field, str | None, frozenset[type], bool]]
_PLANS: dict[int, tuple[list[models.Field], _Plan]] = {}


def _plain_types(field: models.Field, vendor: str = "") -> frozenset[type]:
    """The value types `field` stores as they are (none for other fields)."""
    if type(field) is models.ForeignKey:  # As its target field (an integer id).
        return _UNCHANGED.get(type(field.target_field), frozenset())
    if vendor == "postgresql" and type(field) in _UNCHANGED_ON_POSTGRESQL:
        return _UNCHANGED_ON_POSTGRESQL[type(field)]
    return _UNCHANGED.get(type(field), frozenset())


def _read_by_pre_save(field: models.Field) -> str | None:
    """The attribute `field.pre_save` returns as it is (Django's own `pre_save`s: the base one,
    and the date and time fields' without `auto_now`/`auto_now_add`), else None."""
    pre_save = type(field).pre_save
    if pre_save is models.Field.pre_save:
        return field.attname
    if pre_save in (models.DateField.pre_save, models.DateTimeField.pre_save) and not (
        field.auto_now or field.auto_now_add
    ):
        return field.attname
    return None


def _values(
    obj: models.Model, fields: list[models.Field], connection: BaseDatabaseWrapper
) -> list[Any]:
    """The row's parameters as `SQLInsertCompiler` prepares them (`pre_save` fills the
    `auto_now` times on the instance too); a `pre_save` that only reads the attribute is that
    read, and a plain value that preparing would give back as it is (`_plain_types`) is taken
    as it is."""
    entry = _PLANS.get(id(fields))
    if entry is None or entry[0] is not fields:
        vendor = connection.vendor
        plan = [
            (
                field,
                _read_by_pre_save(field),
                _plain_types(field, vendor),
                vendor == "postgresql" and type(field) is models.DateTimeField,
            )
            for field in fields
        ]
        entry = _PLANS[id(fields)] = (fields, plan)
    values = []
    for field, attname, plain, aware in entry[1]:
        value = getattr(obj, attname) if attname is not None else field.pre_save(obj, True)
        if type(value) not in plain and not (
            aware and type(value) is dt.datetime and value.utcoffset() is not None
        ):
            value = field.get_db_prep_save(value, connection)
        values.append(value)
    return values
