"""The signed-in landing page: My day."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from activities.selectors import my_day


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Today's counters against pace, the planned activities due and what was done today."""
    day = my_day(rep=request.user, today=timezone.localdate())
    return render(request, "people/home.html", {"day": day, "counts": day.counts})
