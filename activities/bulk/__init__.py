"""Log many activities at once (integrations syncing calls and emails): `activities_log_bulk`.

It does for each item exactly what `activities.services.activity_log` does — company inference,
local days, the model's validation (field checks, foreign keys, every constraint), the history
entry, the dirty KPI cells — but set-based, in one transaction: the foreign keys of all items are
checked with one query per related model, the external ids with one query, the check constraints
are evaluated in Python (three-valued, as the database does), and rows, history and dirty cells
are written with one `bulk_create` each and a single `dirty_cells_mark`. All or nothing: when an
item is invalid, nothing is written and every item's errors are reported together.

Modules: `fields` (the arguments and foreign keys), `checks` (validation) with `conditions` (check
constraints in Python), `cells` (dirty KPI cells), `postgres` (one-statement create, JSON rows).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import connections, models, router, transaction
from django.utils import timezone

from activities.bulk.cells import _cells
from activities.bulk.checks import (
    _check_constraints,
    _check_foreign_keys,
    _clean,
    _lend_company_row,
)
from activities.bulk.fields import DEFAULTS, REQUIRED
from activities.bulk.postgres import _insert_one, _insert_rows, _self_contained
from activities.models import Activity, ActivityChange
from activities.services import _infer_company, _snapshot
from kpis.services import dirty_cells_mark
from saljsite.timeutils import local_day

if TYPE_CHECKING:
    from people.models import User

__all__ = ["ActivityBatchError", "activities_log_bulk"]


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
    checked_fields: Collection[str] = (),
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
    `checked_fields` — these items' values passed their model fields' own checks already (the
    API's ModelSerializer fields, built from the model fields): `clean_fields` skips them.

    With both, one item and PostgreSQL, the activity, its history row and its dirty cells are
    written by one statement (`_insert_one`): atomic by itself, no transaction round trips.
    """
    if unique_on_insert and rows_read and len(items) == 1:
        alias = router.db_for_write(Activity)
        if connections[alias].vendor == "postgresql":
            activities = _checked(items, rows_read=True, unique=False, trusted=checked_fields)
            if _self_contained(activities[0]):
                _insert_one(activities[0], changed_by=changed_by, using=alias)
                return activities
    return _log_in_transaction(
        items=items,
        changed_by=changed_by,
        rows_read=rows_read,
        unique=not unique_on_insert,
        trusted=checked_fields,
    )


@transaction.atomic
def _log_in_transaction(
    *,
    items: Sequence[Mapping[str, Any]],
    changed_by: User | None,
    rows_read: bool,
    unique: bool,
    trusted: Collection[str],
) -> list[Activity]:
    activities = _checked(items, rows_read=rows_read, unique=unique, trusted=trusted)
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
    items: Sequence[Mapping[str, Any]],
    *,
    rows_read: bool,
    unique: bool,
    trusted: Collection[str] = (),
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
        checked.append((index, activity, _clean(activity, given=items[index], trusted=trusted)))
    _check_foreign_keys(checked, rows_read=rows_read)
    _check_constraints(checked, unique=unique)
    for index, _activity, found in checked:
        if found:
            errors[index] = ValidationError(found)
    if errors:
        raise ActivityBatchError(errors)
    return activities


def _build(item: Mapping[str, Any], now) -> Activity:
    unknown = set(item) - set(DEFAULTS) - set(REQUIRED)
    missing = [name for name in REQUIRED if name not in item]
    if unknown or missing:
        raise TypeError(f"Unknown: {sorted(unknown)}; missing: {missing}")
    fields = {**DEFAULTS, **item}
    fields["occurred_at"] = fields["occurred_at"] or now
    return Activity(**fields)
