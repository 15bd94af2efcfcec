"""Admin for the pipeline. Leads, opportunities and rep costs are written through the services."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin
from django.db import transaction
from django.db.models import Q

from people.admin_scoping import ScopedAdminMixin, ServiceAdminMixin, ServiceModelForm
from pipeline import services
from pipeline.models import Company, Contact, Lead, Opportunity, RepCost, Stage, StageChange
from pipeline.querysets import visible_owner_q

if TYPE_CHECKING:
    from django.http import HttpRequest

    from people.models import User


# Owner filters offer only the users behind the visible rows (RelatedOnlyFieldListFilter reads
# the scoped get_queryset): a manager never sees another team's names in the sidebar.
OwnerFilter = admin.RelatedOnlyFieldListFilter


# ---------------------------------------------------------------------------
# Companies and contacts (no service: plain, validated model saves)
# ---------------------------------------------------------------------------
class ContactInline(admin.TabularInline):
    model = Contact
    fields = ("name", "title", "email", "phone", "is_decision_maker")
    extra = 0
    show_change_link = True


@admin.register(Company)
class CompanyAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_owner_field = "owner"
    scope_include_unowned = True
    list_display = ("name", "org_number", "owner", "created_at")
    list_select_related = ("owner",)
    list_filter = (("owner", OwnerFilter),)
    search_fields = ("name", "org_number", "external_id")
    date_hierarchy = "created_at"
    autocomplete_fields = ("owner",)
    inlines = (ContactInline,)

    def save_model(self, request, obj: Company, form, change: bool) -> None:
        services.company_save(company=obj)

    def save_formset(self, request, form, formset, change: bool) -> None:
        if formset.model is not Contact:
            return super().save_formset(request, form, formset, change)
        for contact in formset.save(commit=False):
            services.contact_save(contact=contact)
        for contact in formset.deleted_objects:
            contact.delete()
        return None


@admin.register(Contact)
class ContactAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_owner_field = "company__owner"
    scope_include_unowned = True
    list_display = ("name", "company", "title", "email", "phone", "is_decision_maker")
    list_select_related = ("company",)
    list_filter = ("is_decision_maker",)
    search_fields = ("name", "email", "phone", "company__name", "external_id")
    autocomplete_fields = ("company",)

    def save_model(self, request, obj: Contact, form, change: bool) -> None:
        services.contact_save(contact=obj)


# ---------------------------------------------------------------------------
# Leads
# ---------------------------------------------------------------------------
LEAD_CREATE_FIELDS = (
    "name",
    "source",
    "direction",
    "received_at",
    "assigned_to",
    "company",
    "contact",
    "notes",
    "external_id",
)


class LeadAdminForm(ServiceModelForm):
    class Meta:
        model = Lead
        fields = (*LEAD_CREATE_FIELDS, "status")

    def write(self) -> Lead:
        if self.adding:
            return services.lead_create(
                **{name: self.cleaned_data[name] for name in LEAD_CREATE_FIELDS}
            )
        lead = self.instance
        # Only the assignee and the received time feed the KPIs; the time is read-only once the
        # lead exists (see LeadAdmin), so the other fields are plain, validated saves.
        plain = [name for name in self.changed_data if name != "assigned_to"]
        if plain:
            lead.save(update_fields=plain)
        if "assigned_to" in self.changed_data:
            lead = services.lead_assign(lead=lead, to=self.cleaned_data["assigned_to"])
        return lead


@admin.register(Lead)
class LeadAdmin(ServiceAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    form = LeadAdminForm
    scope_owner_field = "assigned_to"
    # Unassigned leads are the queue managers route from.
    scope_include_unowned = True
    list_display = (
        "name",
        "source",
        "direction",
        "received_at",
        "assigned_to",
        "company",
        "status",
    )
    list_select_related = ("assigned_to", "company")
    list_filter = ("status", "source", "direction", ("assigned_to", OwnerFilter))
    search_fields = ("name", "company__name", "contact__name", "external_id")
    date_hierarchy = "received_at"
    autocomplete_fields = ("assigned_to", "company", "contact")

    def get_fields(self, request: HttpRequest, obj: Lead | None = None) -> tuple[str, ...]:
        if obj is None:
            return LEAD_CREATE_FIELDS  # lead_create starts every lead as "new".
        return (*LEAD_CREATE_FIELDS, "status", "received_day")

    def get_readonly_fields(self, request: HttpRequest, obj: Lead | None = None) -> tuple[str, ...]:
        # The received time fixes the lead's KPI day; there is no service to move it.
        return ("received_at", "received_day") if obj is not None else ()

    def has_delete_permission(self, request: HttpRequest, obj: Lead | None = None) -> bool:
        # No service deletes a lead (its assignee's KPI cells would not be marked).
        return False


# ---------------------------------------------------------------------------
# Stages and opportunities
# ---------------------------------------------------------------------------
@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "order", "outcome")
    list_filter = ("outcome",)
    search_fields = ("name", "slug")
    ordering = ("order",)
    prepopulated_fields = {"slug": ("name",)}

    def get_readonly_fields(
        self, request: HttpRequest, obj: Stage | None = None
    ) -> tuple[str, ...]:
        # Stored KPI rows are keyed by `stage:<slug>` and history by outcome: fixed once created.
        return ("slug", "outcome") if obj is not None else ()

    def get_prepopulated_fields(self, request: HttpRequest, obj: Stage | None = None) -> dict:
        return {} if obj is not None else self.prepopulated_fields


class StageChangeInline(admin.TabularInline):
    """The opportunity's stage history, oldest first; view only."""

    model = StageChange
    fields = ("changed_at", "from_stage", "to_stage", "owner", "changed_by")
    readonly_fields = fields
    ordering = ("changed_at", "id")
    extra = 0
    can_delete = False

    def get_queryset(self, request: HttpRequest):
        return (
            super()
            .get_queryset(request)
            .select_related("from_stage", "to_stage", "owner", "changed_by")
        )

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


