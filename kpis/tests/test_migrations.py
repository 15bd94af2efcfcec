"""Data migrations run against their own historical models, so later schema changes (a new KPI
counter, say) cannot break a database that is still behind."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("kpis", "0013_source_indexes")]
AFTER = [("kpis", "0014_rep_period_rollups")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


@pytest.fixture
def at_0013(transactional_db):
    apps = _migrate(BEFORE)
    yield apps
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_0014_sums_the_stored_days_into_week_month_quarter_and_year_rows(at_0013):
    apps = at_0013
    rep = apps.get_model("people", "User").objects.create(username="rep", role="ae")
    RepDay = apps.get_model("kpis", "RepDay")
    at = timezone.now()
    # Sunday 1 November (ISO week 44), Monday 2 November (week 45), Friday 30 October (week 44).
    for day, calls, revenue in ((1, 3, "100.25"), (2, 4, "0"), (30, 5, "50.50")):
        month = 11 if day < 30 else 10
        RepDay.objects.create(rep_id=rep.pk, day=dt.date(2026, month, day), computed_at=at,
                              calls_made=calls, revenue_won=Decimal(revenue))  # fmt: skip
    apps.get_model("kpis", "RepDayDimension").objects.create(
        rep_id=rep.pk, day=dt.date(2026, 11, 2), computed_at=at, counter="deals_won",
        dimension="channel:web", value=Decimal(2),
    )  # fmt: skip

    apps = _migrate(AFTER)

    rows = {
        (row.period, row.period_start): (row.calls_made, row.revenue_won)
        for row in apps.get_model("kpis", "RepPeriod").objects.filter(rep_id=rep.pk)
    }
    assert rows == {
        ("week", dt.date(2026, 10, 26)): (8, Decimal("150.75")),
        ("week", dt.date(2026, 11, 2)): (4, Decimal("0")),
        ("month", dt.date(2026, 10, 1)): (5, Decimal("50.50")),
        ("month", dt.date(2026, 11, 1)): (7, Decimal("100.25")),
        ("quarter", dt.date(2026, 10, 1)): (12, Decimal("150.75")),
        ("year", dt.date(2026, 1, 1)): (12, Decimal("150.75")),
    }
    dimensions = {
        (row.period, row.counter, row.dimension): row.value
        for row in apps.get_model("kpis", "RepPeriodDimension").objects.all()
    }
    assert dimensions == {
        ("week", "deals_won", "channel:web"): 2,
        ("month", "deals_won", "channel:web"): 2,
        ("quarter", "deals_won", "channel:web"): 2,
        ("year", "deals_won", "channel:web"): 2,
    }
