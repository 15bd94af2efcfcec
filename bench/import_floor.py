"""The floor of any correct activity import into this schema, beside COPY into a bare table.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/saljsite_bench_import \\
        .venv/bin/python bench/import_floor.py [--runs 1] [--variants plain,sorted,upsert]

Run it after `bench/import.py` on the same database: it takes the 1 000 000 rows that import
wrote (already converted: ids, local days, defaults) into an UNLOGGED staging table, empties
`activities_activity` and `kpis_dirtycell`, and then times, per variant, in ONE transaction:

- the write of every row into `activities_activity` (13 indexes, 12 check constraints);
- the dirty KPI cells of every row (owner's day, booker's day) into `kpis_dirtycell`;
- COMMIT, where PostgreSQL runs the six deferred foreign-key checks of every row.

Variants of the write: `plain` (`INSERT … SELECT` in file order), `sorted` (the same, rows in
(owner, occurred_at) order), `upsert` (`INSERT … ON CONFLICT (external_id) DO UPDATE … WHERE`
something differs, the statement the import used before). The activity import writes no
per-row history (`ActivityChange`): the history of imported rows is the import job. Nothing of
reading, parsing, validating or resolving is included: that is the floor. The tables are
emptied again after each variant, and left with the rows of the last one.

The last stdout line is JSON: `{"copy_rows_s", "<variant>_s", "<variant>_ratio", …}`, ratio =
floor rate / COPY rate (the bound on the import's ratio).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_bench = importlib.import_module("bench.import")  # "import" is a keyword: no from-import
copy_rate, say, setup_django = _bench.copy_rate, _bench.say, _bench.setup_django
backend_pid, cpu_seconds = _bench._backend_pid, _bench._cpu_seconds

FLOOR_STAGE = "bench_floor_stage"
FIELDS = (
    "external_id, kind, status, owner_id, booked_by_id, booked_at, booked_day, occurred_at,"
    " occurred_day, direction, outcome, duration_seconds, replied, clicked, mode, company_id,"
    " contact_id, lead_id, opportunity_id, subject, notes"
)


def write_sql(variant: str) -> str:
    if variant == "plain":
        return (
            f"INSERT INTO activities_activity ({FIELDS}, created_at, updated_at)"
            f" SELECT {FIELDS}, now(), now() FROM {FLOOR_STAGE} ORDER BY line"
        )
    if variant == "sorted":
        return (
            f"INSERT INTO activities_activity ({FIELDS}, created_at, updated_at)"
            f" SELECT {FIELDS}, now(), now() FROM {FLOOR_STAGE} ORDER BY owner_id, occurred_at"
        )
    assert variant == "upsert", variant
    names = [n.strip() for n in FIELDS.split(",") if n.strip() != "external_id"]
    updates = ", ".join(f"{n} = EXCLUDED.{n}" for n in names)
    differs = " OR ".join(f"activities_activity.{n} IS DISTINCT FROM EXCLUDED.{n}" for n in names)
    return (
        f"INSERT INTO activities_activity ({FIELDS}, created_at, updated_at)"
        f" SELECT {FIELDS}, now(), now() FROM {FLOOR_STAGE} ORDER BY line"
        f" ON CONFLICT (external_id) WHERE NOT (external_id = '')"
        f" DO UPDATE SET {updates}, updated_at = EXCLUDED.updated_at WHERE {differs}"
    )


CELLS_SQL = f"""
    INSERT INTO kpis_dirtycell (rep_id, day, token, marked_at, sources)
    SELECT rep_id, day, gen_random_uuid(), now(), bit_or(bits) | 8 FROM (
        SELECT owner_id AS rep_id, occurred_day AS day, 1 AS bits FROM {FLOOR_STAGE}
        UNION ALL
        SELECT booked_by_id, booked_day, 8 FROM {FLOOR_STAGE} WHERE booked_by_id IS NOT NULL
    ) c GROUP BY rep_id, day ORDER BY rep_id, day
    ON CONFLICT (rep_id, day) DO UPDATE SET token = EXCLUDED.token,
        marked_at = EXCLUDED.marked_at, sources = kpis_dirtycell.sources | EXCLUDED.sources
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variants", default="plain,sorted,upsert")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--file", default=str(ROOT / "var" / "bench_import_activities.csv"))
    args = parser.parse_args(argv)
    setup_django()
    from django.db import connection

    copy_s, copied = copy_rate(Path(args.file))
    copy_rows_s = copied / copy_s
    say(f"COPY:   {copied} rows in {copy_s:6.2f} s = {copy_rows_s:10.0f} rows/s")
    connection.set_autocommit(True)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT to_regclass('{FLOOR_STAGE}') IS NOT NULL")
        if not cursor.fetchone()[0]:
            cursor.execute("SELECT count(*) FROM activities_activity")
            if cursor.fetchone()[0] == 0:
                raise SystemExit("Run bench/import.py first: its rows are the floor's input.")
            cursor.execute(
                f"CREATE UNLOGGED TABLE {FLOOR_STAGE} AS SELECT"
                f" row_number() OVER (ORDER BY external_id) AS line, {FIELDS}"
                f" FROM activities_activity"
            )
            cursor.execute(f"ANALYZE {FLOOR_STAGE}")
        cursor.execute(f"SELECT count(*) FROM {FLOOR_STAGE}")
        rows = cursor.fetchone()[0]
    out: dict[str, float] = {"copy_rows_s": round(copy_rows_s)}
    for variant in args.variants.split(","):
        for run in range(1, args.runs + 1):
            with connection.cursor() as cursor:
                cursor.execute("TRUNCATE activities_activity, kpis_dirtycell")
                cursor.execute("CHECKPOINT")  # Each variant starts with no dirty buffers.
                connection.set_autocommit(False)
                backend = backend_pid(connection)
                cpu = cpu_seconds(backend)
                begun = time.perf_counter()
                cursor.execute(write_sql(variant))
                written = time.perf_counter()
                cursor.execute(CELLS_SQL)
                cells = time.perf_counter()
                connection.commit()
                done = time.perf_counter()
                cpu = cpu_seconds(backend) - cpu
                connection.set_autocommit(True)
            seconds = done - begun
            say(
                f"{variant:7s} run {run}: {rows} rows in {seconds:6.2f} s = {rows / seconds:8.0f}"
                f" rows/s (write {written - begun:.1f} s, cells {cells - written:.1f} s,"
                f" commit/FK checks {done - cells:.1f} s; PostgreSQL CPU {cpu:.1f} s); ratio to"
                f" COPY {rows / seconds / copy_rows_s:.3f}"
            )
            out[f"{variant}_s"] = round(min(seconds, out.get(f"{variant}_s", seconds)), 2)
            out[f"{variant}_ratio"] = round(rows / out[f"{variant}_s"] / copy_rows_s, 3)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
