"""The dirty (rep, local day) cells that writes leave for the recompute."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class DirtyCell(models.Model):
    """A (rep, local day) whose KPI inputs changed since the last recompute.

    Every mark writes a fresh `token`; a recompute clears a cell only if the token is still the one
    it claimed, so a write that commits during a run stays dirty for the next run.
    """

    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("rep"), on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField(_("day"))
    token = models.UUIDField(_("token"))
    marked_at = models.DateTimeField(_("marked at"))
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
