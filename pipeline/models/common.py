"""Choices and the external-id constraint shared by several pipeline models."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


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
