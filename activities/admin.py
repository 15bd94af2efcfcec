"""Admin for activities: every add, change, cancel and delete goes through the services."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from activities import services
from activities.models import Activity
from people.admin_scoping import ScopedAdminMixin, ServiceAdminMixin, ServiceModelForm

if TYPE_CHECKING:
    from django.db.models import QuerySet
    from django.http import HttpRequest


class ActivityAdminForm(ServiceModelForm):
    class Meta:
        model = Activity
        fields = tuple(sorted(services.EDITABLE_FIELDS))

    def write(self) -> Activity:
        if self.adding:
            return services.activity_log(
                **{
                    name: value
                    for name, value in self.cleaned_data.items()
                    if name in services.EDITABLE_FIELDS
                },
                changed_by=self.request_user,
            )
        changes = self.changes(services.EDITABLE_FIELDS)
        if not changes:
            return self.instance
        return services.activity_update(
            activity=self.instance, changed_by=self.request_user, **changes
        )


@admin.register(Activity)
class ActivityAdmin(ServiceAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    form = ActivityAdminForm
    scope_owner_field = "owner"
    list_display = (
        "occurred_at",
        "kind",
        "status",
        "owner",
        "subject",
        "company",
        "contact",
        "outcome",
        "duration_seconds",
    )
    list_select_related = ("owner", "company", "contact__company")
    list_filter = (
        "kind",
        "status",
        "direction",
        "mode",
        ("owner", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = (
        "subject",
        "notes",
        "company__name",
        "contact__name",
        "owner__username",
        "owner__first_name",
        "owner__last_name",
        "external_id",
    )
    date_hierarchy = "occurred_at"
    autocomplete_fields = ("owner", "booked_by", "company", "contact", "lead", "opportunity")
    actions = ("cancel_planned",)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "kind",
                    "status",
                    "owner",
                    "occurred_at",
                    "direction",
                    "subject",
                    "notes",
                )
            },
        ),
        (_("Linked to"), {"fields": ("company", "contact", "lead", "opportunity")}),
        (_("Call"), {"fields": ("outcome", "duration_seconds")}),
        (_("Email"), {"fields": ("replied", "clicked")}),
        (_("Meeting, demo or lunch"), {"fields": ("mode", "booked_by", "booked_at")}),
        (_("Other"), {"fields": ("external_id",), "classes": ("collapse",)}),
    )
    record_fieldset = (
        _("Record"),
        {"fields": ("occurred_day", "booked_day", "created_at", "updated_at")},
    )
    readonly_fields = ("occurred_day", "booked_day", "created_at", "updated_at")

    def get_fieldsets(self, request: HttpRequest, obj: Activity | None = None):
        # The stored days and timestamps only exist once the service has saved the activity.
        if obj is None:
            return self.fieldsets
        return (*self.fieldsets, self.record_fieldset)

    def delete_model(self, request: HttpRequest, obj: Activity) -> None:
        services.activity_delete(activity=obj, changed_by=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Activity]) -> None:
        # One transaction: a failure half-way leaves every selected activity in place.
        with transaction.atomic():
            for activity in queryset:
                services.activity_delete(activity=activity, changed_by=request.user)

    @admin.action(
        description=_("Mark selected planned activities as cancelled"), permissions=["change"]
    )
    def cancel_planned(self, request: HttpRequest, queryset: QuerySet[Activity]) -> None:
        planned = list(queryset.filter(status=Activity.Status.PLANNED))
        skipped = queryset.count() - len(planned)
        cancelled = 0
        for activity in planned:
            try:
                services.activity_cancel(activity=activity, changed_by=request.user)
            except ValidationError as error:  # Completed or cancelled by someone meanwhile.
                self.message_user(
                    request, f"{activity}: {'; '.join(error.messages)}", messages.WARNING
                )
            else:
                cancelled += 1
        if cancelled:
            self.message_user(
                request,
                ngettext(
                    "%(count)d activity was cancelled.",
                    "%(count)d activities were cancelled.",
                    cancelled,
                )
                % {"count": cancelled},
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d activity was not planned and was left unchanged.",
                    "%(count)d activities were not planned and were left unchanged.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )
