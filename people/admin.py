"""Admin for users and teams, scoped so a manager sees the people of the teams they lead."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from people.admin_scoping import ScopedAdminMixin, visible_user_q
from people.models import Team, User
from people.services import user_set_team

if TYPE_CHECKING:
    from django.db.models import QuerySet
    from django.http import HttpRequest


@admin.register(User)
class UserAdmin(ScopedAdminMixin, DjangoUserAdmin):
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        (_("Sales"), {"fields": ("role", "team")}),
    )
    add_fieldsets = (
        *DjangoUserAdmin.add_fieldsets,
        (_("Sales"), {"classes": ("wide",), "fields": ("role", "team")}),
    )
    list_display = ("username", "full_name", "role", "team", "is_active")
    list_filter = ("role", ("team", admin.RelatedOnlyFieldListFilter), "is_active", "is_staff")
    list_select_related = ("team",)

    # The autocomplete behind every "owner"/"rep"/"assigned to" field reads this admin's
    # `get_queryset` (scoped below) before `get_search_results`, so a manager only finds the reps
    # of their own teams there too.
    def scope_q(self, user: User) -> Q:
        return visible_user_q(user)

    @admin.display(description=_("name"), ordering="first_name")
    def full_name(self, obj: User) -> str:
        return obj.get_full_name()

    def save_model(self, request, obj: User, form, change: bool) -> None:
        # A team change goes through the service: it marks the rep's history for recompute.
        if change and "team" in form.changed_data:
            new_team = obj.team
            obj.team_id = form.initial.get("team")
            super().save_model(request, obj, form, change)
            user_set_team(user=obj, team=new_team)
            obj.refresh_from_db(fields=["team"])
            return
        super().save_model(request, obj, form, change)


@admin.register(Team)
class TeamAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "manager", "member_count")
    list_select_related = ("manager",)
    search_fields = ("name",)
    autocomplete_fields = ("manager",)

    def scope_q(self, user: User) -> Q:
        if user.role == "manager":
            return Q(manager=user)
        return Q(pk=user.team_id)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Team]:
        # One aggregate in the list query rather than a count per row.
        return super().get_queryset(request).annotate(member_count=Count("members"))

    @admin.display(description=_("members"), ordering="member_count")
    def member_count(self, obj: Team) -> int:
        return obj.member_count
