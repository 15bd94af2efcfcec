"""Stages, opportunities and their append-only stage history."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from pipeline.exceptions import AppendOnlyError
from pipeline.models.accounts import Company, Contact
from pipeline.models.common import LeadSource, _unique_external_id
from pipeline.models.leads import Lead
from pipeline.querysets import OpportunityQuerySet, StageChangeQuerySet

# Names of the stages seeded by migration 0002, marked for translation.
DEFAULT_STAGE_NAMES = (
    gettext_noop("Qualification"),
    gettext_noop("Meeting"),
    gettext_noop("Proposal"),
    gettext_noop("Negotiation"),
    gettext_noop("Won"),
    gettext_noop("Lost"),
)


class Stage(models.Model):
    class Outcome(models.TextChoices):
        OPEN = "open", _("Open")
        WON = "won", _("Won")
        LOST = "lost", _("Lost")

    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    order = models.PositiveSmallIntegerField(_("order"))
    outcome = models.CharField(
        _("outcome"), max_length=10, choices=Outcome.choices, default=Outcome.OPEN
    )

    class Meta:
        ordering = ["order"]
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome__in=["open", "won", "lost"]), name="stage_outcome_valid"
            ),
        ]

    def __str__(self) -> str:
        # The seeded stage names are translated (DEFAULT_STAGE_NAMES); others show as entered.
        return gettext(self.name)

    @property
    def is_open(self) -> bool:
        return self.outcome == self.Outcome.OPEN

    @property
    def is_closed(self) -> bool:
        return not self.is_open


class Opportunity(models.Model):
    class Kind(models.TextChoices):
        NEW_BUSINESS = "new_business", _("New business")
        UPSELL = "upsell", _("Upsell / expansion")
        RENEWAL = "renewal", _("Renewal")

    class Channel(models.TextChoices):
        FIELD = "field", _("Field sales")
        INSIDE = "inside", _("Inside sales")
        PARTNER = "partner", _("Partner")
        ONLINE = "online", _("Online")

    name = models.CharField(_("name"), max_length=200)
    company = models.ForeignKey(
        Company, verbose_name=_("company"), on_delete=models.PROTECT, related_name="opportunities"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="owned_opportunities",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="created_opportunities",
    )
    kind = models.CharField(
        _("kind"), max_length=20, choices=Kind.choices, default=Kind.NEW_BUSINESS
    )
    lead_source = models.CharField(
        _("lead source"), max_length=20, choices=LeadSource.choices, default=LeadSource.OTHER
    )
    channel = models.CharField(
        _("channel"), max_length=20, choices=Channel.choices, default=Channel.FIELD
    )
    amount = models.DecimalField(
        _("amount"),
        max_digits=14,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    stage = models.ForeignKey(
        Stage, verbose_name=_("stage"), on_delete=models.PROTECT, related_name="opportunities"
    )
    lead = models.ForeignKey(
        Lead,
        verbose_name=_("lead"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="opportunities",
    )
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="opportunities",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_day = models.DateField(_("created day (site time)"), editable=False)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True, editable=False)
    closed_day = models.DateField(_("closed day (site time)"), null=True, editable=False)
    lost_reason = models.TextField(_("lost reason"), blank=True)
    external_id = models.CharField(_("external id"), max_length=100, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = OpportunityQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        constraints = [
            _unique_external_id("opportunity"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="opportunity_amount_gte_0"),
            models.CheckConstraint(
                condition=Q(kind__in=["new_business", "upsell", "renewal"]),
                name="opportunity_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(lead_source__in=LeadSource.values),
                name="opportunity_lead_source_valid",
            ),
            models.CheckConstraint(
                condition=Q(channel__in=["field", "inside", "partner", "online"]),
                name="opportunity_channel_valid",
            ),
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True, closed_day__isnull=True)
                | Q(closed_at__isnull=False, closed_day__isnull=False),
                name="opportunity_closed_day_with_closed_at",
            ),
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True) | Q(closed_at__gte=models.F("created_at")),
                name="opportunity_closed_after_created",
                violation_error_message=_("An opportunity cannot close before it was created."),
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "closed_day"], name="opp_owner_closed_idx"),
            models.Index(fields=["created_by", "created_day"], name="opp_creator_created_idx"),
            models.Index(fields=["company", "closed_at"], name="opp_company_closed_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class StageChange(models.Model):
    """One move of an opportunity into a stage. History: rows are appended, never changed."""

    opportunity = models.ForeignKey(
        Opportunity,
        verbose_name=_("opportunity"),
        on_delete=models.PROTECT,
        related_name="stage_changes",
    )
    from_stage = models.ForeignKey(
        Stage,
        verbose_name=_("from stage"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    to_stage = models.ForeignKey(
        Stage, verbose_name=_("to stage"), on_delete=models.PROTECT, related_name="+"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner at the move"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    changed_at = models.DateTimeField(_("changed at"))
    changed_day = models.DateField(_("changed day (site time)"))

    objects = StageChangeQuerySet.as_manager()

    class Meta:
        ordering = ["opportunity_id", "changed_at", "id"]
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        constraints = [
            models.CheckConstraint(
                condition=Q(from_stage__isnull=True) | ~Q(from_stage=models.F("to_stage")),
                name="stagechange_moves_somewhere",
            ),
        ]
        indexes = [
            models.Index(fields=["opportunity", "changed_at"], name="stagechange_opp_at_idx"),
            models.Index(fields=["owner", "changed_day"], name="stagechange_owner_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.opportunity_id}: {self.from_stage_id or '∅'} → {self.to_stage_id}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise AppendOnlyError("Stage history is append-only: a stage change cannot be edited.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Stage history is append-only: a stage change cannot be deleted.")
