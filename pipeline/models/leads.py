"""Leads: received, assigned, answered, converted or disqualified."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pipeline.models.accounts import Company, Contact
from pipeline.models.common import Direction, LeadSource, _unique_external_id
from pipeline.querysets import LeadQuerySet


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
