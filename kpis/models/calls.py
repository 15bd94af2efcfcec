"""Calls per (rep, local day, company): calls_per_customer's distinct counts are kept from them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class CallDay(models.Model):
    """Completed outbound calls with a company by one rep on one local day to one company.

    Derived data, replaced with the dirty cells' rollups (kpis/compute/periodic/call_days.py): a
    run compares a cell's rows before and after to adjust the stored distinct counts of
    calls_per_customer instead of re-reading a year of calls. No database constraints (as the
    daily rollups): deleting a user through Django still cascades.
    """

    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("rep"),
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    day = models.DateField(_("day"))
    company_id = models.BigIntegerField(_("company"))
    # The rep's team recorded in `CallTeam` (the team the row counts for in the stored values).
    team_id = models.BigIntegerField(_("team"), null=True)
    calls = models.IntegerField(_("calls"))

    class Meta:
        verbose_name = _("calls of a rep day to a company")
        verbose_name_plural = _("calls of rep days to companies")
        constraints = [
            models.UniqueConstraint(fields=["rep", "day", "company_id"], name="callday_unique")
        ]
        # A run probes whether a rep, a team or anyone has a company in a period: on PostgreSQL
        # an index-only scan of the company's rows in the period (SQLite: a covering index).
        indexes = [
            models.Index(
                fields=["company_id", "day", "rep", "team_id"], name="callday_company_day_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.rep_id} {self.day} {self.company_id}"


class CallTeam(models.Model):
    """The team each rep's `CallDay` rows are counted under in the stored team values: a rep
    whose current team differs has moved, and the team values are recomputed."""

    rep = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("rep"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="call_team",
        db_constraint=False,
    )
    team_id = models.BigIntegerField(_("team"), null=True)

    class Meta:
        verbose_name = _("team of a rep's call rows")
        verbose_name_plural = _("teams of reps' call rows")

    def __str__(self) -> str:
        return f"{self.rep_id} {self.team_id}"
