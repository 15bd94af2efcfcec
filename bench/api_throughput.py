"""Benchmark activity creates through the API, served by gunicorn (PostgreSQL only).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/saljsite_bench_api \\
        .venv/bin/python bench/api_throughput.py [--workers 4] [--threads 2] [--clients 8] \\
        [--seconds 10] [--rounds 5] [--batch-size 200]

The script DROPS and recreates the database named by DATABASE_URL (its name must contain
"bench"), migrates it and creates one team of `--clients` reps with API tokens. It then starts
gunicorn on 127.0.0.1 (gthread workers; `--workers` × `--threads` requests at once) with the
production settings plus the floor endpoint (`bench/settings.py`, `SALJSITE_BENCH_FLOOR=1`), and
drives it from `--clients` threads, each with its own keep-alive connection and rep, through
three phases of `--seconds` each (after a warm-up), taking turns in `--rounds` rounds so that
the load of a shared machine weighs on each phase alike:

- floor: `POST /bench/floor/activities/` — parse the JSON, `Activity.objects.create`, nothing else;
- create: `POST /api/v1/activities/` — token auth, validation, history, dirty KPI cells;
- batch: `POST /api/v1/activities/batch/` with `--batch-size` items per request.

Every body is a completed call with an outcome, a duration and a unique `external_id`. The server
runs with DEBUG off and `KPI_RECOMPUTE_ON_WRITE=false`: without a broker the freshness refresh
would run a KPI recompute inside each request (eager Celery); with `--redis URL` it is enqueued
on that Redis instead, as in production (the queue is purged afterwards). Human-readable lines
first; the last stdout line is one JSON object: floor_rps, create_rps, batch_items_per_s,
ratio (floor_rps / create_rps) and batch_speedup (batch_items_per_s / create_rps).
Goals: ratio ≤ 2, batch_speedup ≥ 10.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/saljsite_bench_api"
FLOOR = "/bench/floor/activities/"
CREATE = "/api/v1/activities/"
BATCH = "/api/v1/activities/batch/"


def say(text: str) -> None:
    print(text, flush=True)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=2, help="threads per gunicorn worker")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client threads")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per phase")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured time per phase")
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="the phases take turns this many times (each round: seconds / rounds per phase)",
    )
    parser.add_argument("--batch-size", type=int, default=200, help="items per batch request")
    parser.add_argument("--redis", default="", help="enqueue the KPI refresh on this Redis URL")
    return parser.parse_args(argv)


# ---------------------------------------------------------------------------
# Database and users
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Rep:
    id: int
    token: str


def create_reps(count: int) -> list[Rep]:
    from rest_framework.authtoken.models import Token

    from people.models import Team, User

    team = Team.objects.create(name="Bench")
    reps = []
    for i in range(count):
        user = User.objects.create_user(
            username=f"bench-rep-{i:02d}", password=secrets.token_urlsafe(), role="ae", team=team
        )
        reps.append(Rep(user.pk, Token.objects.create(user=user).key))
    return reps


# ---------------------------------------------------------------------------
# Server
# ---------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(args: argparse.Namespace, env: dict[str, str], port: int) -> subprocess.Popen:
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "saljsite.wsgi:application",
        "--chdir", str(ROOT),
        "--bind", f"127.0.0.1:{port}",
        "--worker-class", "gthread",
        "--workers", str(args.workers),
        "--threads", str(args.threads),
        "--keep-alive", "30",
        "--log-level", "warning",
    ]  # fmt: skip
    server_env = {**env, "DJANGO_SETTINGS_MODULE": "bench.settings", "SALJSITE_BENCH_FLOOR": "1"}
    server = subprocess.Popen(command, env=server_env, start_new_session=True)  # noqa: S603
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/kpis/")
            status = conn.getresponse().status
            conn.close()
            if status == 401:  # Up, and the API answers (no token given).
                return server
        except OSError:
            pass
        time.sleep(0.2)
    stop_server(server)
    raise SystemExit("gunicorn did not answer within 60 s")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


# ---------------------------------------------------------------------------
# Load
# ---------------------------------------------------------------------------
class Client:
    """One keep-alive connection; reconnects once when the server closed it."""

    def __init__(self, port: int, token: str | None = None) -> None:
        self.port = port
        self.headers = {"Content-Type": "application/json"}
        if token:
            self.headers["Authorization"] = f"Token {token}"
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def post(self, path: str, body: object) -> int:
        payload = json.dumps(body)
        for attempt in (1, 2):
            try:
                self.conn.request("POST", path, payload, self.headers)
                response = self.conn.getresponse()
                data = response.read()
                if response.status not in (200, 201):
                    raise RuntimeError(f"{path}: {response.status} {data[:300]!r}")
                return response.status
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def call(rep: Rep, key: str, *, owner: bool = False) -> dict:
    body = {
        "kind": "call",
        "outcome": "connected",
        "duration_seconds": 185,
        "occurred_at": "2026-03-10T09:30:00+01:00",
        "external_id": key,
    }
    if owner:
        body["owner"] = rep.id
    return body


@dataclass(frozen=True)
class Phase:
    name: str
    requests: int
    items: int
    seconds: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def items_per_s(self) -> float:
        return self.items / self.seconds


def run_phase(
    name: str,
    reps: list[Rep],
    make: Callable[[int, Rep], Callable[[int], int]],
    *,
    warmup: float,
    seconds: float,
) -> Phase:
    """Each rep's thread sends requests for `warmup` + `seconds`; counts those of the second part.

    `make(thread, rep)` returns the thread's sender: `send(n)` makes request n, returns its items.
    """
    start = threading.Barrier(len(reps) + 1)
    counts = [[0, 0] for _ in reps]
    errors: list[BaseException] = []
    timing: dict[str, float] = {}

    def work(index: int, rep: Rep) -> None:
        send = make(index, rep)
        n = 0
        start.wait()
        try:
            while time.perf_counter() < timing["end"]:
                items = send(n)
                n += 1
                if time.perf_counter() >= timing["measure"]:
                    counts[index][0] += 1
                    counts[index][1] += items
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i, rep)) for i, rep in enumerate(reps)]
    for thread in threads:
        thread.start()
    now = time.perf_counter()
    timing["measure"] = now + warmup
    timing["end"] = now + warmup + seconds
    start.wait()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(f"{name}: {errors[0]!r}")
    # Requests finished after the measured window's start; the last may end slightly past it.
    elapsed = max(time.perf_counter() - timing["measure"], seconds)
    return Phase(name, sum(c[0] for c in counts), sum(c[1] for c in counts), elapsed)


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    env = {
        **os.environ,
        "DATABASE_URL": os.environ.get("DATABASE_URL", DEFAULT_URL),
        "DEBUG": "false",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "SECURE_HSTS_SECONDS": "0",
        "KPI_RECOMPUTE_ON_WRITE": "true" if args.redis else "false",
        "REDIS_URL": args.redis,
        "LOG_LEVEL": "WARNING",
        "CONN_MAX_AGE": "600",
        "DJANGO_SETTINGS_MODULE": "saljsite.settings",
    }
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from bench.database import recreate_database  # after ROOT is on sys.path

    name = recreate_database()
    call_command("migrate", verbosity=0, interactive=False)
    reps = create_reps(args.clients)
    connection.close()
    say(
        f"Database {name}: migrated, {len(reps)} reps. gunicorn: {args.workers} gthread workers "
        f"× {args.threads} threads; {args.clients} client threads; {args.seconds:g} s per phase "
        f"in {args.rounds} rounds after {args.warmup:g} s warm-up; batches of {args.batch_size}; "
        f"KPI refresh "
        f"{'enqueued on ' + args.redis if args.redis else 'off'}."
    )

    say(f"Load average before: {_load()} on {os.cpu_count()} CPUs.")
    port = free_port()
    server = start_server(args, env, port)
    try:
        turn = [0]  # External ids stay unique across rounds: each round has its own prefix.

        def floor(index: int, rep: Rep) -> Callable[[int], int]:
            client, key = Client(port), f"f-{turn[0]}-{index}"
            return lambda n: client.post(FLOOR, call(rep, f"{key}-{n}", owner=True)) and 1

        def create(index: int, rep: Rep) -> Callable[[int], int]:
            client, key = Client(port, rep.token), f"c-{turn[0]}-{index}"
            return lambda n: client.post(CREATE, call(rep, f"{key}-{n}")) and 1

        def batch(index: int, rep: Rep) -> Callable[[int], int]:
            client, key = Client(port, rep.token), f"b-{turn[0]}-{index}"
            size = args.batch_size

            def send(n: int) -> int:
                items = [call(rep, f"{key}-{n}-{i}") for i in range(size)]
                client.post(BATCH, {"items": items})
                return size

            return send

        # The phases take turns (floor, create, batch, floor, …) so that a change in the load of
        # the machine weighs on all of them alike; each phase's figures are summed over rounds.
        phases: dict[str, Phase] = {}
        rounds = max(1, args.rounds)
        for round_ in range(rounds):
            for phase_name, make in (("floor", floor), ("create", create), ("batch", batch)):
                turn[0] += 1
                phase = run_phase(
                    phase_name,
                    reps,
                    make,
                    warmup=args.warmup if round_ == 0 else min(args.warmup, 0.5),
                    seconds=args.seconds / rounds,
                )
                before = phases.get(phase_name)
                if before is not None:
                    phase = Phase(
                        phase_name,
                        before.requests + phase.requests,
                        before.items + phase.items,
                        before.seconds + phase.seconds,
                    )
                phases[phase_name] = phase
            say(f"Round {round_ + 1}/{rounds} done; load average {_load()}.")
        for phase in phases.values():
            say(
                f"{phase.name:>6}: {phase.requests} requests, {phase.items} activities in "
                f"{phase.seconds:.1f} s: {phase.rps:.1f} requests/s, "
                f"{phase.items_per_s:.1f} activities/s"
            )
    finally:
        stop_server(server)
    if args.redis:
        import redis

        redis.Redis.from_url(args.redis).delete("celery")  # The refreshes no worker consumed.

    say(f"Load average after: {_load()}.")
    from activities.models import Activity

    stored = Activity.objects.count()
    say(f"Stored activities: {stored}")
    floor_rps = phases["floor"].rps
    create_rps = phases["create"].rps
    batch_items = phases["batch"].items_per_s
    ratio = floor_rps / create_rps
    speedup = batch_items / create_rps
    say(
        f"ratio (floor / create) = {ratio:.2f} (goal ≤ 2); "
        f"batch speedup (batch items / create) = {speedup:.1f} (goal ≥ 10)"
    )
    print(
        json.dumps(
            {
                "floor_rps": round(floor_rps, 1),
                "create_rps": round(create_rps, 1),
                "batch_items_per_s": round(batch_items, 1),
                "ratio": round(ratio, 2),
                "batch_speedup": round(speedup, 1),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
