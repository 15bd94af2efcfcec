"""Benchmark the activity import against PostgreSQL's own COPY of the same file.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/saljsite_bench_import \\
        .venv/bin/python bench/import.py [--rows 1000000] [--reps 200] [--companies 2000]

The script DROPS and recreates the database named by DATABASE_URL (its name must contain
"bench"), migrates it, seeds reps, companies and contacts, and writes a CSV of `--rows`
activities (calls, emails and meetings of those reps, linked to companies and contacts by
external id, over the last year; seeded random, so the same file every run). Then, in one run:

- **COPY**: `COPY bench_copy_activity FROM STDIN (FORMAT csv, HEADER)` of the same file into a
  plain table with the file's columns (no index, no constraint), streamed with psycopg;
- **import**: `import_data activities FILE --commit` in a child process (Django set up first;
  the time is `run_import` itself), whose peak RSS (`ru_maxrss`) is the memory figure;
- **re-import**: the same file again (every row unchanged, nothing written), for information.

Human-readable lines first; the last stdout line is one JSON object:
`{"copy_rows_s": …, "import_rows_s": …, "ratio": …, "peak_mb": …}` with ratio = import / COPY.
Goals: ratio ≥ 0.25 and peak < 300 MB.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/saljsite_bench_import"
HEADER = [
    "external_id",
    "kind",
    "status",
    "owner",
    "occurred_at",
    "booked_by",
    "booked_at",
    "direction",
    "outcome",
    "duration_seconds",
    "replied",
    "clicked",
    "mode",
    "company",
    "contact",
    "lead",
    "opportunity",
    "subject",
    "notes",
]
COPY_TABLE = """
CREATE TABLE bench_copy_activity (
    external_id varchar(100), kind varchar(10), status varchar(10), owner varchar(150),
    occurred_at timestamp with time zone, booked_by varchar(150),
    booked_at timestamp with time zone, direction varchar(10), outcome varchar(10),
    duration_seconds integer, replied boolean, clicked boolean, mode varchar(10),
    company varchar(100), contact varchar(100), lead varchar(100), opportunity varchar(100),
    subject varchar(200), notes text
)
"""


def say(line: str = "") -> None:
    print(line, flush=True)


def setup_django() -> None:
    os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saljsite.settings")
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("KPI_RECOMPUTE_ON_WRITE", "false")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def seed(reps: int, companies: int) -> tuple[list[str], list[str], list[tuple[str, str]]]:
    """Reps in teams of 20, companies and two contacts each; returns the keys the file uses."""
    from people.models import Team, User
    from pipeline.models import Company, Contact

    teams = Team.objects.bulk_create(
        [Team(name=f"Bench team {n:02d}") for n in range(1, reps // 20 + 2)]
    )
    roles = ["sdr", "ae", "am"]
    users = User.objects.bulk_create(
        [
            User(
                username=f"bench-rep-{n:04d}",
                role=roles[n % 3],
                team=teams[n // 20],
                password="!",  # noqa: S106 (unusable password)
            )
            for n in range(reps)
        ]
    )
    made = Company.objects.bulk_create(
        [Company(name=f"Bench {n} AB", external_id=f"BC-{n:05d}") for n in range(companies)]
    )
    contacts = Contact.objects.bulk_create(
        [
            Contact(company=c, name=f"Contact {c.pk}-{k}", external_id=f"{c.external_id}-K{k}")
            for c in made
            for k in (1, 2)
        ]
    )
    return (
        [u.username for u in users],
        [c.external_id for c in made],
        [(c.external_id, c.company.external_id) for c in contacts],
    )


def write_file(path: Path, rows: int, usernames, companies, contacts) -> float:
    """A seeded mix: 60 % calls, 25 % emails, 15 % meetings (half booked by another rep)."""
    rnd = random.Random(20261126)
    start = dt.datetime(2025, 11, 1, 8, 0)
    started = time.perf_counter()
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        outcomes = ["connected", "no_answer", "busy", "voicemail"]
        for n in range(rows):
            when = start + dt.timedelta(minutes=rnd.randrange(365 * 24 * 60))
            owner = rnd.choice(usernames)
            pick = rnd.random()
            row = dict.fromkeys(HEADER, "")
            row["external_id"] = f"BI-{n:08d}"
            row["owner"] = owner
            row["occurred_at"] = when.strftime("%Y-%m-%d %H:%M")
            row["direction"] = "outbound"
            if pick < 0.60:
                row["kind"] = "call"
                row["outcome"] = rnd.choice(outcomes)
                row["duration_seconds"] = str(rnd.randrange(600))
                row["company"] = rnd.choice(companies)
                row["subject"] = "Samtal"
            elif pick < 0.85:
                row["kind"] = "email"
                row["replied"] = "1" if rnd.random() < 0.2 else "0"
                row["company"] = rnd.choice(companies)
                row["subject"] = "Offert"
            else:
                row["kind"] = "meeting"
                row["mode"] = rnd.choice(["physical", "digital"])
                contact, _company = rnd.choice(contacts)
                row["contact"] = contact
                row["subject"] = "Möte"
                if rnd.random() < 0.5:
                    row["status"] = "planned"
                    row["booked_by"] = rnd.choice(usernames)
                    row["booked_at"] = (when - dt.timedelta(days=3)).strftime("%Y-%m-%d %H:%M")
            writer.writerow([row[name] for name in HEADER])
    return time.perf_counter() - started


def copy_rate(path: Path) -> tuple[float, int]:
    """PostgreSQL's COPY of the file into a plain table: (seconds, rows)."""
    from django.conf import settings
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_copy_activity")
        cursor.execute(COPY_TABLE)
        cursor.execute("SET TIME ZONE %s", [settings.TIME_ZONE])
    connection.commit() if not connection.get_autocommit() else None
    started = time.perf_counter()
    with connection.cursor() as cursor:
        with (
            cursor.copy("COPY bench_copy_activity FROM STDIN (FORMAT csv, HEADER true)") as copy,
            open(path, "rb") as handle,
        ):
            while block := handle.read(1 << 20):
                copy.write(block)
        seconds = time.perf_counter() - started
        cursor.execute("SELECT count(*) FROM bench_copy_activity")
        rows = cursor.fetchone()[0]
        cursor.execute("DROP TABLE bench_copy_activity")
    return seconds, rows


