"""Suite-wide test setup.

Services the suite can use: PostgreSQL (via DATABASE_URL) and Redis + a Celery worker (REDIS_URL).
On a laptop without them, tests that need one skip with the reason. In CI (CI=true) a missing
service is a failure, never a skip.
"""

from __future__ import annotations

import os

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def require_service(available: bool, reason: str) -> None:
    """Skip (laptop) or fail (CI) a test whose service is missing."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: a missing service is a failure)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def postgres_only(settings):
    from django.db import connection

    require_service(connection.vendor == "postgresql", "needs PostgreSQL (set DATABASE_URL)")


@pytest.fixture(autouse=True)
def _english_and_site_time(settings):
    settings.LANGUAGE_CODE = "en"
    settings.TIME_ZONE = "Europe/Stockholm"
