"""The rep's leads inbox and pipeline pages, and the company/contact search they share.

Who may open what: see `pipeline.selectors` (another team's lead or deal: 404; a teammate's that
is not yours to work: 403).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from pipeline import selectors, services
from pipeline.forms import LeadConvertForm, MoveStageForm, OpportunityForm, add_service_errors
from pipeline.models import Lead, Opportunity

MOVE_ERROR_FIELDS = {"stage": "to_stage", "at": "to_stage"}


def _data(request: HttpRequest):
    return request.POST if request.method == "POST" else None


@login_required
@require_GET
def search(request: HttpRequest) -> JsonResponse:
    """Companies and contacts within the user's reach, as they type (static/js/search.js)."""
    types = [t for t in request.GET.get("types", "company,contact").split(",") if t]
    hits = selectors.company_contact_search(
        user=request.user, query=request.GET.get("q", ""), types=types
    )
    return JsonResponse({"results": [hit.as_dict() for hit in hits]})


# ---------------------------------------------------------------------------
# Leads
# ---------------------------------------------------------------------------
def _workable_lead(request: HttpRequest, pk: int) -> Lead:
    lead = selectors.lead_for_user(user=request.user, pk=pk)
    if lead is None:
        raise Http404
    if not selectors.acts_for(request.user, lead.assigned_to):
        raise PermissionDenied
    return lead


@login_required
def leads(request: HttpRequest) -> HttpResponse:
    inbox = selectors.lead_inbox(rep=request.user, now=timezone.now())
    return render(request, "pipeline/lead_list.html", {"inbox": inbox, "now": timezone.now()})


@login_required
@require_POST
def lead_respond(request: HttpRequest, pk: int) -> HttpResponse:
    """One tap: the first response to a lead, a call or an email logged as done now."""
    lead = _workable_lead(request, pk)
    try:
        activity = services.lead_respond(
            lead=lead, by=request.user, kind=request.POST.get("kind", "")
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("%(kind)s logged for %(lead)s.")
            % {"kind": activity.get_kind_display(), "lead": lead.name},
        )
    return redirect("pipeline:leads")


@login_required
def lead_convert(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _workable_lead(request, pk)
    form = LeadConvertForm(_data(request), user=request.user, lead=lead)
    if request.method == "POST" and form.is_valid():
        try:
            opportunity = services.lead_convert(lead=lead, by=request.user, **form.service_kwargs())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Lead converted to an opportunity."))
            return redirect("pipeline:opportunity_detail", pk=opportunity.pk)
    return render(request, "pipeline/lead_convert.html", {"form": form, "lead": lead})


# ---------------------------------------------------------------------------
# Pipeline
# ---------------------------------------------------------------------------
@login_required
def board(request: HttpRequest) -> HttpResponse:
    board = selectors.pipeline_board(rep=request.user)
    return render(request, "pipeline/opportunity_board.html", {"board": board})


@login_required
def opportunity_create(request: HttpRequest) -> HttpResponse:
    form = OpportunityForm(_data(request), user=request.user)
    if request.method == "POST" and form.is_valid():
        fields = form.service_kwargs()
        lead = fields.pop("lead", None)
        try:
            if lead is not None:
                fields.pop("lead_source", None)
                opportunity = services.lead_convert(lead=lead, by=request.user, **fields)
            else:
                opportunity = services.opportunity_create(created_by=request.user, **fields)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Opportunity created."))
            return redirect("pipeline:opportunity_detail", pk=opportunity.pk)
    return render(request, "pipeline/opportunity_create.html", {"form": form})


def _workable_opportunity(request: HttpRequest, pk: int) -> Opportunity:
    opportunity = selectors.opportunity_for_user(user=request.user, pk=pk)
    if opportunity is None:
        raise Http404
    if not selectors.may_work_opportunity(request.user, opportunity):
        raise PermissionDenied
    return opportunity


def _render_detail(
    request: HttpRequest, opportunity: Opportunity, form: MoveStageForm
) -> HttpResponse:
    detail = selectors.opportunity_detail(opportunity=opportunity)
    return render(
        request, "pipeline/opportunity_detail.html", {"detail": detail, "move_form": form}
    )


@login_required
def opportunity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = _workable_opportunity(request, pk)
    return _render_detail(request, opportunity, MoveStageForm(opportunity=opportunity))


@login_required
def opportunity_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Move a deal to another stage; won needs an amount and lost a reason (the service rules)."""
    opportunity = _workable_opportunity(request, pk)
    if request.method != "POST":
        return redirect("pipeline:opportunity_detail", pk=pk)
    form = MoveStageForm(request.POST, opportunity=opportunity)
    if form.is_valid():
        try:
            change = services.opportunity_move_stage(
                opportunity=opportunity, changed_by=request.user, **form.service_kwargs()
            )
        except ValidationError as error:
            add_service_errors(form, error, MOVE_ERROR_FIELDS)
        else:
            messages.success(request, _("Moved to %(stage)s.") % {"stage": str(change.to_stage)})
            return redirect("pipeline:opportunity_detail", pk=pk)
    return _render_detail(request, opportunity, form)