def child(path: str) -> None:
    """In the child process: the import alone, timed, and this process's peak RSS."""
    setup_django()
    from django.db import connection

    from pipeline.imports.engine import run_import

    phases: dict[str, float] = {}

    def timed(execute, sql, params, many, context):
        name = (
            "write"
            if sql.startswith(("INSERT INTO activities_activity", "UPDATE activities_activity"))
            else "cells_query"
            if sql.lstrip().startswith("WITH ch")
            else "dirty_cells_mark"
            if "kpis_dirtycell" in sql
            else "checks"
            if "import_activity_stage" in sql and sql.startswith("SELECT")
            else "other_sql"
        )
        begun = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            phases[name] = phases.get(name, 0.0) + time.perf_counter() - begun

    from django.db import transaction

    backend = _backend_pid(connection)
    server_cpu = _cpu_seconds(backend)
    client_cpu = _own_cpu_seconds()
    started = time.perf_counter()
    # The import's own transaction becomes a savepoint of this one, so that the commit (where
    # PostgreSQL runs the deferred foreign-key checks of every inserted row) is timed apart.
    with transaction.atomic():
        with connection.execute_wrapper(timed):
            report = run_import(kind="activities", path=path, user=None, commit=True)
        before_commit = time.perf_counter()
    phases["commit"] = time.perf_counter() - before_commit
    seconds = time.perf_counter() - started
    # The rest: reading, parsing and checking rows in Python, and COPY into the staging table.
    phases["parse_check_stage"] = seconds - sum(phases.values())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cpu = {
        "python": round(_own_cpu_seconds() - client_cpu, 1),
        "postgres": round(_cpu_seconds(backend) - server_cpu, 1),
    }
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu": cpu,
                "peak_mb": peak_mb,
                "rows": report.rows,
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "errors": report.error_count,
                "committed": report.committed,
                "phases": {k: round(v, 2) for k, v in phases.items()},
            }
        )
    )


