"""Import jobs of the admin page: upload and check (dry run), then commit, each as a Celery task.

Progress is kept in the cache, not in the job's row: the import runs in one transaction that
nobody else sees until it ends, while the page polls how far it has come.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pipeline.imports.engine import ImportReport, run_import
from pipeline.models_imports import ImportJob

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile

    from people.models import User

PROGRESS_TTL = 60 * 60 * 24
logger = logging.getLogger(__name__)


def _progress_key(job_id: int) -> str:
    return f"pipeline:import-job:{job_id}:progress"


def import_job_progress(*, job: ImportJob) -> dict[str, Any]:
    """What the page shows while a job runs: status, fraction done, rows read, and the report
    when it has one."""
    live = cache.get(_progress_key(job.pk)) or {}
    finished = job.status not in (
        ImportJob.Status.CHECKING,
        ImportJob.Status.QUEUED,
        ImportJob.Status.RUNNING,
    )
    return {
        "status": job.status,
        "status_label": str(job.get_status_display()),
        "progress": 1.0 if finished else live.get("progress", job.progress),
        "rows": live.get("rows", job.rows_done),
        "finished": finished,
    }


@transaction.atomic
def import_job_create(*, kind: str, upload: UploadedFile, user: User) -> ImportJob:
    """Store an uploaded file for a dry run, then check it (a task, after commit)."""
    from pipeline.tasks import import_check

    if not user.has_perm("pipeline.add_importjob"):
        raise PermissionDenied
    job = ImportJob(kind=kind, original_name=upload.name[:255], created_by=user)
    job.file.save(upload.name, upload, save=False)
    job.full_clean()
    job.save()
    transaction.on_commit(lambda: import_check.delay(job.pk))
    return job


def import_job_commit(*, job: ImportJob, user: User) -> ImportJob:
    """Queue the write of a checked file (its uploader, or a superuser, only)."""
    from pipeline.tasks import import_commit

    if job.created_by_id != user.pk and not user.is_superuser:
        raise PermissionDenied
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        report = job.dry_run_report or {}
        if job.status != ImportJob.Status.CHECKED or not report.get("ok"):
            raise ValidationError(_("Only a checked file without errors can be imported."))
        job.status = ImportJob.Status.QUEUED
        job.progress = 0.0
        job.save(update_fields=["status", "progress"])
        transaction.on_commit(lambda: import_commit.delay(job.pk))
    return job


def import_job_run(*, job_id: int, commit: bool) -> dict[str, Any]:
    """Run a job's dry run (`commit=False`) or its write, recording progress and the report."""
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    ImportJob.objects.filter(pk=job_id).update(
        status=ImportJob.Status.RUNNING if commit else ImportJob.Status.CHECKING, progress=0.0
    )
    key = _progress_key(job_id)

    def progress(rows: int, fraction: float) -> None:
        cache.set(key, {"progress": round(fraction, 3), "rows": rows}, PROGRESS_TTL)

    try:
        report = run_import(
            kind=job.kind,
            path=job.file.path,
            user=job.created_by,
            commit=commit,
            progress=progress,
        )
    except Exception:
        # Recorded for the page (which shows "Failed") and logged; the request that ran the task
        # eagerly still answers.
        logger.exception("Import job %s failed", job_id)
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.FAILED, finished_at=timezone.now()
        )
        cache.delete(key)
        return {"job": job_id, "status": "failed"}
    data = report.as_dict()
    if commit:
        status = ImportJob.Status.COMMITTED if report.committed else ImportJob.Status.REJECTED
        ImportJob.objects.filter(pk=job_id).update(
            status=status,
            report=data,
            progress=1.0,
            rows_done=report.rows,
            finished_at=timezone.now(),
        )
    else:
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.CHECKED,
            dry_run_report=data,
            progress=1.0,
            rows_done=report.rows,
        )
    cache.delete(key)
    return {"job": job_id, "status": status if commit else "checked", "summary": report.summary()}


def report_of(data: dict[str, Any] | None) -> ImportReport | None:
    return ImportReport.from_dict(data) if data else None
