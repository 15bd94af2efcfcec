"""The admin's "Import data" page: upload a file (dry run), read the report, commit, follow it.

Managers (staff in the Managers group, which holds `pipeline.add_importjob`) import for the
teams they manage; reps are not staff and never reach the admin. A manager sees their own jobs,
a superuser everyone's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pipeline.imports import jobs
from pipeline.imports.export import team_export_zip
from pipeline.imports.formats import TYPE_LABELS, template_rows
from pipeline.imports.kinds import KINDS, kind_choices
from pipeline.models_imports import ImportJob
from saljsite.tabular import tabular_response

if TYPE_CHECKING:
    from django.http import HttpRequest
    from django.urls import URLPattern

MAX_UPLOAD_MB = 512


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("What the file holds"), choices=kind_choices)
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy(
            "CSV (UTF-8, or Excel's semicolon CSV) or XLSX, with the columns of the template."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".csv", ".txt", ".xlsx")):
            raise ValidationError(_("Upload a .csv or .xlsx file."))
        if upload.size > MAX_UPLOAD_MB * 1024 * 1024:
            raise ValidationError(_("The file is larger than %(mb)s MB.") % {"mb": MAX_UPLOAD_MB})
        return upload


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "original_name", "status", "rows_done", "created_by")
    list_filter = ("kind", "status")
    list_select_related = ("created_by",)
    date_hierarchy = "created_at"

    def get_queryset(self, request: HttpRequest):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(created_by=request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # A job is never edited: it is checked, then committed.

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("export/", view(self.export_view), name="pipeline_importjob_export"),
            path(
                "template/<str:kind>/", view(self.template_view), name="pipeline_importjob_template"
            ),
            path("<int:job_id>/status/", view(self.status_view), name="pipeline_importjob_status"),
            path("<int:job_id>/commit/", view(self.commit_view), name="pipeline_importjob_commit"),
            path("<int:job_id>/", view(self.job_view), name="pipeline_importjob_job"),
            *super().get_urls(),
        ]

    # -- pages -------------------------------------------------------------------------------
    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ImportUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            job = jobs.import_job_create(
                kind=form.cleaned_data["kind"], upload=form.cleaned_data["file"], user=request.user
            )
            return redirect(reverse("admin:pipeline_importjob_job", args=[job.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Import data"),
            "form": form,
            "kinds": [_kind_help(slug) for slug in KINDS],
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/imports/upload.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return redirect(reverse("admin:pipeline_importjob_job", args=[object_id]))

    def job_view(self, request: HttpRequest, job_id: int) -> HttpResponse:
        job = self._job(request, job_id)
        dry_run = jobs.report_of(job.dry_run_report)
        result = jobs.report_of(job.report)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Import: %(name)s") % {"name": job.original_name},
            "job": job,
            "live": jobs.import_job_progress(job=job),
            "dry_run": dry_run,
            "result": result,
            "may_commit": (
                job.status == ImportJob.Status.CHECKED
                and dry_run is not None
                and dry_run.ok
                and (job.created_by_id == request.user.pk or request.user.is_superuser)
            ),
            "status_url": reverse("admin:pipeline_importjob_status", args=[job.pk]),
        }
        return TemplateResponse(request, "admin/imports/job.html", context)

    def commit_view(self, request: HttpRequest, job_id: int) -> HttpResponse:
        if request.method != "POST":
            return redirect(reverse("admin:pipeline_importjob_job", args=[job_id]))
        job = self._job(request, job_id)
        try:
            jobs.import_job_commit(job=job, user=request.user)
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
        return redirect(reverse("admin:pipeline_importjob_job", args=[job_id]))

    def status_view(self, request: HttpRequest, job_id: int) -> JsonResponse:
        return JsonResponse(jobs.import_job_progress(job=self._job(request, job_id)))

    def template_view(self, request: HttpRequest, kind: str) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        if kind not in KINDS:
            raise Http404
        header, example = template_rows(KINDS[kind].columns)
        return tabular_response(
            fmt="xlsx" if request.GET.get("format") == "xlsx" else "csv",
            filename=f"saljsite-{kind}-template",
            header=header,
            rows=[example],
        )

    def export_view(self, request: HttpRequest) -> HttpResponse:
        """The team's data in the import formats (a ZIP of one CSV per kind).

        A POST: rows without an external id get one, so that the files import back onto them.
        """
        if not self.has_add_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        archive = team_export_zip(user=request.user)
        name = f"saljsite-export-{timezone.localdate():%Y-%m-%d}.zip"
        return FileResponse(
            archive, as_attachment=True, filename=name, content_type="application/zip"
        )

    def _job(self, request: HttpRequest, job_id: int) -> ImportJob:
        if not (self.has_add_permission(request) or self.has_view_permission(request)):
            raise PermissionDenied
        job = self.get_queryset(request).filter(pk=job_id).first()
        if job is None:
            raise Http404
        return job


def _kind_help(slug: str) -> dict[str, Any]:
    kind = KINDS[slug]
    return {
        "slug": slug,
        "label": kind.label,
        "columns": [
            {
                "name": c.name,
                "required": c.required,
                "type": TYPE_LABELS[c.type],
                "choices": ", ".join(c.choices),
                "help": c.help,
            }
            for c in kind.columns
        ],
        "template_url": reverse("admin:pipeline_importjob_template", args=[slug]),
    }
