"""The dirty (rep, local day) cells that writes leave for the recompute."""

from __future__ import annotations

import enum

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Source(enum.IntFlag):
    """What a write changed on a cell, so a run recomputes only the KPI families it can move.

    Every mark rebuilds the cell's daily counters; the bits add the non-additive period values
    (kpis/compute/periodic) of the periods holding the cell's day:
    - `COUNTERS`: only the daily counters (a booking, a rep cost, a contact's other meetings
      whose first-touch flag may change, a lead converted by an opportunity);
    - `ACTIVITY`: the activities the rep owns on the day (calls_per_customer is kept with every
      cell's rollups, whatever its bits: kpis/compute/periodic/call_days.py);
    - `LEAD`: the leads received by the rep on the day (+ lead_response_minutes);
    - `PIPELINE`: opportunities, stage moves, closed deals, accounts (+ days_in_stage,
      sales_cycle_days, open_opportunities, pipeline_value, churn_rate, repeat_purchase_rate).
    `ALL` (the default of a mark) recomputes everything.
    """

    COUNTERS = 1
    ACTIVITY = 2
    LEAD = 4
    PIPELINE = 8
    ALL = COUNTERS | ACTIVITY | LEAD | PIPELINE


class DirtyCell(models.Model):
    """A (rep, local day) whose KPI inputs changed since the last recompute.

    A mark of a claimed cell writes a fresh `token`; a recompute clears a cell only if the token is
    still the one it claimed, so a write that commits during a run stays dirty for the next run.
    A mark of an unclaimed cell that already carries all its `sources` bits changes nothing (the
    cell is dirty either way): `marked_at` is then the time of the earlier mark.
    """

    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("rep"), on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField(_("day"))
    token = models.UUIDField(_("token"))
    marked_at = models.DateTimeField(_("marked at"))
    # `Source` bits of every write since the last recompute (marks OR them together); rows
    # written without it (raw SQL) are `ALL`.
    sources = models.PositiveSmallIntegerField(
        _("sources"), default=int(Source.ALL), db_default=int(Source.ALL)
    )
    # Set by the recompute run that claimed the cell, with the token it saw.
    run = models.UUIDField(_("claimed by run"), null=True, blank=True)
    claimed_token = models.UUIDField(_("claimed token"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("dirty KPI cell")
        verbose_name_plural = _("dirty KPI cells")
        constraints = [
            models.UniqueConstraint(fields=["rep", "day"], name="dirtycell_unique_rep_day"),
        ]
        indexes = [models.Index(fields=["run"], name="dirtycell_run_idx")]

    def __str__(self) -> str:
        return f"{self.rep_id} {self.day}"