def _backend_pid(connection) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process on this machine (the PostgreSQL backend): on a
    shared machine it varies far less than the wall-clock time. NaN when it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_child(path: Path) -> dict:
    out = subprocess.run(  # noqa: S603 (this script, this interpreter)
        [sys.executable, __file__, "--child", str(path)],
        check=True,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--companies", type=int, default=2000)
    parser.add_argument("--file", default=str(ROOT / "var" / "bench_import_activities.csv"))
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="Keep the database and the file of the last run (its activities are emptied).",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child)
        return
    setup_django()
    from django.core.management import call_command

    path = Path(args.file)
    if args.reuse:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE activities_activity, kpis_dirtycell")
        say(f"Reusing the database and {path} ({path.stat().st_size / 1e6:.0f} MB).")
    else:
        from bench.database import recreate_database  # after ROOT is on sys.path

        name = recreate_database()
        say(f"Database {name} recreated.")
        call_command("migrate", verbosity=0, interactive=False)
        usernames, companies, contacts = seed(args.reps, args.companies)
        say(f"Seeded {len(usernames)} reps, {len(companies)} companies, {len(contacts)} contacts.")
        path.parent.mkdir(parents=True, exist_ok=True)
        written = write_file(path, args.rows, usernames, companies, contacts)
        size_mb = path.stat().st_size / 1e6
        say(f"Wrote {args.rows} rows ({size_mb:.0f} MB) to {path} in {written:.1f} s.")

    copy_s, copied = copy_rate(path)
    copy_rows_s = copied / copy_s
    say(f"COPY:      {copied} rows in {copy_s:6.2f} s = {copy_rows_s:10.0f} rows/s")

    from django.db import connection

    connection.close()  # The child writes; this process keeps no transaction open.
    first = run_child(path)
    if first["errors"] or not first["committed"]:
        raise SystemExit(f"The import was rejected: {first}")
    import_rows_s = first["rows"] / first["seconds"]
    say(
        f"import:    {first['rows']} rows in {first['seconds']:6.2f} s = {import_rows_s:10.0f}"
        f" rows/s, peak RSS {first['peak_mb']:.0f} MB ({first['created']} created)"
    )
    say("           " + ", ".join(f"{k} {v:.1f} s" for k, v in first["phases"].items()))
    say("           CPU: Python {python} s, PostgreSQL {postgres} s".format(**first["cpu"]))
    again = run_child(path)
    say(
        f"re-import: {again['rows']} rows in {again['seconds']:6.2f} s ="
        f" {again['rows'] / again['seconds']:10.0f} rows/s, peak RSS {again['peak_mb']:.0f} MB"
        f" ({again['unchanged']} unchanged, {again['created'] + again['updated']} written)"
    )
    say("           " + ", ".join(f"{k} {v:.1f} s" for k, v in again["phases"].items()))
    say("           CPU: Python {python} s, PostgreSQL {postgres} s".format(**again["cpu"]))
    ratio = import_rows_s / copy_rows_s
    say(
        f"ratio import / COPY: {ratio:.3f} (goal ≥ 0.25); peak {first['peak_mb']:.0f} MB "
        f"(goal < 300 MB)"
    )
    print(
        json.dumps(
            {
                "copy_rows_s": round(copy_rows_s),
                "import_rows_s": round(import_rows_s),
                "ratio": round(ratio, 3),
                "peak_mb": round(max(first["peak_mb"], again["peak_mb"]), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
