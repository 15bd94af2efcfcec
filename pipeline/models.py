"""The sales data: companies, contacts, leads, stages, opportunities and their stage history."""

from __future__ import annotations

import contextlib
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from pipeline.exceptions import AppendOnlyError
from pipeline.querysets import (
    CompanyQuerySet,
    LeadQuerySet,
    OpportunityQuerySet,
    StageChangeQuerySet,
)
from pipeline.validators import (
    normalize_org_number,
    validate_first_of_month,
    validate_org_number,
)


class LeadSource(models.TextChoices):
    WEBSITE = "website", _("Website")
    REFERRAL = "referral", _("Referral")
    EVENT = "event", _("Event")
    OUTBOUND = "outbound", _("Outbound prospecting")
    PARTNER = "partner", _("Partner")
    ADVERTISING = "advertising", _("Advertising")
    OTHER = "other", _("Other")


class Direction(models.TextChoices):
    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound")


def _unique_external_id(model: str) -> models.UniqueConstraint:
    # `external_id` is the key of other systems (CRM, ERP, telephony): unique when given.
    return models.UniqueConstraint(
        fields=["external_id"],
        condition=~Q(external_id=""),
        name=f"{model}_external_id_unique",
    )


class Company(models.Model):
    name = models.CharField(_("name"), max_length=200)
    org_number = models.CharField(
        _("organisation number"),
        max_length=11,
        blank=True,
        validators=[validate_org_number],
        help_text=_("Swedish organisation number, NNNNNN-NNNN."),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account manager"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="owned_companies",
    )
    external_id = models.CharField(_("external id"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = CompanyQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        constraints = [
            _unique_external_id("company"),
            models.UniqueConstraint(
                fields=["org_number"],
                condition=~Q(org_number=""),
                name="company_org_number_unique",
                violation_error_message=_("A company with this organisation number exists."),
            ),
        ]
        indexes = [models.Index(fields=["owner"], name="company_owner_idx")]

    def __str__(self) -> str:
        return self.name

    def clean_fields(self, exclude=None) -> None:
        # Normalise before the field checks (max_length, validator) so "55 60 36 07 93" is accepted
        # and the uniqueness check sees "5560360793" = "556036-0793". An invalid number is left as
        # typed for the field validator to report once.
        with contextlib.suppress(ValidationError):
            self.org_number = normalize_org_number(self.org_number)
        super().clean_fields(exclude=exclude)


class Contact(models.Model):
    company = models.ForeignKey(
        Company, verbose_name=_("company"), on_delete=models.PROTECT, related_name="contacts"
    )
    name = models.CharField(_("name"), max_length=200)
    title = models.CharField(_("title"), max_length=200, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    is_decision_maker = models.BooleanField(
        _("decision maker"), default=False, help_text=_("C-level or budget holder.")
    )
    external_id = models.CharField(_("external id"), max_length=100, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        constraints = [_unique_external_id("contact")]

    def __str__(self) -> str:
        return f"{self.name} ({self.company})" if self.company_id else self.name


class Lead(models.Model):
    class Status(models.TextChoices):
        NEW = "new", _("New")
        CONTACTED = "contacted", _("Contacted")
        QUALIFIED = "qualified", _("Qualified")
        CONVERTED = "converted", _("Converted")
        DISQUALIFIED = "disqualified", _("Disqualified")

    name = models.CharField(_("name"), max_length=200)
    source = models.CharField(
        _("source"), max_length=20, choices=LeadSource.choices, default=LeadSource.WEBSITE
    )
    direction = models.CharField(
        _("direction"), max_length=10, choices=Direction.choices, default=Direction.INBOUND
    )
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    received_day = models.DateField(_("received day (site time)"), editable=False)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_leads",
    )
    company = models.ForeignKey(
        Company,
        verbose_name=_("company"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="leads",
    )
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="leads",
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.NEW
    )
    notes = models.TextField(_("notes"), blank=True)
    external_id = models.CharField(_("external id"), max_length=100, blank=True)

    objects = LeadQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        constraints = [
            _unique_external_id("lead"),
            models.CheckConstraint(
                condition=Q(source__in=LeadSource.values), name="lead_source_valid"
            ),
            models.CheckConstraint(
                condition=Q(direction__in=Direction.values), name="lead_direction_valid"
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=["new", "contacted", "qualified", "converted", "disqualified"]
                ),
                name="lead_status_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["assigned_to", "received_day"], name="lead_assignee_day_idx"),
        ]

    def __str__(self) -> str:
        return self.name


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


class RepCost(models.Model):
    class Kind(models.TextChoices):
        SALARY = "salary", _("Salary")
        BONUS = "bonus", _("Bonus")
        OTHER = "other", _("Other")

    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("rep"),
        on_delete=models.PROTECT,
        related_name="costs",
    )
    month = models.DateField(
        _("month"), validators=[validate_first_of_month], help_text=_("First day of the month.")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.SALARY)
    amount = models.DecimalField(
        _("amount"),
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
    )

    class Meta:
        ordering = ["-month", "rep_id", "kind"]
        verbose_name = _("rep cost")
        verbose_name_plural = _("rep costs")
        constraints = [
            models.UniqueConstraint(
                fields=["rep", "month", "kind"],
                name="repcost_unique_rep_month_kind",
                violation_error_message=_("This rep already has a cost of this kind that month."),
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="repcost_amount_gte_0"),
            models.CheckConstraint(
                condition=Q(kind__in=["salary", "bonus", "other"]), name="repcost_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rep} {self.month:%Y-%m} {self.get_kind_display()}"


# The uploaded import files (pipeline/imports), in a module of their own.
from pipeline.models_imports import ImportJob  # noqa: E402, F401
