"""The rep's activity pages: quick log, booking, My week, and one activity (complete, cancel,
edit, delete, history).

Who may open an activity: see `activities.selectors.activity_for_user` (another team's: 404) and
`may_edit_activity` (a teammate's activity that is not yours: 403).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from activities import selectors, services
from activities.forms import (
    SERVICE_ERROR_FIELDS,
    booking_form,
    complete_form,
    edit_form,
    quick_log_form,
)
from activities.models import Activity
from pipeline.forms import add_service_errors

if TYPE_CHECKING:
    from people.models import User


def _data(request: HttpRequest):
    return request.POST if request.method == "POST" else None


def _next_or(request: HttpRequest, default: str) -> str:
    """A safe `next` from the form (back where the rep came from), else `default`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _editable_activity(request: HttpRequest, pk: int) -> Activity:
    activity = selectors.activity_for_user(user=request.user, pk=pk)
    if activity is None:
        raise Http404
    if not selectors.may_edit_activity(request.user, activity):
        raise PermissionDenied
    return activity


@login_required
def log(request: HttpRequest) -> HttpResponse:
    """Quick log: one tap on a kind, defaults for the rest (now, outbound, done, me)."""
    kind = request.POST.get("kind") or request.GET.get("kind") or Activity.Kind.CALL
    if kind not in Activity.Kind.values:
        kind = Activity.Kind.CALL
    initial = {name: request.GET[name] for name in ("lead", "opportunity") if name in request.GET}
    form = quick_log_form(_data(request), user=request.user, kind=kind, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            activity = services.activity_log(
                owner=request.user, kind=kind, changed_by=request.user, **form.service_kwargs()
            )
        except ValidationError as error:
            add_service_errors(form, error, SERVICE_ERROR_FIELDS)
        else:
            messages.success(request, _("%(kind)s logged.") % {"kind": activity.get_kind_display()})
            if "another" in request.POST:
                return redirect(f"{reverse('activities:log')}?kind={kind}")
            return redirect(_next_or(request, reverse("home")))
    return render(
        request,
        "activities/activity_log.html",
        {"form": form, "kind": kind, "kinds": Activity.Kind.choices},
    )


@login_required
def book(request: HttpRequest) -> HttpResponse:
    """Book a meeting, demo or lunch for yourself or a teammate (booked by you)."""
    form = booking_form(_data(request), user=request.user)
    if request.method == "POST" and form.is_valid():
        fields = form.service_kwargs()
        try:
            activity = services.activity_book(
                booked_by=request.user, changed_by=request.user, **fields
            )
        except ValidationError as error:
            add_service_errors(form, error, SERVICE_ERROR_FIELDS)
        else:
            messages.success(request, _booked_message(activity, request.user))
            if "another" in request.POST:
                return redirect("activities:book")
            return redirect("home")
    return render(request, "activities/activity_book.html", {"form": form})


def _booked_message(activity: Activity, user: User) -> str:
    if activity.owner_id == user.pk:
        return _("%(kind)s booked.") % {"kind": activity.get_kind_display()}
    return _("%(kind)s booked for %(name)s.") % {
        "kind": activity.get_kind_display(),
        "name": activity.owner.get_full_name() or activity.owner.username,
    }


@login_required
def week(request: HttpRequest) -> HttpResponse:
    week = selectors.my_week(rep=request.user, today=timezone.localdate())
    return render(request, "activities/activity_week.html", {"week": week})


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    activity = _editable_activity(request, pk)
    history = selectors.activity_history(activity_id=activity.pk)
    return render(
        request, "activities/activity_detail.html", {"activity": activity, "history": history}
    )


@login_required
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    activity = _editable_activity(request, pk)
    form = edit_form(_data(request), user=request.user, activity=activity)
    if request.method == "POST" and form.is_valid():
        changes = form.changed_kwargs(activity)
        try:
            if changes:
                services.activity_update(activity=activity, changed_by=request.user, **changes)
        except ValidationError as error:
            add_service_errors(form, error, SERVICE_ERROR_FIELDS)
        else:
            messages.success(request, _("Changes saved.") if changes else _("Nothing changed."))
            return redirect("activities:detail", pk=activity.pk)
    return render(request, "activities/activity_edit.html", {"form": form, "activity": activity})


@login_required
def complete(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark a planned activity done, with how it went."""
    activity = _editable_activity(request, pk)
    form = complete_form(_data(request), user=request.user, activity=activity)
    if request.method == "POST" and form.is_valid():
        try:
            services.activity_complete(
                activity=activity, changed_by=request.user, **form.service_kwargs()
            )
        except ValidationError as error:
            add_service_errors(form, error, SERVICE_ERROR_FIELDS)
        else:
            messages.success(
                request, _("%(kind)s marked as done.") % {"kind": activity.get_kind_display()}
            )
            return redirect(_next_or(request, reverse("home")))
    return render(
        request, "activities/activity_complete.html", {"form": form, "activity": activity}
    )


@login_required
@require_POST
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    activity = _editable_activity(request, pk)
    try:
        services.activity_cancel(activity=activity, changed_by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("%(kind)s cancelled.") % {"kind": activity.get_kind_display()})
    return redirect(_next_or(request, reverse("home")))


@login_required
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    activity = _editable_activity(request, pk)
    if request.method == "POST":
        services.activity_delete(activity=activity, changed_by=request.user)
        messages.success(request, _("%(kind)s deleted.") % {"kind": activity.get_kind_display()})
        return redirect("home")
    return render(request, "activities/activity_confirm_delete.html", {"activity": activity})
