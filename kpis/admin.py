"""Admin for the KPI app: the dirty-cell queue, read-only (the recompute owns it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin

from kpis.models import DirtyCell
from people.admin_scoping import ScopedAdminMixin

if TYPE_CHECKING:
    from django.http import HttpRequest


@admin.register(DirtyCell)
class DirtyCellAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """What the next recompute will redo. Writes mark cells; the recompute clears them."""

    scope_owner_field = "rep"
    list_display = ("rep", "day", "marked_at")
    list_select_related = ("rep",)
    list_filter = (("rep", admin.RelatedOnlyFieldListFilter),)
    search_fields = ("rep__username", "rep__first_name", "rep__last_name")
    date_hierarchy = "day"
    ordering = ("day", "rep_id")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: DirtyCell | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: DirtyCell | None = None) -> bool:
        return False


# Targets, their history and the role presets live in their own module.
from kpis import admin_targets  # noqa: E402, F401
