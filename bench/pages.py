"""Benchmark the server time of the KPI pages beside a trivial page (PostgreSQL only).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/saljsite_bench_pages \\
        .venv/bin/python bench/pages.py [--scale 10] [--warmup 3] [--runs 15] [--reuse]

The script DROPS and recreates the database named by DATABASE_URL (its name must contain
"bench"), migrates it, loads `seed_demo --scale SCALE` and runs `recompute_kpis --full` (both
timed). Then, in this one process, Django's test Client (DEBUG off, signed in as the demo manager,
the demo AE for the scorecard) requests each page `--warmup` times and then `--runs` times, timing
each request from the call to the response (URL resolving, middleware, view, queries, template):

- trivial: a view rendering `base.html` (the layout every page extends, with its navigation) and
  nothing else, mounted by this module's own URLconf (`ROOT_URLCONF = "bench.pages"`), which
  includes `saljsite.urls` beside it; production never loads it;
- scorecard (the rep's own), team, dashboard (the manager's team and the whole organisation), and
  the records drill-down of a team value.

Human-readable lines come first (a table of median ms, the ratio to trivial, the query count,
the status of each page and where its time goes: SQL, template rendering and the rest, from
`--runs` more requests of each page timed apart); the last line of stdout is one JSON object
`{"trivial_ms": …, "pages": {name: ms, …}, "max_ratio": …}` where max_ratio is the slowest page's
median over the trivial view's. Goal: every page ≤ 3× trivial. `--reuse` skips the build and
measures the database as it is (after a first run). `--profile NAME` prints the SQL of one request
of that page with each statement's time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from pathlib import Path

from django.shortcuts import render
from django.urls import include, path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/saljsite_bench_pages"
GOAL_RATIO = 3.0


# ---------------------------------------------------------------------------
# The bench URLconf: the site plus the trivial view
# ---------------------------------------------------------------------------
def trivial(request):
    """The floor: the base layout (navigation for the signed-in user), no data of its own."""
    return render(request, "base.html")


def __getattr__(name: str):
    # Built on first use (after django.setup()), not when this script starts.
    if name == "urlpatterns":
        return [
            path("bench/trivial/", trivial, name="bench-trivial"),
            path("", include("saljsite.urls")),
        ]
    raise AttributeError(name)


# ---------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------
def say(line: str = "") -> None:
    print(line, flush=True)


def build(scale: float) -> dict[str, float]:
    from django.core.management import call_command
    from django.db import connection

    timings = {}
    from bench.database import recreate_database  # after ROOT is on sys.path

    name = recreate_database()
    say(f"Database {name} recreated.")
    connection.close()
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    timings["migrate_s"] = time.perf_counter() - started
    say(f"migrate: {timings['migrate_s']:.1f} s")
    started = time.perf_counter()
    call_command("seed_demo", scale=scale, verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    timings["seed_s"] = time.perf_counter() - started
    say(f"seed_demo --scale {scale:g}: {timings['seed_s']:.1f} s")
    started = time.perf_counter()
    call_command("recompute_kpis", full=True, verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    timings["recompute_s"] = time.perf_counter() - started
    say(f"recompute_kpis --full: {timings['recompute_s']:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    return timings


def describe() -> str:
    from activities.models import Activity
    from kpis.models import KPIValue, RepDay
    from people.models import Team, User
    from pipeline.models import Opportunity

    return (
        f"{Team.objects.count()} teams, {User.objects.count()} users, "
        f"{Opportunity.objects.count()} opportunities, {Activity.objects.count()} activities, "
        f"{RepDay.objects.count()} rep days, {KPIValue.objects.count()} stored KPI values"
    )


# ---------------------------------------------------------------------------
# Measure
# ---------------------------------------------------------------------------
def pages() -> list[tuple[str, str, str]]:
    """(name, username, URL) of each page measured, trivial first."""
    from kpis.periods import period_containing
    from people.models import User

    manager = User.objects.select_related("team").get(username="demo-manager")
    team = manager.managed_teams.order_by("pk").first()
    month = period_containing("month", dt.date.today()).start.isoformat()
    records = (
        f"/scorecard/records/?scope=team&id={team.pk}&kpi=calls_made&period=month&start={month}"
    )
    return [
        ("trivial", "demo-manager", "/bench/trivial/"),
        ("scorecard", "demo-ae", "/scorecard/"),
        ("team", "demo-manager", f"/team/?team={team.pk}"),
        ("dashboard", "demo-manager", "/dashboard/"),
        ("dashboard_org", "demo-admin", "/dashboard/?team="),
        ("records", "demo-manager", records),
    ]


def measure(url: str, client, *, warmup: int, runs: int) -> tuple[list[float], int, int]:
    """Times in ms of `runs` requests after `warmup`; the status and the query count."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmup):
        client.get(url)
    times = []
    status = 0
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        status = response.status_code
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return times, status, len(queries)


def breakdown(url: str, client, *, runs: int) -> tuple[float, float]:
    """Median ms of `runs` more requests spent in SQL (every statement, from send to last row)
    and in rendering the response's template (the page's own and `base.html`, with the queries
    rendering runs): where a page's time goes, measured apart from the timed runs."""
    from django.db import connection
    from django.template.backends.django import Template

    sql: list[float] = []
    template: list[float] = []
    depth = 0

    def wrapper(execute, statement, params, many, context):
        started = time.perf_counter()
        try:
            return execute(statement, params, many, context)
        finally:
            sql[-1] += time.perf_counter() - started

    render = Template.render

    def timed_render(self, context=None, request=None):
        nonlocal depth
        depth += 1
        started = time.perf_counter()
        try:
            return render(self, context, request)
        finally:
            depth -= 1
            if depth == 0:
                template[-1] += time.perf_counter() - started

    Template.render = timed_render
    try:
        with connection.execute_wrapper(wrapper):
            for _ in range(runs):
                sql.append(0.0)
                template.append(0.0)
                client.get(url)
    finally:
        Template.render = render
    return statistics.median(sql) * 1000, statistics.median(template) * 1000


