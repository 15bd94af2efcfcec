"""Companies and their contacts."""

from __future__ import annotations

import contextlib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pipeline.models.common import _unique_external_id
from pipeline.querysets import CompanyQuerySet
from pipeline.validators import normalize_org_number, validate_org_number


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
