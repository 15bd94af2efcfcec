"""Property-based run of the live OpenAPI schema (schemathesis) against the Django WSGI app.

Every GET operation and the creating POSTs are called with generated requests — valid ones and,
for the parameters, invalid ones too — as a seeded manager (token auth) who reads two teams'
data. Each response must not be a server error and must match the schema (status, body). The
run is bounded and reproducible: a few examples per operation, no shrinking, derandomized, no
example database, about a minute in all. No network server: requests go through the WSGI app in
the test's own database transaction.
"""

from __future__ import annotations

import datetime as dt

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, Phase, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from activities.services import activity_book, activity_log
from kpis.compute.run import recompute_full
from kpis.target_services import target_set
from people.tests.factories import UserFactory
from pipeline.tests.factories import CompanyFactory, ContactFactory, OpportunityFactory
from saljsite.tests.api_support import API, build_org, client_for

# Bounded for CI: operations × examples; no shrinking (a failure is reported as found).
BOUNDS = settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
# Writes beyond creation (PUT, PATCH, DELETE) and the login are left out: the login is throttled
# and hashes passwords; deletes would mostly answer 404 for generated ids.
CREATES = {
    f"{API}/activities/",
    f"{API}/activities/batch/",
    f"{API}/companies/",
    f"{API}/contacts/",
    f"{API}/leads/",
    f"{API}/kpis/recompute/",
}


@pytest.fixture
def _keep_connection():
    """The WSGI handler closes "old" connections when a request starts and ends, and the test's
    transaction makes the connection look like one; Django's test client suspends this too."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(db, settings, _keep_connection):
    """Two teams with activities, a deal, targets and computed KPIs; a manager's token."""
    settings.ALLOWED_HOSTS = ["localhost"]
    cache.clear()
    org = build_org()
    company = CompanyFactory(owner=org.anna)
    contact = ContactFactory(company=company)
    OpportunityFactory(owner=org.anna, company=company)
    day = timezone.now() - dt.timedelta(days=2)
    for rep in (org.anna, org.sam, org.bo):
        activity_log(owner=rep, kind="call", occurred_at=day, outcome="connected")
        activity_log(owner=rep, kind="email", occurred_at=day, external_id=f"mail-{rep.pk}")
    activity_book(
        booked_by=org.sam, owner=org.anna, kind="meeting", occurred_at=day, contact=contact
    )
    target_set(
        kpi="calls_made",
        scope="rep",
        rep=org.anna,
        period="month",
        value=20,
        valid_from=dt.date(2020, 1, 1),
        changed_by=org.mia,
    )
    recompute_full()
    org.mia.is_superuser = True  # Reads both teams: more of the API answers with data.
    org.mia.save(update_fields=["is_superuser"])
    return Token.objects.create(user=org.mia).key


def _live_schema():
    """The live schema, as the app serves it (no database needed to render it). Schemathesis
    calls the app as host "localhost"."""
    with override_settings(ALLOWED_HOSTS=["localhost"]):
        return schemathesis.openapi.from_wsgi(f"{API}/schema/?format=json", get_wsgi_application())


# Reads: random (fuzzed) queries only. Creates: also the coverage phase's boundary and
# negative cases for every field (about ten times the requests: for the few creates only).
reads = _live_schema()
reads.config.phases.coverage.enabled = False
creates = _live_schema()


@reads.include(method="GET").parametrize()
@BOUNDS
def test_every_get_answers_without_server_errors_and_as_documented(case, seeded):
    case.call_and_validate(headers={"Authorization": f"Token {seeded}"}, checks=CHECKS)


@creates.include(method="POST", path=sorted(CREATES)).parametrize()
@BOUNDS
def test_creates_answer_without_server_errors_and_as_documented(case, seeded):
    case.call_and_validate(headers={"Authorization": f"Token {seeded}"}, checks=CHECKS)


# ---------------------------------------------------------------------------
# What the run found, pinned
# ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_date_time_filter_with_a_large_utc_offset_is_read_in_utc():
    rep = UserFactory()
    activity_log(owner=rep, kind="call", occurred_at=dt.datetime(2025, 1, 1, 12, tzinfo=dt.UTC))
    client = client_for(rep)

    # 2025-01-02T10:00+23:00 is 2025-01-01T11:00Z (PostgreSQL refuses offsets past ±15:59).
    found = client.get(f"{API}/activities/", {"occurred_at__gte": "2025-01-02T10:00:00+23:00"})
    later = client.get(f"{API}/activities/", {"occurred_at__gte": "2025-01-02T14:00:00+23:00"})

    assert (found.status_code, found.data["count"]) == (200, 1)
    assert (later.status_code, later.data["count"]) == (200, 0)


@pytest.mark.django_db
def test_a_date_time_without_a_utc_year_is_400():
    response = client_for(UserFactory()).get(
        f"{API}/activities/", {"occurred_at__lt": "0001-01-01T00:00:00+05:00"}
    )

    assert response.status_code == 400
    assert "occurred_at__lt" in response.data
