"""Admin for targets, their change log and the role presets.

Every target write goes through `kpis.target_services`, so the change log is complete: the add and
change forms, the changelist's editable value column (also saved through `save_model`), deletes,
bulk deletes and the "set for a team or role" form.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminDateWidget
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.text import format_lazy
from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from kpis.models import RolePreset, Target, TargetChange
from kpis.models.targets import PERIOD_CHOICES, ROLE_CHOICES
from kpis.registry import KPIS, Category
from kpis.target_services import (
    target_delete,
    target_set,
    target_update,
    targets_delete,
    targets_set_for_group,
)
from kpis.targets import SALES_ROLES, target_duplicates
from people.models import Team, User

CATEGORY_LABELS = {
    Category.ACTIVITY: _("Activity"),
    Category.EFFICIENCY: _("Efficiency"),
    Category.PROGRESS: _("Progress"),
    Category.RESULT: _("Result"),
}


def kpi_choices() -> list[tuple[Any, Any]]:
    """The registry's KPIs by category, named as the registry names them."""
    return [("", "---------")] + [
        (label, [(k.code, k.name) for k in KPIS if k.category == category])
        for category, label in CATEGORY_LABELS.items()
    ]


KPI_NAMES = {k.code: k.name for k in KPIS}

SCOPE_HELP = _(
    "The most specific target wins: one rep, then the rep's team, then the rep's role, then "
    "everyone. For KPIs that add up (calls, meetings, revenue …) a team's target is the sum of its "
    "members' targets, so a team or role target there is what each member should reach."
)
VALID_FROM_HELP = _(
    "A target applies to the periods whose first day it is in force on; one starting mid-period "
    "first applies to the next period."
)

VALUE_HELP = _(
    "For rates give a fraction: 0.25 means 25 percent. Money is in the organisation's currency."
)


# ---------------------------------------------------------------------------
# Target
# ---------------------------------------------------------------------------
class TargetAdminForm(forms.ModelForm):
    kpi = forms.ChoiceField(label=_("KPI"), choices=kpi_choices)

    class Meta:
        model = Target
        fields = [
            "kpi",
            "scope",
            "rep",
            "team",
            "role",
            "period",
            "value",
            "valid_from",
            "valid_to",
        ]
        help_texts = {"scope": SCOPE_HELP, "value": VALUE_HELP, "valid_from": VALID_FROM_HELP}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        probe = Target(
            pk=self.instance.pk,
            kpi=cleaned.get("kpi"),
            scope=cleaned.get("scope"),
            rep=cleaned.get("rep"),
            team=cleaned.get("team"),
            role=cleaned.get("role") or "",
            period=cleaned.get("period"),
            valid_from=cleaned.get("valid_from"),
        )
        if probe.valid_from and target_duplicates(target=probe).exists():
            raise ValidationError(
                _(
                    "A target for this KPI, subject, period and start date already exists; "
                    "change its value instead."
                )
            )
        return cleaned