def profile(url: str, client) -> None:
    """One request with every SQL statement and its time, slowest first."""
    from django.db import connection

    statements: list[tuple[float, str]] = []

    def wrapper(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            statements.append(((time.perf_counter() - started) * 1000, sql))

    started = time.perf_counter()
    with connection.execute_wrapper(wrapper):
        client.get(url)
    total = (time.perf_counter() - started) * 1000
    say(f"Profile of {url}: {total:.1f} ms, {len(statements)} statements, "
        f"{sum(t for t, _ in statements):.1f} ms in SQL")  # fmt: skip
    for ms, sql in sorted(statements, reverse=True):
        say(f"  {ms:8.2f} ms  {' '.join(sql.split())[:300]}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=10.0, help="seed_demo scale (default 10)")
    parser.add_argument("--warmup", type=int, default=3, help="requests before timing (3)")
    parser.add_argument("--runs", type=int, default=15, help="timed requests per page (15)")
    parser.add_argument("--reuse", action="store_true", help="measure the database as it is")
    parser.add_argument("--profile", metavar="NAME", action="append", default=[],
                        help="print the SQL of one request of this page (repeatable)")  # fmt: skip
    args = parser.parse_args(argv)

    os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saljsite.settings")
    # Production settings (DEBUG off: no query log, no debug context), served to the test client.
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECRET_KEY", "bench-pages-only-not-a-secret")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
    os.environ.setdefault("SESSION_COOKIE_SECURE", "false")
    os.environ.setdefault("CSRF_COOKIE_SECURE", "false")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # No recompute enqueued from a request (none of these pages writes anyway).
    os.environ.setdefault("KPI_RECOMPUTE_ON_WRITE", "false")
    sys.path.insert(0, str(ROOT))

    import django

    django.setup()

    from django.test import Client
    from django.test.utils import override_settings

    from people.models import User

    build_timings = {} if args.reuse else build(args.scale)
    say(f"Data: {describe()}")
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        # No collectstatic here: plain static URLs (the manifest lookup is a dict hit anyway).
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    results: dict[str, float] = {}
    rows = []
    with override_settings(ROOT_URLCONF="bench.pages", STORAGES=storages):
        clients: dict[str, Client] = {}
        for name, username, url in pages():
            client = clients.get(username)
            if client is None:
                # A page that fails answers 500 here instead of stopping the run.
                client = clients[username] = Client(raise_request_exception=False)
                client.force_login(User.objects.get(username=username))
            times, status, queries = measure(url, client, warmup=args.warmup, runs=args.runs)
            ms = statistics.median(times)
            results[name] = ms
            sql_ms, template_ms = breakdown(url, client, runs=args.runs)
            rows.append(
                (name, username, url, status, queries, ms, min(times), max(times), sql_ms,
                 template_ms)
            )  # fmt: skip
        trivial_ms = results.pop("trivial")
        say()
        say(f"{'page':<14} {'user':<13} {'status':>6} {'queries':>7} {'median ms':>10} "
            f"{'min':>8} {'max':>8} {'× trivial':>9} {'sql ms':>7} {'tmpl ms':>7} "
            f"{'rest ms':>7}  url")  # fmt: skip
        for name, username, url, status, queries, ms, low, high, sql_ms, tmpl_ms in rows:
            rest = ms - sql_ms - tmpl_ms
            say(f"{name:<14} {username:<13} {status:>6} {queries:>7} {ms:>10.1f} {low:>8.1f} "
                f"{high:>8.1f} {ms / trivial_ms:>9.2f} {sql_ms:>7.1f} {tmpl_ms:>7.1f} "
                f"{rest:>7.1f}  {url}")  # fmt: skip
        say("(sql: every statement's time; tmpl: rendering the page's template with base.html,")
        say(" with the queries it runs, which count in sql too; rest: the view's own Python,")
        say(" middleware and the test client; the three from separate runs after the timed ones.)")
        slowest = max(results, key=results.get)
        max_ratio = results[slowest] / trivial_ms
        bad = [row[0] for row in rows if row[3] != 200]
        say()
        verdict = "met" if max_ratio <= GOAL_RATIO else "NOT met"
        say(f"Slowest: {slowest} at {results[slowest]:.1f} ms = {max_ratio:.2f}× trivial "
            f"(goal ≤ {GOAL_RATIO:g}×: {verdict}).")  # fmt: skip
        if bad:
            say(f"Not 200 (placeholder or error pages, figures not meaningful): {', '.join(bad)}")
        if build_timings:
            say("Build: " + ", ".join(f"{k} {v:.1f}" for k, v in build_timings.items()))
        by_name = {name: (username, url) for name, username, url in pages()}
        for name in args.profile:
            username, url = by_name[name]
            profile(url, clients[username])
    print(
        json.dumps(
            {
                "trivial_ms": round(trivial_ms, 2),
                "pages": {name: round(ms, 2) for name, ms in results.items()},
                "max_ratio": round(max_ratio, 2),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
