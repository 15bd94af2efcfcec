"""Every write of an activity: log, book, edit, complete, cancel, delete."""

from __future__ import annotations

import datetime as dt
import functools
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from activities.models import Activity, ActivityChange
from kpis.models import Source
from kpis.services import dirty_cells_mark
from saljsite.timeutils import local_day

if TYPE_CHECKING:
    from people.models import User
    from pipeline.models import Company, Contact, Lead, Opportunity

# Fields a caller may set through `activity_update` (owner/booking changes included).
EDITABLE_FIELDS = frozenset(
    {
        "kind",
        "status",
        "owner",
        "booked_by",
        "booked_at",
        "occurred_at",
        "direction",
        "outcome",
        "duration_seconds",
        "replied",
        "clicked",
        "mode",
        "company",
        "contact",
        "lead",
        "opportunity",
        "subject",
        "notes",
        "external_id",
    }
)


def _infer_company(activity: Activity) -> None:
    """Take the company of the linked opportunity, contact or lead when none is given,
    and refuse links that point at different companies."""
    linked = [
        (field, obj.company_id)
        for field in ("opportunity", "contact", "lead")
        if (obj := getattr(activity, field)) is not None and obj.company_id is not None
    ]
    if activity.company_id is None and linked:
        activity.company_id = linked[0][1]
    errors = {
        field: _("This %(field)s belongs to another company than the activity.")
        % {"field": Activity._meta.get_field(field).verbose_name}
        for field, company_id in linked
        if company_id != activity.company_id
    }
    if errors:
        raise ValidationError(errors)


def _prepare(activity: Activity) -> None:
    _infer_company(activity)
    activity.occurred_day = local_day(activity.occurred_at)
    activity.booked_day = local_day(activity.booked_at)
    activity.full_clean()


FIRST_TOUCH_KINDS = (Activity.Kind.MEETING, Activity.Kind.DEMO, Activity.Kind.LUNCH)


def _cells(activity: Activity) -> list[tuple[int | None, dt.date | None, int]]:
    """The KPI cells the activity counts in, each with what it changes there (`Source`)."""
    cells = [
        (activity.owner_id, activity.occurred_day, Source.ACTIVITY),
        (activity.booked_by_id, activity.booked_day, Source.COUNTERS),
    ]
    if activity.lead_id is not None:
        # The lead's response time and unanswered count belong to its assignee and received day.
        lead = activity.lead
        cells.append((lead.assigned_to_id, lead.received_day, Source.LEAD))
    if activity.contact_id is not None and activity.kind in FIRST_TOUCH_KINDS:
        # Which of the contact's meetings, demos and lunches is the first ("new contact") can
        # change with this one: recompute the cells of all of them.
        cells += (
            (owner_id, day, Source.COUNTERS)
            for owner_id, day in Activity.objects.filter(
                contact_id=activity.contact_id, kind__in=FIRST_TOUCH_KINDS, status="completed"
            )
            .order_by()
            .values_list("owner_id", "occurred_day")
            .distinct()
        )
    return cells


@transaction.atomic
def activity_log(
    *,
    owner: User,
    kind: str,
    status: str = Activity.Status.COMPLETED,
    occurred_at: dt.datetime | None = None,
    booked_by: User | None = None,
    booked_at: dt.datetime | None = None,
    direction: str = "outbound",
    outcome: str = "",
    duration_seconds: int | None = None,
    replied: bool = False,
    clicked: bool = False,
    mode: str = "",
    company: Company | None = None,
    contact: Contact | None = None,
    lead: Lead | None = None,
    opportunity: Opportunity | None = None,
    subject: str = "",
    notes: str = "",
    external_id: str = "",
    changed_by: User | None = None,
) -> Activity:
    """Log one activity for its owner; a link without a company lends its own. Validated first.

    The creation is recorded in the activity's history with `changed_by` as its author.
    """
    activity = Activity(
        owner=owner,
        kind=kind,
        status=status,
        occurred_at=occurred_at or timezone.now(),
        booked_by=booked_by,
        booked_at=booked_at,
        direction=direction,
        outcome=outcome,
        duration_seconds=duration_seconds,
        replied=replied,
        clicked=clicked,
        mode=mode,
        company=company,
        contact=contact,
        lead=lead,
        opportunity=opportunity,
        subject=subject,
        notes=notes,
        external_id=external_id,
    )
    _prepare(activity)
    activity.save()
    _record(activity.pk, ActivityChange.Action.CREATED, changed_by, after=_snapshot(activity))
    dirty_cells_mark(cells=_cells(activity))
    return activity


def activity_book(
    *,
    booked_by: User,
    owner: User,
    kind: str,
    occurred_at: dt.datetime,
    booked_at: dt.datetime | None = None,
    **fields: Any,
) -> Activity:
    """Book a planned meeting, demo or lunch for `owner` (an SDR may book for an AE)."""
    return activity_log(
        owner=owner,
        kind=kind,
        status=Activity.Status.PLANNED,
        occurred_at=occurred_at,
        booked_by=booked_by,
        booked_at=booked_at or timezone.now(),
        **fields,
    )


