"""The recompute through a real Celery worker on the real Redis broker, against PostgreSQL.

Skips on a laptop without Redis or PostgreSQL; in CI (CI=true) a missing service fails.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import kombu.pools
import pytest
from django.conf import settings
from django.db import connection

from activities.services import activity_log
from kpis.models import DirtyCell, RepDay
from people.tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.broker, pytest.mark.django_db(transaction=True)]


def _redis_up(url: str) -> bool:
    if not url:
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def _drop_cached_connections(app) -> None:
    """Forget broker pools and result backends built for the eager settings (or the real ones)."""
    # Close every pooled broker connection and forget the pools (kombu keeps them globally).
    kombu.pools.reset()
    app._pool = None
    app._backend_cache = None
    app._local = threading.local()
    app.__dict__.pop("amqp", None)


@pytest.fixture
def real_broker(settings):
    from conftest import require_service
    from saljsite.celery import app

    url = settings.SALJSITE_TEST_REDIS_URL
    require_service(_redis_up(url), "needs Redis (set REDIS_URL)")
    require_service(connection.vendor == "postgresql", "needs PostgreSQL for a worker to share")
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "saljsite.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": url,
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": "false",
    }
    queue = f"test-{os.getpid()}"
    worker = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "celery", "-A", "saljsite", "worker", "--pool=solo", "-Q", queue,
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    old = {k: app.conf[k] for k in ("task_always_eager", "broker_url", "result_backend")}
    app.conf.update(task_always_eager=False, broker_url=url, result_backend=url)
    app.conf.task_default_queue = queue
    _drop_cached_connections(app)
    try:
        yield app
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        app.conf.update(**old)
        _drop_cached_connections(app)


def test_recompute_runs_on_a_real_worker_and_stores_values(real_broker):
    from kpis.tasks import recompute

    rep = UserFactory()
    at = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)
    activity_log(owner=rep, kind="call", outcome="connected", duration_seconds=200, occurred_at=at)
    activity_log(owner=rep, kind="call", outcome="busy", occurred_at=at)
    result = recompute.apply_async(queue=real_broker.conf.task_default_queue)
    deadline = time.monotonic() + 90
    while not result.ready() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert result.successful(), result.state
    assert result.get()["cells"] == 1
    row = RepDay.objects.get(rep=rep, day=dt.date(2026, 11, 20))
    assert (row.calls_made, row.calls_connected, row.talk_time_seconds) == (2, 1, 200)
    assert not DirtyCell.objects.exists()
    assert settings.CELERY_TASK_ALWAYS_EAGER  # the suite's default is untouched
