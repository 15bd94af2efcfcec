"""The benchmark's URLs: the site's own, plus (with `SALJSITE_BENCH_FLOOR=1`) the floor endpoint.

The floor is the least work an activity create can be: parse the JSON body and call
`Activity.objects.create` — no authentication, validation, history or KPI bookkeeping. The API's
create (`POST /api/v1/activities/`) is measured against it in the same server.
"""

from __future__ import annotations

import json
import os

from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt

from activities.models import Activity
from saljsite.timeutils import local_day


@csrf_exempt
def floor_create(request: HttpRequest) -> JsonResponse:
    data = json.loads(request.body)
    occurred_at = parse_datetime(data["occurred_at"]) if "occurred_at" in data else timezone.now()
    activity = Activity.objects.create(
        owner_id=data["owner"],
        kind=data["kind"],
        outcome=data.get("outcome", ""),
        duration_seconds=data.get("duration_seconds"),
        occurred_at=occurred_at,
        occurred_day=local_day(occurred_at),
        external_id=data.get("external_id", ""),
    )
    return JsonResponse({"id": activity.pk}, status=201)


urlpatterns = []
if os.environ.get("SALJSITE_BENCH_FLOOR") == "1":
    urlpatterns.append(path("bench/floor/activities/", floor_create, name="bench-floor"))
urlpatterns.append(path("", include("saljsite.urls")))
