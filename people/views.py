"""The signed-in landing page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from activities.selectors import activity_counts_today


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "people/home.html",
        {"counts": activity_counts_today(rep=request.user)},
    )
