"""Celery entry points of the pipeline app (thin: the work is in pipeline/imports/jobs.py).

Task names are explicit so renaming a module never orphans queued messages.
"""

from __future__ import annotations

from celery import shared_task

from pipeline.imports import jobs


@shared_task(name="pipeline.import_check")
def import_check(job_id: int) -> dict:
    """Dry-run an uploaded import file and store its report."""
    return jobs.import_job_run(job_id=job_id, commit=False)


@shared_task(name="pipeline.import_commit")
def import_commit(job_id: int) -> dict:
    """Write a checked import file, all or nothing."""
    return jobs.import_job_run(job_id=job_id, commit=True)
