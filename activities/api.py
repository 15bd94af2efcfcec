"""API views of activities: thin callers of `activities.services` (see `saljsite/api/`).

Who may write what (beyond reading scope, see `saljsite.api.Actor`): a rep logs activities as
their owner, or books a meeting, demo or lunch for a teammate (as `booked_by`); they edit and
delete the activities they own or booked (another rep's: 403; another team's: 404). A manager
writes for the members of the teams they manage.

Creates, one (`POST /activities/`) or many (`POST /activities/batch/`), go through
`activities.bulk.activities_log_bulk`: what `activity_log` does, item for item (its tests pin
that), but validated with a constant number of queries instead of one per model constraint.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from activities.bulk import ActivityBatchError, activities_log_bulk
from activities.models import Activity
from activities.serializers import (
    ActivityBatchDeniedSerializer,
    ActivityBatchErrorSerializer,
    ActivityBatchRequestSerializer,
    ActivityBatchResultSerializer,
    ActivityBatchSerializer,
    ActivitySerializer,
)
from activities.services import activity_delete, activity_update
from people.models import User
from saljsite.api import (
    Actor,
    FilterSet,
    IdempotentCreateMixin,
    ScopedQuerysetMixin,
    actor,
    resolve_ids,
    service_errors,
    validation_detail,
)

BOOKABLE = frozenset({Activity.Kind.MEETING, Activity.Kind.DEMO, Activity.Kind.LUNCH})


class ActivityFilter(FilterSet):
    class Meta:
        model = Activity
        fields = {
            "kind": ["exact"],
            "status": ["exact"],
            "direction": ["exact"],
            "outcome": ["exact"],
            "mode": ["exact"],
            "owner": ["exact"],
            "booked_by": ["exact", "isnull"],
            "company": ["exact"],
            "contact": ["exact"],
            "lead": ["exact"],
            "opportunity": ["exact"],
            "external_id": ["exact"],
            "occurred_at": ["gte", "lt"],
            "booked_at": ["gte", "lt"],
            "updated_at": ["gte"],
        }


def check_people(actor: Actor, data: dict[str, Any], activity: Activity | None = None) -> None:
    """Refuse (403) an owner or booker the caller may not write for.

    `data` holds the changed fields only (unchanged ids were dropped by the serializer), so an
    edit of the notes of a meeting someone else booked is not a new booking.
    """
    changed = {"owner", "booked_by"} & set(data)
    if activity is not None and data.get("kind", activity.kind) != activity.kind:
        changed.add("kind")
    if activity is None:
        changed |= {"owner", "kind"}
    if not changed:
        return
    if actor.is_manager:
        for field in ("owner", "booked_by"):
            user = data.get(field)
            if user is not None and not actor.may_act_for(user):
                raise PermissionDenied(
                    _("You may not write activities with this user as “%(field)s”.")
                    % {"field": field}
                )
        return
    me = actor.user
    if data.get("booked_by") is not None and data["booked_by"].pk != me.pk:
        raise PermissionDenied(_("You book only as yourself."))
    owner = data.get("owner") or (activity.owner if activity is not None else me)
    if "booked_by" in data:
        booked_by_id = data["booked_by"].pk if data["booked_by"] is not None else None
    else:
        booked_by_id = activity.booked_by_id if activity is not None else None
    kind = data.get("kind", activity.kind if activity is not None else None)
    if owner.pk != me.pk and not (
        booked_by_id == me.pk and kind in BOOKABLE and actor.is_teammate(owner)
    ):
        raise PermissionDenied(
            _("You log activities as their owner, or book a meeting, demo or lunch for a teammate.")
        )


def _log_one(item: dict[str, Any], *, changed_by: User, checked_fields: frozenset[str]) -> Activity:
    """`activity_log` through its set-based twin: the same checks, rows, history and dirty cells
    (pinned by activities/tests/test_bulk.py), without a query per model constraint.

    The linked rows were read by the serializer (the owner is the caller or was read too), and
    a taken external id is found by the INSERT (`IntegrityError`, answered with the stored
    activity by `IdempotentCreateMixin`): no query checks either again. The `checked_fields`
    passed the serializer, whose checks are their model fields' (not cleaned again)."""
    try:
        return activities_log_bulk(
            items=[item],
            changed_by=changed_by,
            rows_read=True,
            unique_on_insert=True,
            checked_fields=checked_fields,
        )[0]
    except ActivityBatchError as error:
        raise error.errors[0] from None


