"""Targets managers set per KPI, and the role presets (default scorecards)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kpis.registry import KPIS

KPI_CHOICES = [(k.code, k.name) for k in KPIS]
PERIOD_CHOICES = [
    ("week", _("Week")),
    ("month", _("Month")),
    ("quarter", _("Quarter")),
    ("year", _("Year")),
]
ROLE_CHOICES = [
    ("sdr", _("Sales developer")),
    ("ae", _("Account executive")),
    ("am", _("Account manager")),
]


class Target(models.Model):
    """A target: KPI × scope (rep, team, role or everyone) × period type, valid from a date."""

    class Scope(models.TextChoices):
        REP = "rep", _("One rep")
        TEAM = "team", _("A team")
        ROLE = "role", _("A role")
        ALL = "all", _("Everyone")

    kpi = models.CharField(_("KPI"), max_length=50, choices=KPI_CHOICES)
    scope = models.CharField(_("scope"), max_length=4, choices=Scope.choices)
    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("rep"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="targets",
    )
    team = models.ForeignKey(
        "people.Team",
        verbose_name=_("team"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="targets",
    )
    role = models.CharField(_("role"), max_length=8, choices=ROLE_CHOICES, blank=True)
    period = models.CharField(_("period"), max_length=8, choices=PERIOD_CHOICES)
    value = models.DecimalField(_("value"), max_digits=16, decimal_places=4)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["kpi", "scope", "-valid_from"]
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(scope="rep", rep__isnull=False, team__isnull=True, role="")
                    | Q(scope="team", rep__isnull=True, team__isnull=False, role="")
                    | Q(scope="role", rep__isnull=True, team__isnull=True)
                    & Q(role__in=["sdr", "ae", "am"])
                    | Q(scope="all", rep__isnull=True, team__isnull=True, role="")
                ),
                name="target_scope_matches_fields",
                violation_error_message=_(
                    "Give what the scope needs: a rep, a team, a role, or nothing for everyone."
                ),
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="target_valid_to_after_from",
                violation_error_message=_("A target cannot end before it starts."),
            ),
            models.CheckConstraint(
                condition=Q(period__in=["week", "month", "quarter", "year"]),
                name="target_period_valid",
            ),
            models.CheckConstraint(condition=Q(value__gte=0), name="target_value_gte_0"),
        ]
        indexes = [models.Index(fields=["kpi", "period"], name="target_kpi_period_idx")]

    def __str__(self) -> str:
        return f"{self.kpi} {self.period} = {self.value}"

    def clean(self) -> None:
        from kpis.registry import REGISTRY

        if self.kpi and self.kpi not in REGISTRY:
            raise ValidationError({"kpi": _("Unknown KPI code.")})


class TargetChange(models.Model):
    """Who changed which target when (append-only log written by the target services)."""

    class Action(models.TextChoices):
        CREATED = "created", _("Created")
        CHANGED = "changed", _("Changed")
        DELETED = "deleted", _("Deleted")

    target_id_ref = models.BigIntegerField(_("target id"))
    action = models.CharField(_("action"), max_length=8, choices=Action.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    changed_at = models.DateTimeField(_("changed at"), auto_now_add=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)

    class Meta:
        ordering = ["-changed_at", "-id"]
        verbose_name = _("target change")
        verbose_name_plural = _("target changes")

    def __str__(self) -> str:
        return f"{self.get_action_display()} #{self.target_id_ref} {self.changed_at:%Y-%m-%d %H:%M}"


class RolePreset(models.Model):
    """One KPI on a role's default scorecard, in display order."""

    role = models.CharField(_("role"), max_length=8, choices=ROLE_CHOICES)
    kpi = models.CharField(_("KPI"), max_length=50, choices=KPI_CHOICES)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["role", "order", "kpi"]
        verbose_name = _("role preset KPI")
        verbose_name_plural = _("role presets")
        constraints = [
            models.UniqueConstraint(fields=["role", "kpi"], name="rolepreset_unique_role_kpi")
        ]

    def __str__(self) -> str:
        return f"{self.role}: {self.kpi}"
