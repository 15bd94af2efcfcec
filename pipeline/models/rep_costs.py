"""Rep costs: salary, bonus and other costs per rep and month."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from pipeline.validators import validate_first_of_month


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