@transaction.atomic
def activity_update(
    *, activity: Activity, changed_by: User | None = None, **changes: Any
) -> Activity:
    """Change an activity; both its old and its new (rep, day) cells are recomputed.

    The changed fields (old and new values) are recorded in the activity's history.
    """
    return _apply(activity, changes, action=ActivityChange.Action.CHANGED, changed_by=changed_by)


def _apply(
    activity: Activity, changes: dict[str, Any], *, action: str, changed_by: User | None
) -> Activity:
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise TypeError(f"Not editable: {', '.join(sorted(unknown))}")
    activity = Activity.objects.select_for_update().get(pk=activity.pk)
    before = _cells(activity)
    # The company is derived from a new link when none is given: it may change too.
    watched = [*changes, *(["company"] if "company" not in changes else [])]
    old_raw = {field: _raw(activity, field) for field in watched}
    old_json = {field: _json(activity, field) for field in watched}
    for field, value in changes.items():
        setattr(activity, field, value)
    _prepare(activity)
    activity.save()
    changed = [field for field in watched if _raw(activity, field) != old_raw[field]]
    if changed:
        _record(
            activity.pk,
            action,
            changed_by,
            before={field: old_json[field] for field in changed},
            after={field: _json(activity, field) for field in changed},
        )
    dirty_cells_mark(cells=before + _cells(activity))
    return activity


# ---------------------------------------------------------------------------
# History (ActivityChange): who changed what, when
# ---------------------------------------------------------------------------
@functools.cache
def _history_fields() -> dict[str, tuple[str, bool]]:
    """The editable fields in name order, each with its attname and whether it is a relation
    (read once: the history is written with every activity)."""
    fields = (Activity._meta.get_field(name) for name in sorted(EDITABLE_FIELDS))
    return {field.name: (field.attname, field.is_relation) for field in fields}


def _raw(activity: Activity, field: str) -> Any:
    return getattr(activity, _history_fields()[field][0])


def _json(activity: Activity, field: str) -> Any:
    """A field's value as stored in the history: related rows with their label at the time."""
    if _history_fields()[field][1]:
        obj = getattr(activity, field)
        return None if obj is None else {"id": obj.pk, "label": str(obj)}
    value = getattr(activity, field)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def _snapshot(activity: Activity) -> dict[str, Any]:
    """The fields that hold something (not empty, not false), for creations and deletions."""
    return {
        field: _json(activity, field)
        for field, (attname, _relation) in _history_fields().items()
        if getattr(activity, attname) not in (None, "", False)
    }


def _record(
    activity_id: int,
    action: str,
    changed_by: User | None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    ActivityChange.objects.create(
        activity_id_ref=activity_id,
        action=action,
        changed_by=changed_by,
        before=before,
        after=after,
    )


def _stored_status(activity: Activity) -> str:
    # The stored status, row locked: a stale instance must not complete or cancel a cancelled row.
    return Activity.objects.select_for_update().values_list("status", flat=True).get(pk=activity.pk)


@transaction.atomic
def activity_complete(
    *,
    activity: Activity,
    occurred_at: dt.datetime | None = None,
    changed_by: User | None = None,
    **fields: Any,
) -> Activity:
    """Mark a planned activity as done (at `occurred_at`, default: as planned) with its outcome."""
    if _stored_status(activity) != Activity.Status.PLANNED:
        raise ValidationError({"status": _("Only a planned activity can be completed.")})
    if occurred_at is not None:
        fields["occurred_at"] = occurred_at
    fields["status"] = Activity.Status.COMPLETED
    return _apply(activity, fields, action=ActivityChange.Action.COMPLETED, changed_by=changed_by)


@transaction.atomic
def activity_cancel(*, activity: Activity, changed_by: User | None = None) -> Activity:
    """Cancel a planned activity; a cancelled booking no longer counts as booked."""
    if _stored_status(activity) != Activity.Status.PLANNED:
        raise ValidationError({"status": _("Only a planned activity can be cancelled.")})
    return _apply(
        activity,
        {"status": Activity.Status.CANCELLED},
        action=ActivityChange.Action.CANCELLED,
        changed_by=changed_by,
    )


@transaction.atomic
def activity_delete(*, activity: Activity, changed_by: User | None = None) -> None:
    """Delete an activity; its (rep, day) cells are recomputed; its history records the deletion."""
    activity = Activity.objects.select_related("lead").get(pk=activity.pk)
    dirty_cells_mark(cells=_cells(activity))
    _record(activity.pk, ActivityChange.Action.DELETED, changed_by, before=_snapshot(activity))
    activity.delete()
