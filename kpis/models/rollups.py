"""Stored KPI inputs: additive counters per (rep, local day) and non-additive values per period."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# The additive counters of one (rep, local day). Period values of additive KPIs (and both sides
# of ratios built from them) are sums of these; see kpis/compute/daily/ for each definition.
COUNTER_FIELDS: tuple[str, ...] = (
    # activities, by owner and occurred_day (completed)
    "calls_made",
    "calls_connected",
    "calls_over_3_min",
    "talk_time_seconds",
    "calls_with_company",
    "emails_sent",
    "emails_replied",
    "emails_clicked",
    "meetings_held",
    "meetings_held_physical",
    "meetings_held_digital",
    "meetings_new_contacts",
    "demos_held",
    "demos_on_site",
    "lunches_new_contacts",
    "activities_total",
    # bookings, by booked_by and booked_day (not cancelled)
    "meetings_booked",
    "meetings_booked_decision_makers",
    "demos_booked",
    # opportunities, by created_by and created_day
    "opportunities_created",
    "opportunities_created_new_business",
    "opportunities_created_upsell",
    # stage moves, by the owner on the row and changed_day
    "stage_advances",
    # closed deals, by owner and closed_day
    "deals_won",
    "deals_lost",
    "revenue_won",
    # leads, by assignee and received_day
    "leads_received",
    "leads_unanswered",
    "leads_converted",
    # rep costs, on the first day of their month
    "cost",
)
MONEY_COUNTERS = frozenset({"revenue_won", "cost"})


def _rep() -> models.ForeignKey:
    # The rollups are derived data, rebuilt wholesale by every full run (~300 000 rows at 200
    # reps): no database constraint, whose per-row checks at commit cost more than writing the
    # rows (deleting a user through Django still cascades: the collector deletes them), and no
    # index of its own (the unique constraint leads with `rep`). On PostgreSQL both tables also
    # have fillfactor 45 (migration 0011), so that a full run updates kept rows in place.
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("rep"),
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )


class RepDay(models.Model):
    """Additive KPI counters of one rep on one local day (site time zone)."""

    rep = _rep()
    day = models.DateField(_("day"))
    computed_at = models.DateTimeField(_("computed at"))
    locals().update(
        {
            name: (
                models.DecimalField(max_digits=16, decimal_places=2, default=0, db_default=0)
                if name in MONEY_COUNTERS
                else models.BigIntegerField(default=0, db_default=0)
            )
            for name in COUNTER_FIELDS
        }
    )

    class Meta:
        verbose_name = _("rep day")
        verbose_name_plural = _("rep days")
        constraints = [models.UniqueConstraint(fields=["rep", "day"], name="repday_unique")]
        indexes = [models.Index(fields=["day"], name="repday_day_idx")]

    def __str__(self) -> str:
        return f"{self.rep_id} {self.day}"


class RepDayDimension(models.Model):
    """Additive counters split by a dimension (`stage:<slug>`, `lead_source:<value>`, …)."""

    rep = _rep()
    day = models.DateField(_("day"))
    counter = models.CharField(_("counter"), max_length=50)
    dimension = models.CharField(_("dimension"), max_length=100)
    value = models.DecimalField(_("value"), max_digits=16, decimal_places=2)
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("rep day dimension")
        verbose_name_plural = _("rep day dimensions")
        constraints = [
            models.UniqueConstraint(
                fields=["rep", "day", "counter", "dimension"], name="repdaydimension_unique"
            )
        ]
        indexes = [models.Index(fields=["day"], name="repdaydim_day_idx")]

    def __str__(self) -> str:
        return f"{self.rep_id} {self.day} {self.counter} {self.dimension}"


class KPIValue(models.Model):
    """A non-additive KPI value (median, distinct count, snapshot, churn) of a scope and period."""

    class Scope(models.TextChoices):
        REP = "rep", _("Rep")
        TEAM = "team", _("Team")
        ORG = "org", _("Organisation")

    scope = models.CharField(_("scope"), max_length=4, choices=Scope.choices)
    # Rep id, team id, or 0 for the organisation.
    scope_id = models.BigIntegerField(_("scope id"))
    kpi = models.CharField(_("KPI"), max_length=50)
    period = models.CharField(_("period"), max_length=8)
    period_start = models.DateField(_("period start"))
    dimension = models.CharField(_("dimension"), max_length=100, default="", blank=True)
    value = models.FloatField(_("value"), null=True)
    numerator = models.FloatField(_("numerator"), null=True)
    denominator = models.FloatField(_("denominator"), null=True)
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("KPI value")
        verbose_name_plural = _("KPI values")
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "scope_id", "kpi", "period", "period_start", "dimension"],
                name="kpivalue_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(scope__in=["rep", "team", "org"]), name="kpivalue_scope_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(period__in=["week", "month", "quarter", "year"]),
                name="kpivalue_period_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["kpi", "period", "period_start"], name="kpivalue_kpi_period_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.scope}:{self.scope_id} {self.kpi} {self.period} {self.period_start}"


class RepPeriod(models.Model):
    """The sums of a rep's `RepDay` counters over one week, month, quarter or year.

    Derived from `RepDay` in the same transaction that writes the days (kpis/compute/
    period_rollups.py), so a page reads one row per rep and period instead of every day of it.
    A period without any stored day has no row (no value, not zero), as with the days.
    """

    rep = _rep()
    period = models.CharField(_("period"), max_length=8)
    period_start = models.DateField(_("period start"))
    # The latest `computed_at` of the period's days.
    computed_at = models.DateTimeField(_("computed at"))
    locals().update(
        {
            name: (
                models.DecimalField(max_digits=18, decimal_places=2, default=0, db_default=0)
                if name in MONEY_COUNTERS
                else models.BigIntegerField(default=0, db_default=0)
            )
            for name in COUNTER_FIELDS
        }
    )

    class Meta:
        verbose_name = _("rep period")
        verbose_name_plural = _("rep periods")
        constraints = [
            models.UniqueConstraint(
                fields=["rep", "period", "period_start"], name="repperiod_unique"
            )
        ]
        indexes = [models.Index(fields=["period", "period_start"], name="repperiod_period_idx")]

    def __str__(self) -> str:
        return f"{self.rep_id} {self.period} {self.period_start}"


class RepPeriodDimension(models.Model):
    """The sums of a rep's `RepDayDimension` counters over one period (see `RepPeriod`)."""

    rep = _rep()
    period = models.CharField(_("period"), max_length=8)
    period_start = models.DateField(_("period start"))
    counter = models.CharField(_("counter"), max_length=50)
    dimension = models.CharField(_("dimension"), max_length=100)
    value = models.DecimalField(_("value"), max_digits=18, decimal_places=2)
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("rep period dimension")
        verbose_name_plural = _("rep period dimensions")
        constraints = [
            models.UniqueConstraint(
                fields=["rep", "period", "period_start", "counter", "dimension"],
                name="repperioddimension_unique",
            )
        ]
        indexes = [models.Index(fields=["period", "period_start"], name="repperioddim_period_idx")]

    def __str__(self) -> str:
        return f"{self.rep_id} {self.period} {self.period_start} {self.counter} {self.dimension}"