class GroupTargetForm(forms.Form):
    kpi = forms.ChoiceField(label=_("KPI"), choices=kpi_choices)
    team = forms.ModelChoiceField(
        label=_("team"),
        queryset=Team.objects.all(),
        required=False,
        help_text=_("Every sales rep of this team (of the role below, if you choose one)."),
    )
    role = forms.ChoiceField(
        label=_("role"),
        choices=[("", "---------"), *ROLE_CHOICES],
        required=False,
        help_text=_("Every rep with this role (within the team above, if you choose one)."),
    )
    period = forms.ChoiceField(label=_("period"), choices=PERIOD_CHOICES)
    value = forms.DecimalField(
        label=_("value"),
        min_value=0,
        max_digits=16,
        decimal_places=4,
        help_text=format_lazy("{} {}", _("What each rep should reach per period."), VALUE_HELP),
    )
    valid_from = forms.DateField(
        label=_("valid from"), widget=AdminDateWidget, help_text=VALID_FROM_HELP
    )
    valid_to = forms.DateField(label=_("valid to"), widget=AdminDateWidget, required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not cleaned.get("team") and not cleaned.get("role"):
            raise ValidationError(_("Choose a team, a role, or both."))
        start, end = cleaned.get("valid_from"), cleaned.get("valid_to")
        if start and end and end < start:
            self.add_error("valid_to", _("A target cannot end before it starts."))
        return cleaned


class TargetAdmin(admin.ModelAdmin):
    form = TargetAdminForm
    list_display = ["kpi", "scope", "subject", "period", "value", "valid_from", "valid_to"]
    list_editable = ["value"]
    list_filter = ["kpi", "scope", "period", "team", "role"]
    list_select_related = ["rep", "team"]
    search_fields = ["kpi", "rep__username", "rep__first_name", "rep__last_name", "team__name"]
    date_hierarchy = "valid_from"
    fieldsets = [
        (None, {"fields": ["kpi", "period", "value"]}),
        (_("Who"), {"fields": ["scope", "rep", "team", "role"]}),
        (_("When"), {"fields": ["valid_from", "valid_to"]}),
    ]

    @admin.display(description=pgettext_lazy("target", "applies to"))
    def subject(self, obj: Target) -> str:
        if obj.scope == Target.Scope.REP:
            return str(obj.rep)
        if obj.scope == Target.Scope.TEAM:
            return str(obj.team)
        if obj.scope == Target.Scope.ROLE:
            return str(obj.get_role_display())
        return gettext("Everyone")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "rep":
            kwargs["queryset"] = User.objects.filter(role__in=SALES_ROLES).select_related("team")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Target], search_term: str
    ) -> tuple[QuerySet[Target], bool]:
        """Also find targets by the KPI's name, as the registry (and the list) shows it."""
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip().casefold()
        if term:
            codes = [k.code for k in KPIS if term in str(k.name).casefold()]
            if codes:
                results = results | queryset.filter(Q(kpi__in=codes))
        return results, may_have_duplicates

    # Writes go through the services, which validate and log them.
    def save_model(self, request: HttpRequest, obj: Target, form, change: bool) -> None:
        if change:
            target_update(target=obj, changed_by=request.user)
            return
        saved = target_set(
            kpi=obj.kpi,
            scope=obj.scope,
            period=obj.period,
            value=obj.value,
            valid_from=obj.valid_from,
            valid_to=obj.valid_to,
            rep=obj.rep,
            team=obj.team,
            role=obj.role,
            changed_by=request.user,
        )
        obj.pk, obj.updated_at = saved.pk, saved.updated_at

    def delete_model(self, request: HttpRequest, obj: Target) -> None:
        target_delete(target=obj, changed_by=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Target]) -> None:
        targets_delete(targets=queryset, changed_by=request.user)

    # --- Set one target for a whole team or role -----------------------------------------------
    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "set-for-group/",
                self.admin_site.admin_view(self.set_for_group_view),
                name="kpis_target_set_for_group",
            ),
            *super().get_urls(),
        ]

    def set_for_group_view(self, request: HttpRequest) -> HttpResponse:
        if not (self.has_add_permission(request) and self.has_change_permission(request)):
            raise PermissionDenied
        form = GroupTargetForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                targets = targets_set_for_group(
                    kpi=data["kpi"],
                    period=data["period"],
                    value=data["value"],
                    valid_from=data["valid_from"],
                    valid_to=data["valid_to"],
                    team=data["team"],
                    role=data["role"] or None,
                    changed_by=request.user,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.message_user(
                    request,
                    ngettext(
                        "Set the target for %(count)d rep.",
                        "Set the target for %(count)d reps.",
                        len(targets),
                    )
                    % {"count": len(targets)},
                    messages.SUCCESS,
                )
                return redirect(reverse("admin:kpis_target_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Set a target for a team or role"),
            "form": form,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/kpis/target/set_for_group.html", context)


# ---------------------------------------------------------------------------
# TargetChange (read-only log)
# ---------------------------------------------------------------------------
class TargetChangeAdmin(admin.ModelAdmin):
    list_display = ["changed_at", "action", "target_id_ref", "kpi", "change", "changed_by"]
    list_filter = ["action", "changed_at"]
    list_select_related = ["changed_by"]
    search_fields = ["target_id_ref"]
    date_hierarchy = "changed_at"

    @admin.display(description=_("KPI"))
    def kpi(self, obj: TargetChange) -> str:
        state = obj.after or obj.before or {}
        code = state.get("kpi", "")
        return str(KPI_NAMES.get(code, code))

    @admin.display(description=_("value"))
    def change(self, obj: TargetChange) -> str:
        before = (obj.before or {}).get("value")
        after = (obj.after or {}).get("value")
        if before is not None and after is not None:
            return f"{before} → {after}"
        return str(after if after is not None else before)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# ---------------------------------------------------------------------------
# RolePreset
# ---------------------------------------------------------------------------
class RolePresetAdmin(admin.ModelAdmin):
    list_display = ["role", "kpi", "order"]
    list_editable = ["order"]
    list_filter = ["role"]
    ordering = ["role", "order", "kpi"]


admin.site.register(Target, TargetAdmin)
admin.site.register(TargetChange, TargetChangeAdmin)
admin.site.register(RolePreset, RolePresetAdmin)
