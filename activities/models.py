"""What reps do: calls, emails, meetings, demos and lunches, planned or completed."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from activities.querysets import ActivityQuerySet
from pipeline.models import Direction


class Activity(models.Model):
    class Kind(models.TextChoices):
        CALL = "call", _("Call")
        EMAIL = "email", _("Email")
        MEETING = "meeting", _("Meeting")
        DEMO = "demo", _("Demo")
        LUNCH = "lunch", _("Lunch")

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    class Outcome(models.TextChoices):
        CONNECTED = "connected", _("Connected")
        NO_ANSWER = "no_answer", _("No answer")
        BUSY = "busy", _("Busy")
        VOICEMAIL = "voicemail", _("Voicemail")

    class Mode(models.TextChoices):
        PHYSICAL = "physical", _("In person")
        DIGITAL = "digital", _("Remote")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.COMPLETED
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        # Indexed as the first column of activity_owner_day_idx and activity_owner_at_idx.
        db_index=False,
        on_delete=models.PROTECT,
        related_name="activities",
        help_text=_("Who does (or did) the activity."),
    )
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("booked by"),
        # Indexed by activity_booking_day_idx (partial: a lookup by booker implies NOT NULL).
        db_index=False,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bookings",
        help_text=_("Who booked the meeting or demo (may differ from the owner)."),
    )
    booked_at = models.DateTimeField(_("booked at"), null=True, blank=True)
    booked_day = models.DateField(_("booked day (site time)"), null=True, editable=False)
    occurred_at = models.DateTimeField(
        _("occurs at"), default=timezone.now, help_text=_("When it happened, or is planned.")
    )
    occurred_day = models.DateField(_("day (site time)"), editable=False)
    direction = models.CharField(
        _("direction"), max_length=10, choices=Direction.choices, default=Direction.OUTBOUND
    )
    outcome = models.CharField(
        _("call outcome"), max_length=10, choices=Outcome.choices, blank=True
    )
    duration_seconds = models.PositiveIntegerField(
        _("duration (seconds)"), null=True, blank=True, validators=[MinValueValidator(0)]
    )
    replied = models.BooleanField(_("replied"), default=False)
    clicked = models.BooleanField(_("link clicked"), default=False)
    mode = models.CharField(_("mode"), max_length=10, choices=Mode.choices, blank=True)
    company = models.ForeignKey(
        "pipeline.Company",
        verbose_name=_("company"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="activities",
    )
    contact = models.ForeignKey(
        "pipeline.Contact",
        verbose_name=_("contact"),
        # Indexed as the first column of activity_contact_at_idx.
        db_index=False,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="activities",
    )
    lead = models.ForeignKey(
        "pipeline.Lead",
        verbose_name=_("lead"),
        # Indexed as the first column of activity_lead_at_idx.
        db_index=False,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="activities",
    )
    opportunity = models.ForeignKey(
        "pipeline.Opportunity",
        verbose_name=_("opportunity"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="activities",
    )
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    external_id = models.CharField(_("external id"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = ActivityQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"],
                condition=~Q(external_id=""),
                name="activity_external_id_unique",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["call", "email", "meeting", "demo", "lunch"]),
                name="activity_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["planned", "completed", "cancelled"]),
                name="activity_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(direction__in=["inbound", "outbound"]),
                name="activity_direction_valid",
            ),
            models.CheckConstraint(
                condition=Q(outcome__in=["", "connected", "no_answer", "busy", "voicemail"]),
                name="activity_outcome_valid",
            ),
            models.CheckConstraint(
                condition=Q(mode__in=["", "physical", "digital"]), name="activity_mode_valid"
            ),
            models.CheckConstraint(
                condition=Q(duration_seconds__isnull=True) | Q(duration_seconds__gte=0),
                name="activity_duration_gte_0",
                violation_error_message=_("A duration cannot be negative."),
            ),
            models.CheckConstraint(
                condition=Q(kind="call") | Q(outcome="", duration_seconds__isnull=True),
                name="activity_call_fields_only_on_calls",
                violation_error_message=_("Call outcome and duration apply to calls only."),
            ),
            models.CheckConstraint(
                condition=Q(kind="email") | Q(replied=False, clicked=False),
                name="activity_email_fields_only_on_emails",
                violation_error_message=_("Replied and clicked apply to emails only."),
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["meeting", "demo"]) | Q(mode=""),
                name="activity_mode_only_on_meetings_demos",
                violation_error_message=_(
                    "Mode (in person / remote) applies to meetings and demos only."
                ),
            ),
            models.CheckConstraint(
                condition=Q(booked_by__isnull=True, booked_at__isnull=True, booked_day__isnull=True)
                | Q(booked_by__isnull=False, booked_at__isnull=False, booked_day__isnull=False),
                name="activity_booking_complete",
                violation_error_message=_("A booking needs both who booked it and when."),
            ),
            models.CheckConstraint(
                condition=Q(booked_by__isnull=True) | Q(kind__in=["meeting", "demo", "lunch"]),
                name="activity_only_meetings_demos_lunches_booked",
                violation_error_message=_("Only meetings, demos and lunches are booked."),
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "occurred_day"], name="activity_owner_day_idx"),
            # Bookings by booker and day, covering the booking counters (kpis/compute/daily): a
            # full run reads them from this index alone, not from pages all over the table.
            models.Index(
                fields=["booked_by", "booked_day"],
                include=["kind", "status", "contact", "id"],
                condition=Q(booked_by__isnull=False),
                name="activity_booking_day_idx",
            ),
            models.Index(fields=["owner", "occurred_at"], name="activity_owner_at_idx"),
            models.Index(fields=["occurred_day"], name="activity_day_idx"),
            models.Index(fields=["lead", "occurred_at"], name="activity_lead_at_idx"),
            models.Index(fields=["contact", "occurred_at"], name="activity_contact_at_idx"),
            # A contact's first completed meeting, demo or lunch ("new contact" KPIs): one probe
            # per activity, or one ordered index-only pass for all contacts (kpis/compute/daily).
            models.Index(
                fields=["contact", "occurred_at", "id"],
                condition=Q(status="completed", kind__in=["meeting", "demo", "lunch"]),
                name="activity_first_touch_idx",
            ),
        ]

    def __str__(self) -> str:
        label = self.subject or self.get_kind_display()
        return f"{label} · {self.occurred_at:%Y-%m-%d %H:%M}"


class ActivityChange(models.Model):
    """Who changed an activity, when and how: an append-only log written by the activity services.

    The activity is referenced by id, not by a foreign key, so the history of a deleted activity
    stays (the same pattern as `kpis.TargetChange`). `before` and `after` hold the changed fields
    only: foreign keys as `{"id": …, "label": …}`, datetimes as ISO 8601 strings.
    """

    class Action(models.TextChoices):
        CREATED = "created", _("Created")
        CHANGED = "changed", _("Changed")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")
        DELETED = "deleted", _("Deleted")

    activity_id_ref = models.BigIntegerField(_("activity id"))
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)

    class Meta:
        ordering = ["-changed_at", "-id"]
        verbose_name = _("activity change")
        verbose_name_plural = _("activity changes")
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=["created", "changed", "completed", "cancelled", "deleted"]),
                name="activitychange_action_valid",
            ),
        ]
        indexes = [
            models.Index(
                fields=["activity_id_ref", "changed_at"], name="activitychange_ref_at_idx"
            ),
        ]

    def __str__(self) -> str:
        action = self.get_action_display()
        return f"{action} #{self.activity_id_ref} {self.changed_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ValueError("Activity history is append-only: a change cannot be edited.")
        super().save(*args, **kwargs)
