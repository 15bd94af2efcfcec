"""Recompute entry points: freshness after a write, chunked fan-out, the command, the schedule."""

from __future__ import annotations

import datetime as dt
import io
import threading

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import F

from activities.services import activity_log
from kpis import tasks
from kpis.compute import run
from kpis.models import DirtyCell, KPIValue, RepDay, Source
from people.tests.factories import TeamFactory, UserFactory

AT = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)
DAY = dt.date(2026, 11, 20)


@pytest.mark.django_db
def test_a_logged_call_counts_on_the_reps_numbers_right_after_commit(
    django_capture_on_commit_callbacks,
):
    rep = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        activity_log(owner=rep, kind="call", occurred_at=AT)
    assert RepDay.objects.get(rep=rep, day=DAY).calls_made == 1
    # The cell stays dirty: the scheduled run still recomputes its period values.
    assert DirtyCell.objects.filter(rep=rep, day=DAY).exists()


@pytest.mark.django_db
def test_no_recompute_is_enqueued_when_disabled(settings, django_capture_on_commit_callbacks):
    settings.KPI_RECOMPUTE_ON_WRITE = False
    rep = UserFactory()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        activity_log(owner=rep, kind="call", occurred_at=AT)
    assert callbacks == []
    assert not RepDay.objects.exists()


@pytest.mark.django_db
def test_a_large_run_fans_out_into_chunks_and_finishes_every_cell(settings):
    settings.KPI_RECOMPUTE_CHUNK_REPS = 2
    team = TeamFactory()
    reps = [UserFactory(team=team) for _ in range(5)]
    for i, rep in enumerate(reps):
        for _ in range(i + 1):
            activity_log(owner=rep, kind="call", occurred_at=AT)
    outcome = tasks.recompute.delay().get()
    assert outcome == {"chunks": 3, "reps": 5}
    assert {r.pk: RepDay.objects.get(rep=r).calls_made for r in reps} == {
        r.pk: i + 1 for i, r in enumerate(reps)
    }
    assert not DirtyCell.objects.exists()
    # The chord's callback computed the period values too (calls per customer needs a company,
    # so look at the organisation's open-pipeline snapshot, stored for every period type).
    assert KPIValue.objects.filter(scope="org", kpi="open_opportunities").exists()


@pytest.mark.django_db
def test_a_chunk_hands_the_chord_its_days_with_their_sources():
    rep = UserFactory()
    activity_log(owner=rep, kind="call", occurred_at=AT)

    days = tasks.recompute_cells([rep.pk])

    assert days == [[DAY.isoformat(), int(Source.ACTIVITY | Source.COUNTERS)]]


@pytest.mark.django_db
def test_the_chord_callback_reads_days_with_sources_and_bare_days(monkeypatch):
    seen = {}
    monkeypatch.setattr(run, "recompute_periods", lambda *, days, now: seen.update(days) or 1)

    # A bare ISO day (a message from an older worker) is every source; bits of a day add up.
    tasks.recompute_periods([["2026-11-02"], [["2026-11-03", 2]], [["2026-11-03", 4]]])

    assert seen == {dt.date(2026, 11, 2): Source.ALL, dt.date(2026, 11, 3): 6}


@pytest.mark.django_db
def test_recompute_since_rebuilds_days_whose_rollups_were_lost():
    rep = UserFactory()
    activity_log(owner=rep, kind="call", occurred_at=AT)
    run.recompute()
    RepDay.objects.all().delete()  # lost rollups; no dirty cell left to tell
    call_command("recompute_kpis", since=dt.date(2026, 11, 1), stdout=io.StringIO())
    assert RepDay.objects.get(rep=rep, day=DAY).calls_made == 1


@pytest.mark.django_db
def test_full_command_prints_progress(capsys):
    rep = UserFactory()
    activity_log(owner=rep, kind="email", occurred_at=AT)
    call_command("recompute_kpis", full=True)
    out = capsys.readouterr().out
    assert "Full recompute" in out
    assert RepDay.objects.get(rep=rep).emails_sent == 1


@pytest.mark.django_db
def test_nightly_schedule_runs_the_recompute_at_two_site_time():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="kpis.recompute")
    assert task.enabled
    assert (task.crontab.hour, task.crontab.minute) == ("2", "0")
    assert str(task.crontab.timezone) == "Europe/Stockholm"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_leave_one_row_per_key(postgres_only):
    team = TeamFactory()
    reps = [UserFactory(team=team) for _ in range(4)]
    for rep in reps:
        activity_log(
            owner=rep, kind="call", occurred_at=AT, outcome="connected", duration_seconds=60
        )
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def worker(fn):
        try:
            barrier.wait()
            fn()
        except BaseException as error:  # reported by the test
            errors.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=worker, args=(run.recompute,)),
        threading.Thread(target=worker, args=(run.recompute_full,)),
        threading.Thread(target=worker, args=(run.recompute,)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert RepDay.objects.count() == len(reps)
    assert sorted(RepDay.objects.values_list("calls_made", flat=True)) == [1, 1, 1, 1]
    keys = KPIValue.objects.values_list(
        "scope", "scope_id", "kpi", "period", "period_start", "dimension"
    )
    assert len(keys) == len(set(keys))
    assert not DirtyCell.objects.exists()


@pytest.mark.django_db
def test_cells_claimed_by_a_run_that_died_are_taken_over_after_an_hour():
    import uuid

    from django.utils import timezone

    rep = UserFactory()
    activity_log(owner=rep, kind="call", occurred_at=AT)
    now = timezone.now()
    # A worker claimed the cell and was killed before it committed its results.
    DirtyCell.objects.update(run=uuid.uuid4(), claimed_token=F("token"), claimed_at=now)
    assert run.recompute(now=now + dt.timedelta(minutes=5)).cells == 0  # maybe still running
    assert not RepDay.objects.exists()
    assert run.recompute(now=now + dt.timedelta(hours=2)).cells == 1  # stale: taken over
    assert RepDay.objects.get(rep=rep).calls_made == 1
    assert not DirtyCell.objects.exists()
