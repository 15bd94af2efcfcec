"""API input and output of activities."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from django.db.models import QuerySet
from rest_framework import serializers

from activities.models import Activity
from people.models import User
from pipeline.models import Company, Contact, Lead, Opportunity
from saljsite.api import IdField, ServiceSerializer


class ActivitySerializer(ServiceSerializer):
    owner = IdField(
        model=User,
        required=False,
        help_text="Id of the user who does (or did) the activity; default: the caller. A rep "
        "logs only as themselves, except a booking for a teammate; a manager for their teams.",
    )
    booked_by = IdField(
        model=User,
        required=False,
        allow_null=True,
        help_text="Id of the user who booked the meeting, demo or lunch (may differ from the "
        "owner; `meetings_booked` counts for them). A rep books only as themselves. A booking "
        "without a status is planned.",
    )
    company = IdField(
        model=Company,
        required=False,
        allow_null=True,
        help_text="Id of the company; taken from the opportunity, contact or lead when not given.",
    )
    contact = IdField(
        model=Contact, required=False, allow_null=True, help_text="Id of the contact."
    )
    lead = IdField(
        model=Lead,
        required=False,
        allow_null=True,
        help_text="Id of the lead it answers (lead response time, unanswered leads).",
    )
    opportunity = IdField(
        model=Opportunity,
        required=False,
        allow_null=True,
        help_text="Id of the opportunity it belongs to.",
    )
    external_id = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        help_text="Key of this activity in another system (telephony, email); unique when given. "
        "Creating with an external id already stored returns the stored activity (200) instead.",
    )

    class Meta:
        model = Activity
        fields = [
            "id",
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
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        descriptions = {
            "id": "Activity id.",
            "kind": "Call, email, meeting, demo or lunch.",
            "status": "Planned, completed or cancelled; KPIs count completed activities (and "
            "bookings that are not cancelled). Default: completed, or planned for a booking.",
            "booked_at": "When the booking was made (default for a planned booking: now); "
            "booking KPIs count at this time.",
            "occurred_at": "When it happened, or is planned (default: now).",
            "direction": "Outbound (default) or inbound.",
            "outcome": "Calls only: connected, no answer, busy or voicemail.",
            "duration_seconds": "Calls only: length in seconds (≥ 0).",
            "replied": "Emails only: the recipient replied.",
            "clicked": "Emails only: a link in it was clicked.",
            "mode": "Meetings and demos only: in person (physical) or remote (digital).",
            "subject": "Short title.",
            "notes": "Free text.",
            "created_at": "When the activity was stored (set by the server).",
            "updated_at": "Last change (set by the server).",
        }
        # Where a model constraint's message goes (the first of these fields the request sent).
        constraint_fields = {
            "activity_duration_gte_0": ("duration_seconds",),
            "activity_call_fields_only_on_calls": ("outcome", "duration_seconds", "kind"),
            "activity_email_fields_only_on_emails": ("replied", "clicked", "kind"),
            "activity_mode_only_on_meetings_demos": ("mode", "kind"),
            "activity_booking_complete": ("booked_at", "booked_by"),
            "activity_only_meetings_demos_lunches_booked": ("booked_by", "kind"),
            "activity_external_id_unique": ("external_id",),
        }

    def related_scopes(self) -> Mapping[str, QuerySet | Callable[[], QuerySet]]:
        users = User.objects.all  # One query for owner and booked_by; the view's rules decide.
        actor = self.actor
        return {
            "owner": users,
            "booked_by": users,
            "company": actor.companies,
            # With their company: it becomes the activity's when none is given, and the
            # history labels it (no second query for it).
            "contact": lambda: actor.contacts().select_related("company"),
            "lead": lambda: actor.leads().select_related("company"),
            "opportunity": lambda: actor.opportunities().select_related("company"),
        }


# ---------------------------------------------------------------------------
# Batch: POST /activities/batch/
# ---------------------------------------------------------------------------
MAX_BATCH = 1000


class ParsedJSONField(serializers.JSONField):
    """A JSON value of a body the JSON parser has read (the API's only parser): taken as it is.
    DRF's `JSONField` would encode each value again to prove it is JSON."""

    def to_internal_value(self, data: object) -> object:
        return data


class ActivityBatchSerializer(serializers.Serializer):
    """The batch envelope. Each item is then validated as a single create (`ActivitySerializer`);
    the schema shows the items' shape."""

    items = serializers.ListField(
        # Any JSON value: each item is checked as a single create is (per-item errors).
        child=ParsedJSONField(allow_null=True),
        max_length=MAX_BATCH,
        help_text=f"Up to {MAX_BATCH} activities, each as a single create takes it.",
    )


class ActivityBatchRequestSerializer(serializers.Serializer):
    items = ActivitySerializer(
        many=True,
        max_length=MAX_BATCH,
        help_text=f"Up to {MAX_BATCH} activities, each as a single create takes it. All are "
        "stored or none; an item whose `external_id` is already stored is not stored again.",
    )


class ActivityBatchItemSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="The item's position in `items` (from 0).")
    id = serializers.IntegerField(help_text="The activity's id.")
    created = serializers.BooleanField(
        help_text="False when the `external_id` was already stored: the stored activity's id."
    )
    external_id = serializers.CharField(
        allow_blank=True, help_text="The item's external id (may be empty)."
    )


class ActivityBatchResultSerializer(serializers.Serializer):
    results = ActivityBatchItemSerializer(many=True, help_text="One entry per item, in order.")


class ActivityBatchItemErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="The item's position in `items` (from 0).")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Field messages, as a single create answers them (`non_field_errors` for "
        "the item as a whole).",
    )


class ActivityBatchErrorSerializer(serializers.Serializer):
    """A 400: either some items are invalid (`errors`), or the envelope is (`items`,
    `non_field_errors`, as any endpoint answers a malformed body)."""

    errors = ActivityBatchItemErrorSerializer(
        many=True, required=False, help_text="The invalid items (nothing was stored)."
    )
    items = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="What is wrong with `items` itself (missing, not a list, too long).",
    )
    non_field_errors = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="The body is not a JSON object.",
    )


class ActivityBatchDeniedItemSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="The item's position in `items` (from 0).")
    detail = serializers.CharField(help_text="Why the caller may not write it.")


class ActivityBatchDeniedSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="Summary.")
    errors = ActivityBatchDeniedItemSerializer(
        many=True, help_text="The items the caller may not write (nothing was stored)."
    )