OPPORTUNITY_CREATE_FIELDS = (
    "name",
    "company",
    "contact",
    "lead",
    "owner",
    "kind",
    "lead_source",
    "channel",
    "amount",
    "stage",
    "created_at",
    "external_id",
)
OPPORTUNITY_CHANGE_FIELDS = (
    "name",
    "company",
    "contact",
    "lead",
    "owner",
    "kind",
    "lead_source",
    "channel",
    "amount",
    "stage",
    "lost_reason",
    "external_id",
)
OPPORTUNITY_READONLY_FIELDS = (
    "created_by",
    "created_at",
    "closed_at",
    "updated_at",
)


class OpportunityAdminForm(ServiceModelForm):
    class Meta:
        model = Opportunity
        fields = tuple(dict.fromkeys(OPPORTUNITY_CREATE_FIELDS + OPPORTUNITY_CHANGE_FIELDS))

    def write(self) -> Opportunity:
        data = self.cleaned_data
        if self.adding:
            return services.opportunity_create(
                **{name: data[name] for name in OPPORTUNITY_CREATE_FIELDS},
                created_by=self.request_user,
            )
        opp = self.instance
        details = self.changes(services.OPPORTUNITY_EDITABLE_FIELDS)
        # Details first, then the move: a deal marked won together with its final amount is
        # checked against that amount. One transaction: a refused move undoes the details too.
        with transaction.atomic():
            if details:
                opp = services.opportunity_update(opportunity=opp, **details)
            if "stage" in self.changed_data:
                change = services.opportunity_move_stage(
                    opportunity=opp,
                    to_stage=data["stage"],
                    changed_by=self.request_user,
                    lost_reason=data.get("lost_reason", ""),
                    amount=data.get("amount"),
                )
                opp = change.opportunity
        return opp


@admin.register(Opportunity)
class OpportunityAdmin(ServiceAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    form = OpportunityAdminForm
    scope_owner_field = "owner"
    list_display = ("name", "company", "owner", "stage", "amount", "created_at", "closed_at")
    list_select_related = ("company", "owner", "stage")
    list_filter = ("stage", "kind", "channel", "lead_source", ("owner", OwnerFilter))
    search_fields = ("name", "company__name", "external_id")
    date_hierarchy = "created_at"
    autocomplete_fields = ("company", "contact", "lead", "owner")

    def get_fields(self, request: HttpRequest, obj: Opportunity | None = None) -> tuple[str, ...]:
        if obj is None:
            return OPPORTUNITY_CREATE_FIELDS
        return OPPORTUNITY_CHANGE_FIELDS + OPPORTUNITY_READONLY_FIELDS

    def get_readonly_fields(
        self, request: HttpRequest, obj: Opportunity | None = None
    ) -> tuple[str, ...]:
        return OPPORTUNITY_READONLY_FIELDS if obj is not None else ()

    def get_inlines(self, request: HttpRequest, obj: Opportunity | None):
        return (StageChangeInline,) if obj is not None else ()

    def has_delete_permission(self, request: HttpRequest, obj: Opportunity | None = None) -> bool:
        # Every opportunity has stage history, which is append-only and protects it.
        return False


@admin.register(StageChange)
class StageChangeAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Append-only history: view only, for everyone including superusers."""

    list_display = ("opportunity", "from_stage", "to_stage", "owner", "changed_by", "changed_at")
    list_select_related = ("opportunity", "from_stage", "to_stage", "owner", "changed_by")
    list_filter = ("to_stage", ("owner", OwnerFilter))
    search_fields = ("opportunity__name",)
    date_hierarchy = "changed_at"

    def scope_q(self, user: User) -> Q:
        # The moves of the manager's teams' deals, and the moves their reps made on any deal.
        return visible_owner_q(user, "opportunity__owner") | visible_owner_q(user, "owner")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


# ---------------------------------------------------------------------------
# Rep costs
# ---------------------------------------------------------------------------
class RepCostAdminForm(ServiceModelForm):
    class Meta:
        model = RepCost
        fields = ("rep", "month", "kind", "amount")

    def write(self) -> RepCost:
        cost = self.instance
        if self.adding:
            return services.rep_cost_set(
                **{name: self.cleaned_data[name] for name in self._meta.fields}
            )
        return services.rep_cost_set(
            rep=cost.rep, month=cost.month, kind=cost.kind, amount=self.cleaned_data["amount"]
        )


@admin.register(RepCost)
class RepCostAdmin(ServiceAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    form = RepCostAdminForm
    scope_owner_field = "rep"
    list_display = ("rep", "month", "kind", "amount")
    list_select_related = ("rep",)
    list_filter = ("kind", ("rep", OwnerFilter))
    search_fields = ("rep__username", "rep__first_name", "rep__last_name")
    date_hierarchy = "month"
    autocomplete_fields = ("rep",)

    def get_readonly_fields(
        self, request: HttpRequest, obj: RepCost | None = None
    ) -> tuple[str, ...]:
        # rep_cost_set is keyed by (rep, month, kind): changing the key would be a new cost.
        return ("rep", "month", "kind") if obj is not None else ()

    def has_delete_permission(self, request: HttpRequest, obj: RepCost | None = None) -> bool:
        # No service deletes a cost (the rep's month would not be marked for recompute); a cost
        # that no longer applies is set to 0.
        return False


# The "Import data" page (pipeline/imports/admin.py registers ImportJob).
from pipeline.imports import admin as _imports_admin  # noqa: E402, F401
