"""The admin's "Import data" page: upload (dry run), report, commit through the Celery task,
progress endpoint, templates, and who may use it."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from activities.models import Activity
from people.tests.factories import ManagerFactory, UserFactory
from pipeline.models import ImportJob

HEADER = "external_id,kind,owner,occurred_at,outcome,duration_seconds\r\n"
GOOD = HEADER + (
    "A-1,call,sam.sdr,2026-03-02 09:30,connected,120\r\n"
    "A-2,call,alex.ae,2026-03-02 10:30,no_answer,\r\n"
)
BAD = HEADER + (
    "A-1,call,sam.sdr,2026-03-02 09:30,connected,120\r\n"
    "A-2,call,olle.other,2026-03-02 10:30,,\r\n"
    "A-3,fax,sam.sdr,igår,,\r\n"
)


@pytest.fixture(autouse=True)
def _imports_in_tmp(settings, tmp_path):
    settings.SALJSITE_IMPORT_DIR = tmp_path / "imports"


def upload(client, content: str, kind: str = "activities", name: str = "calls.csv"):
    return client.post(
        reverse("admin:pipeline_importjob_add"),
        {"kind": kind, "file": SimpleUploadedFile(name, content.encode(), "text/csv")},
    )


def test_a_manager_checks_a_file_then_commits_it(world, client, django_capture_on_commit_callbacks):
    client.force_login(world["manager"])
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, GOOD)
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:pipeline_importjob_job", args=[job.pk])
    assert job.status == "checked" and job.rows_done == 2
    assert job.dry_run_report["created"] == 2 and job.dry_run_report["ok"]
    assert not Activity.objects.exists()  # a dry run

    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert '<strong data-role="created">2</strong> created' in html
    assert 'value="Import"' in html

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:pipeline_importjob_commit", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == "committed"
    assert job.report["created"] == 2 and job.report["committed"]
    assert set(Activity.objects.values_list("external_id", flat=True)) == {"A-1", "A-2"}
    html = client.get(response["Location"]).content.decode()
    assert "✔ Imported" in html
    assert 'value="Import"' not in html  # committed once

    status = client.get(reverse("admin:pipeline_importjob_status", args=[job.pk])).json()
    assert status == {
        "status": "committed",
        "status_label": "Imported",
        "progress": 1.0,
        "rows": 2,
        "finished": True,
    }


def test_a_bad_file_shows_every_error_with_its_line_and_cannot_be_committed(
    world, client, django_capture_on_commit_callbacks
):
    client.force_login(world["manager"])
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, BAD)
    job = ImportJob.objects.get()
    html = client.get(response["Location"]).content.decode()
    assert (
        "<td>3</td><td><code>owner</code></td><td>“olle.other” is not in a team you manage.</td>"
        in html
    )
    assert "<td>4</td><td><code>kind</code></td>" in html
    assert "<td>4</td><td><code>occurred_at</code></td>" in html
    assert 'value="Import"' not in html
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:pipeline_importjob_commit", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == "checked"
    assert not Activity.objects.exists()


def test_the_upload_page_lists_formats_and_serves_templates(world, client):
    client.force_login(world["manager"])
    html = client.get(reverse("admin:pipeline_importjob_add")).content.decode()
    assert 'id="format-activities"' in html and 'id="format-targets"' in html
    response = client.get(reverse("admin:pipeline_importjob_template", args=["rep-costs"]))
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert body.splitlines() == ["rep,month,kind,amount", 'alex.ae,2026-03,salary,"52 000,00"']
    xlsx = client.get(
        reverse("admin:pipeline_importjob_template", args=["rep-costs"]) + "?format=xlsx"
    )
    assert xlsx["Content-Disposition"] == 'attachment; filename="saljsite-rep-costs-template.xlsx"'


def test_the_admin_index_links_the_import_page(world, client):
    client.force_login(world["manager"])
    html = client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:pipeline_importjob_add") in html


def test_a_rep_cannot_reach_the_import_page(world, client):
    client.force_login(world["sdr"])
    response = client.get(reverse("admin:pipeline_importjob_add"))
    assert response.status_code == 302 and "/login/" in response["Location"]
    response = client.post(reverse("admin:pipeline_importjob_add"), {"kind": "activities"})
    assert response.status_code == 302 and not ImportJob.objects.exists()


def test_staff_without_the_permission_is_refused(world, client):
    clerk = UserFactory(username="clerk", is_staff=True)
    client.force_login(clerk)
    assert client.get(reverse("admin:pipeline_importjob_add")).status_code == 403


def test_a_manager_cannot_see_or_commit_another_managers_job(
    world, client, django_capture_on_commit_callbacks
):
    client.force_login(world["manager"])
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, GOOD)
    job = ImportJob.objects.get()
    client.force_login(ManagerFactory(username="mona.manager", team=world["other_team"]))
    assert client.get(reverse("admin:pipeline_importjob_job", args=[job.pk])).status_code == 404
    assert client.get(reverse("admin:pipeline_importjob_status", args=[job.pk])).status_code == 404
    response = client.post(reverse("admin:pipeline_importjob_commit", args=[job.pk]))
    assert response.status_code == 404
    assert not Activity.objects.exists()


@pytest.mark.parametrize("size", [1, 5])
def test_the_job_page_queries_do_not_grow_with_the_errors(
    world, client, django_capture_on_commit_callbacks, django_assert_max_num_queries, size
):
    client.force_login(world["manager"])
    content = HEADER + "".join(f"B-{n},fax,sam.sdr,2026-03-02 09:30,,\r\n" for n in range(size))
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, content)
    with django_assert_max_num_queries(8):
        assert client.get(response["Location"]).status_code == 200


def test_a_job_that_breaks_is_marked_failed_and_the_page_still_answers(
    world, client, django_capture_on_commit_callbacks
):
    client.force_login(world["manager"])
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, GOOD)
    job = ImportJob.objects.get()
    job.file.storage.delete(job.file.name)  # gone before the commit
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:pipeline_importjob_commit", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == "failed"
    assert "Failed" in client.get(response["Location"]).content.decode()
    assert not Activity.objects.exists()


def test_the_status_endpoint_reports_a_running_jobs_progress(world, client):
    from django.core.cache import cache

    from pipeline.imports.jobs import _progress_key

    job = ImportJob.objects.create(
        kind="activities",
        original_name="big.csv",
        created_by=world["manager"],
        status="running",
        file="x.csv",
    )
    cache.set(_progress_key(job.pk), {"progress": 0.42, "rows": 420000})
    client.force_login(world["manager"])
    status = client.get(reverse("admin:pipeline_importjob_status", args=[job.pk])).json()
    assert status == {
        "status": "running",
        "status_label": "Importing",
        "progress": 0.42,
        "rows": 420000,
        "finished": False,
    }
    html = client.get(reverse("admin:pipeline_importjob_job", args=[job.pk])).content.decode()
    assert 'data-busy="1"' in html and 'value="0.420"' in html
    assert "js/import_progress.js" in html


def test_the_job_kinds_are_the_importable_kinds():
    from pipeline.imports.kinds import KINDS

    assert [slug for slug, _label in ImportJob.KINDS] == list(KINDS)


def test_an_xlsx_upload_is_read_as_xlsx(
    world, client, django_capture_on_commit_callbacks, tmp_path
):
    from pipeline.tests.imports_helpers import write_xlsx

    path = write_xlsx(
        tmp_path / "costs.xlsx", [["rep", "month", "amount"], ["alex.ae", "2026-03", 1000.5]]
    )
    client.force_login(world["manager"])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("admin:pipeline_importjob_add"),
            {"kind": "rep-costs", "file": SimpleUploadedFile("costs.xlsx", path.read_bytes())},
        )
    job = ImportJob.objects.get()
    assert job.dry_run_report["ok"] and job.dry_run_report["created"] == 1