def log_kwargs(data: dict[str, Any], *, caller: User) -> dict[str, Any]:
    """`activity_log`'s arguments for a create: the caller is the default owner; a booking
    without a status is planned, booked now and by default happens now (as `activity_book`).
    What it sets (a valid status, the time now) passes the model's checks as the serializer's
    values do."""
    data = dict(data)
    data.setdefault("owner", caller)
    if (
        data.get("booked_by") is not None
        and data.get("status", Activity.Status.PLANNED) == Activity.Status.PLANNED
    ):
        now = timezone.now()
        data["status"] = Activity.Status.PLANNED
        data["occurred_at"] = data.get("occurred_at") or now
        data["booked_at"] = data.get("booked_at") or now
    return data


class ActivityViewSet(IdempotentCreateMixin, ScopedQuerysetMixin, viewsets.ModelViewSet):
    queryset = Activity.objects.all()
    serializer_class = ActivitySerializer
    filterset_class = ActivityFilter

    def scoped_queryset(self, actor: Actor):
        return actor.activities().order_by("-occurred_at", "-id")

    def may_write(self, actor: Actor, activity: Activity) -> bool:
        return actor.is_manager or actor.user.pk in (activity.owner_id, activity.booked_by_id)

    def perform_create(self, serializer: ActivitySerializer) -> None:
        data = dict(serializer.validated_data)
        check_people(actor(self.request), data)
        with service_errors(serializer):
            serializer.instance = _log_one(
                log_kwargs(data, caller=self.request.user),
                changed_by=self.request.user,  # The author in the activity's history.
                checked_fields=serializer.model_checked_fields(),
            )

    def perform_update(self, serializer: ActivitySerializer) -> None:
        data = dict(serializer.validated_data)
        check_people(actor(self.request), data, serializer.instance)
        if data:
            with service_errors(serializer):
                serializer.instance = activity_update(
                    activity=serializer.instance, changed_by=self.request.user, **data
                )

    def perform_destroy(self, instance: Activity) -> None:
        with service_errors():
            activity_delete(activity=instance, changed_by=self.request.user)

    # -----------------------------------------------------------------------------------------
    # Batch
    # -----------------------------------------------------------------------------------------
    @extend_schema(
        summary="Create many activities at once (integrations)",
        description="Up to 1 000 items, each as a single create takes it, with the same rules "
        "(a rep logs as owner or books for a teammate; a manager for their teams). All or "
        "nothing: any invalid item is a 400 listing every invalid item's field messages "
        '(`{"errors": [{"index": 3, "errors": {…}}]}`), any item the caller may not '
        "write a 403 listing them, and nothing is stored. Idempotent by `external_id`: an item "
        "whose external id is already stored is answered with the stored activity's id and "
        "`created: false`. 201 when something was created, else 200.",
        request=ActivityBatchRequestSerializer,
        responses={
            200: ActivityBatchResultSerializer,
            201: ActivityBatchResultSerializer,
            400: ActivityBatchErrorSerializer,
            403: ActivityBatchDeniedSerializer,
        },
    )
    @action(detail=False, methods=["post"], url_path="batch")
    def batch(self, request: Request) -> Response:
        envelope = ActivityBatchSerializer(data=request.data)
        envelope.is_valid(raise_exception=True)
        items = envelope.validated_data["items"]
        try:
            results = self._batch(items)
        except IntegrityError:
            # A concurrent sync stored one of the external ids in between: what it stored is
            # now found, and answered as stored.
            results = self._batch(items)
        created = any(entry["created"] for entry in results)
        # The entries are already the documented shape (`ActivityBatchResultSerializer`: ints,
        # a bool, a string), so they are rendered as they are: no serializer pass per item.
        return Response(
            {"results": results},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    def _batch(self, items: list[Any]) -> list[dict[str, Any]]:
        caller = actor(self.request)
        # One serializer validates every item (its fields are bound once): each item is checked
        # exactly as a single create checks it, ids resolved for all items together.
        shared = ActivitySerializer(context={**self.get_serializer_context(), "defer_ids": True})
        errors: dict[int, dict] = {}
        valid: dict[int, dict[str, Any]] = {}
        for index, raw in enumerate(items):
            try:
                valid[index] = shared.run_validation(raw)
            except ValidationError as error:
                errors[index] = serializers.as_serializer_error(error)
        id_errors = resolve_ids([(shared, attrs) for attrs in valid.values()])
        for index, found in zip(list(valid), id_errors, strict=True):
            if found:
                errors[index] = found
                del valid[index]
        if errors:
            raise _BatchInvalid(errors)

        denied = {}
        for index, attrs in valid.items():
            try:
                check_people(caller, dict(attrs))
            except PermissionDenied as error:
                denied[index] = str(error.detail)
        if denied:
            raise _BatchDenied(denied)

        stored, errors = self._stored_external_ids(valid)
        if errors:
            raise _BatchInvalid(errors)
        new = [index for index in valid if index not in stored]
        user = self.request.user
        try:
            activities = activities_log_bulk(
                items=[log_kwargs(valid[index], caller=user) for index in new],
                changed_by=user,
                rows_read=True,  # Resolved by `resolve_ids` above, or the caller.
                checked_fields=shared.model_checked_fields(),
            )
        except ActivityBatchError as error:
            meta = ActivitySerializer.Meta
            raise _BatchInvalid(
                {
                    new[position]: validation_detail(
                        item_error,
                        model=Activity,
                        constraint_fields=meta.constraint_fields,
                        sent=list(items[new[position]]),
                    )
                    for position, item_error in error.errors.items()
                }
            ) from error
        made = {index: activity.pk for index, activity in zip(new, activities, strict=True)}
        return [
            {
                "index": index,
                "id": made.get(index) or stored[index],
                "created": index in made,
                "external_id": attrs.get("external_id", ""),
            }
            for index, attrs in valid.items()
        ]

    def _stored_external_ids(
        self, valid: dict[int, dict[str, Any]]
    ) -> tuple[dict[int, int], dict[int, dict]]:
        """The items whose external id is stored: the stored activity's id when the caller
        reads it, else an error (as a single create); one query, two when some are stored."""
        wanted = {i: attrs["external_id"] for i, attrs in valid.items() if attrs.get("external_id")}
        if not wanted:
            return {}, {}
        # `external_id <> ''` spelled out: it is the condition of the unique index, which
        # PostgreSQL cannot infer from an IN list of more than 100 values (a sequential scan).
        rows = dict(
            Activity.objects.filter(external_id__in=set(wanted.values()))
            .exclude(external_id="")
            .values_list("external_id", "pk")
        )
        if not rows:
            return {}, {}
        readable = set(
            self.get_queryset().filter(pk__in=rows.values()).values_list("pk", flat=True)
        )
        stored, errors = {}, {}
        for index, external_id in wanted.items():
            pk = rows.get(external_id)
            if pk is None:
                continue
            if pk in readable:
                stored[index] = pk
            else:
                errors[index] = {
                    "external_id": [_("Another record already uses this external id.")]
                }
        return stored, errors


class _BatchDenied(PermissionDenied):
    def __init__(self, denied: dict[int, str]) -> None:
        super().__init__()
        self.detail = {
            "detail": _("You may not write some of these items; nothing was stored."),
            "errors": [{"index": index, "detail": message} for index, message in denied.items()],
        }


class _BatchInvalid(APIException):
    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(self, errors: dict[int, dict]) -> None:
        super().__init__()
        # Set as is: DRF would turn the indexes into strings.
        self.detail = {
            "errors": [{"index": index, "errors": errors[index]} for index in sorted(errors)]
        }
