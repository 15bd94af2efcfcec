"""An uploaded import file and its progress: dry run, then commit (pipeline.imports)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _


@deconstructible
class ImportFileStorage(FileSystemStorage):
    """Uploads kept apart from any public media: `SALJSITE_IMPORT_DIR` (default var/imports)."""

    # Read at each use (not cached), so a test or a settings change takes effect at once.
    @property
    def base_location(self) -> str:
        default = Path(settings.BASE_DIR) / "var" / "imports"
        return str(getattr(settings, "SALJSITE_IMPORT_DIR", default))

    @property
    def location(self) -> str:
        return str(Path(self.base_location).resolve())


class ImportJob(models.Model):
    class Status(models.TextChoices):
        CHECKING = "checking", _("Checking")
        CHECKED = "checked", _("Checked (dry run)")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Importing")
        COMMITTED = "committed", _("Imported")
        REJECTED = "rejected", _("Rejected")
        FAILED = "failed", _("Failed")

    KINDS = [
        ("companies", _("Companies")),
        ("contacts", _("Contacts")),
        ("leads", _("Leads")),
        ("opportunities", _("Opportunities")),
        ("stage-history", _("Stage history")),
        ("activities", _("Activities")),
        ("rep-costs", _("Rep costs")),
        ("targets", _("Targets (budget)")),
    ]

    kind = models.CharField(_("kind"), max_length=20, choices=KINDS)
    file = models.FileField(_("file"), upload_to="%Y/%m/", storage=ImportFileStorage())
    original_name = models.CharField(_("file name"), max_length=255)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.CHECKING
    )
    progress = models.FloatField(_("progress"), default=0.0)
    rows_done = models.PositiveIntegerField(_("rows read"), default=0)
    dry_run_report = models.JSONField(_("dry-run report"), null=True, blank=True)
    report = models.JSONField(_("import report"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.PROTECT,
        related_name="import_jobs",
    )
    created_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "checking",
                        "checked",
                        "queued",
                        "running",
                        "committed",
                        "rejected",
                        "failed",
                    ]
                ),
                name="importjob_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(progress__gte=0) & Q(progress__lte=1), name="importjob_progress_0_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.original_name}"

    @property
    def is_busy(self) -> bool:
        return self.status in (self.Status.CHECKING, self.Status.QUEUED, self.Status.RUNNING)

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.COMMITTED, self.Status.REJECTED, self.Status.FAILED)
