"""Benchmark the KPI recompute on a large synthetic dataset (PostgreSQL only).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/saljsite_bench \\
        .venv/bin/python bench/kpi_recompute.py [--activities 2000000] [--reps 200] \\
        [--opportunities 50000] [--leads 100000] [--scale 0.1] [--explain 5]

The script DROPS and recreates the database named by DATABASE_URL (its name must contain
"bench"), migrates it, fills it with set-based SQL (`INSERT … SELECT … FROM generate_series`,
never the ORM row by row), then measures on the same data:

- the floor: `SELECT owner_id, kind, count(*) FROM activities_activity GROUP BY owner_id, kind`
  (one warm-up, median of 3);
- the full recompute `kpis.compute.run.recompute_full(now=…)` (median of `--full-runs`);
- the nightly incremental: one day of new activity inserted for today, its (rep, day) cells
  marked dirty as the services do, then `kpis.compute.run.recompute(now=…)` (median of
  `--incremental-runs`, re-marking the same cells before each run).

Every SQL statement the engine sends is timed (`connection.execute_wrapper`) and listed per run;
`--explain N` re-runs both once more with the N slowest statements under
`EXPLAIN (ANALYZE, BUFFERS)` and prints their plans. Human-readable lines come first; the last
line of stdout is one JSON object with floor_s, full_s, incremental_s, full_ratio (full / floor)
and incremental_ratio (incremental / full).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/saljsite_bench"

FLOOR_SQL = "SELECT owner_id, kind, count(*) FROM activities_activity GROUP BY owner_id, kind"


# ---------------------------------------------------------------------------
# Sizes
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Sizes:
    reps: int
    companies: int
    leads: int
    opportunities: int
    activities: int

    @property
    def teams(self) -> int:
        return max(1, round(self.reps / 20))

    @property
    def sdrs(self) -> int:
        return max(1, round(self.reps * 0.35))

    @property
    def aes(self) -> int:
        return max(1, round(self.reps * 0.35))

    @property
    def ams(self) -> int:
        return self.reps - self.sdrs - self.aes

    # Users get ids 1..reps in role blocks (SDRs, then AEs, then AMs), managers after them.
    @property
    def first_ae(self) -> int:
        return self.sdrs + 1

    @property
    def first_am(self) -> int:
        return self.sdrs + self.aes + 1


def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, Sizes]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every default size")
    parser.add_argument("--activities", type=int, help="activities (default 2 000 000 × scale)")
    parser.add_argument("--reps", type=int, help="reps (default 200 × scale, at least 10)")
    parser.add_argument("--opportunities", type=int, help="opportunities (default 50 000 × scale)")
    parser.add_argument("--leads", type=int, help="leads (default 100 000 × scale)")
    parser.add_argument("--companies", type=int, help="companies (default 25 per rep)")
    parser.add_argument(
        "--full-runs",
        type=int,
        help="timed full recomputes (≥ 2; default 3, or 2 when the first takes over a minute)",
    )
    parser.add_argument("--incremental-runs", type=int, default=3, help="timed nightly runs")
    parser.add_argument(
        "--explain", type=int, default=0, metavar="N", help="EXPLAIN ANALYZE the N slowest"
    )
    parser.add_argument(
        "--db-setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="what-if: ALTER DATABASE … SET NAME = VALUE before measuring (e.g. jit=off)",
    )
    parser.add_argument(
        "--db-sql",
        action="append",
        default=[],
        metavar="SQL",
        help="what-if: run this SQL after the build, before measuring (e.g. a CREATE INDEX)",
    )
    args = parser.parse_args(argv)
    scale = args.scale
    reps = args.reps or max(10, round(200 * scale))
    sizes = Sizes(
        reps=reps,
        companies=max(reps, args.companies or 25 * reps),
        leads=args.leads if args.leads is not None else round(100_000 * scale),
        opportunities=(
            args.opportunities if args.opportunities is not None else round(50_000 * scale)
        ),
        activities=args.activities if args.activities is not None else round(2_000_000 * scale),
    )
    if sizes.reps < 3:
        parser.error("--reps must be at least 3 (one SDR, one AE, one AM)")
    if args.full_runs is not None:
        args.full_runs = max(2, args.full_runs)
    for setting in args.db_setting:
        if not re.fullmatch(r"[a-z_]+=[\w.]+", setting):
            parser.error(f"--db-setting wants name=value, not {setting!r}")
    args.incremental_runs = max(1, args.incremental_runs)
    return args, sizes


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------
def say(line: str = "") -> None:
    print(line, flush=True)


@contextmanager
def timed(phases: dict[str, float], name: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    phases[name] = time.perf_counter() - start
    say(f"  {name:<44} {phases[name]:8.2f} s")


def median(values: list[float]) -> float:
    return statistics.median(values)


# ---------------------------------------------------------------------------
# Database (re)creation
# ---------------------------------------------------------------------------


# ---------------------------------------------------------------------------
# Dataset
# ---------------------------------------------------------------------------
_TABLES_WITH_IDS = (
    "people_team",
    "people_user",
    "pipeline_company",
    "pipeline_contact",
    "pipeline_lead",
    "pipeline_opportunity",
)

_USERS = """
INSERT INTO people_user (id, password, last_login, is_superuser, username, first_name, last_name,
    email, is_staff, is_active, date_joined, role, team_id)
SELECT g, '!', NULL::timestamptz, false, 'bench-rep-' || lpad(g::text, 4, '0'), 'Rep',
    lpad(g::text, 4, '0'), 'bench-rep-' || g || '@example.com', false, true, %(since)s,
    CASE WHEN g < %(first_ae)s THEN 'sdr' WHEN g < %(first_am)s THEN 'ae' ELSE 'am' END,
    1 + mod(g - 1, %(teams)s)
FROM generate_series(1, %(reps)s) g
UNION ALL
SELECT %(reps)s + t, '!', NULL::timestamptz, false, 'bench-manager-' || lpad(t::text, 2, '0'),
    'Manager', lpad(t::text, 2, '0'), 'bench-manager-' || t || '@example.com', true, true,
    %(since)s, 'manager', t
FROM generate_series(1, %(teams)s) t
"""

_TEAMS = """
INSERT INTO people_team (id, name, manager_id)
SELECT t, 'Bench team ' || lpad(t::text, 2, '0'), %(reps)s + t FROM generate_series(1, %(teams)s) t
"""

# Company c is owned by AM number mod(c - 1, ams); its contacts are 2c - 1 and 2c.
_COMPANIES = """
INSERT INTO pipeline_company (id, name, org_number, owner_id, external_id, created_at)
SELECT c, 'Bench company ' || lpad(c::text, 6, '0'), '', %(first_am)s + mod(c - 1, %(ams)s), '',
    %(now)s - interval '3 years' + random() * interval '2 years'
FROM generate_series(1, %(companies)s) c
"""

_CONTACTS = """
INSERT INTO pipeline_contact (id, company_id, name, title, email, phone, is_decision_maker,
    external_id)
SELECT k, (k + 1) / 2, 'Bench contact ' || k, CASE WHEN dm THEN 'CEO' ELSE 'Buyer' END, '', '',
    dm, ''
FROM (SELECT k, mod(k, 2) = 1 AND random() < 0.5 AS dm
      FROM generate_series(1, 2 * %(companies)s) k OFFSET 0) s
"""

_LEADS = """
INSERT INTO pipeline_lead (id, name, source, direction, received_at, received_day,
    assigned_to_id, company_id, contact_id, status, notes, external_id)
SELECT g, 'Bench lead ' || g,
    (ARRAY['website', 'referral', 'event', 'outbound', 'partner', 'advertising', 'other'])
        [1 + floor(r_src * 7)::int],
    CASE WHEN r_dir < 0.8 THEN 'inbound' ELSE 'outbound' END,
    at, (at AT TIME ZONE %(tz)s)::date,
    1 + floor(r_rep * %(sdrs)s)::int,
    CASE WHEN r_co < 0.7 THEN co END,
    CASE WHEN r_co < 0.56 THEN 2 * co - 1 + floor(r_co / 0.28)::int END,
    CASE WHEN r_st < 0.3 THEN 'new' WHEN r_st < 0.65 THEN 'contacted'
         WHEN r_st < 0.85 THEN 'qualified' ELSE 'disqualified' END,
    '', ''
FROM (SELECT g, random() AS r_src, random() AS r_dir, random() AS r_rep, random() AS r_co,
             random() AS r_st, %(now)s - random() * interval '365 days' AS at,
             1 + floor(random() * %(companies)s)::int AS co
      FROM generate_series(1, %(leads)s) g OFFSET 0) r
"""

_OPP_PLAN_TABLE = """
CREATE TEMP TABLE bench_opp (
    id bigint PRIMARY KEY, lead_id bigint, company_id bigint, contact_id bigint, kind text,
    owner_id bigint, created_by_id bigint, lead_source text, channel text, amount numeric(14, 2),
    created_at timestamptz, fate text, moves int, entry_pos int)
"""

# 40 % of the opportunities come from a lead with a company (created by the lead's SDR, owned by
# an AE); the others are new business of an AE (sometimes created by an SDR) or upsell/renewal
# owned by the company's AM. Fate: ~30 % won, ~40 % lost, the rest open.
_OPP_PLAN_FROM_LEADS = """
INSERT INTO bench_opp
SELECT row_number() OVER (), lead_id, company_id, contact_id, 'new_business',
    %(first_ae)s + floor(r_owner * %(aes)s)::int, assigned_to_id, source,
    CASE WHEN r_ch < 0.3 THEN 'field' WHEN r_ch < 0.75 THEN 'inside'
         WHEN r_ch < 0.9 THEN 'partner' ELSE 'online' END,
    round((20000 + r_amt * r_amt * 480000)::numeric, -2),
    least(received_at + r_at * interval '20 days', %(now)s - interval '1 hour'),
    CASE WHEN r_fate < 0.3 THEN 'won' WHEN r_fate < 0.7 THEN 'lost' ELSE 'open' END,
    CASE WHEN r_fate < 0.7 THEN 1 + floor(r_moves * 4)::int ELSE floor(r_moves * 5)::int END,
    CASE WHEN r_entry < 0.85 THEN 0 ELSE 1 END
FROM (SELECT p.*, random() AS r_owner, random() AS r_ch, random() AS r_amt, random() AS r_at,
             random() AS r_fate, random() AS r_moves, random() AS r_entry
      FROM (SELECT l.id AS lead_id, l.company_id, l.contact_id, l.assigned_to_id, l.source,
                   l.received_at
            FROM pipeline_lead l
            WHERE l.company_id IS NOT NULL AND l.assigned_to_id IS NOT NULL
              AND l.received_at < %(now)s - interval '1 day'
            -- No random() in this select list: ORDER BY would reuse an equal column.
            ORDER BY random() LIMIT %(from_leads)s) p
      OFFSET 0) q
"""

_OPP_PLAN_OTHERS = """
INSERT INTO bench_opp
SELECT %(offset)s + g, NULL, co, CASE WHEN r_ct < 0.7 THEN 2 * co - 1 + floor(r_ct / 0.35)::int END,
    kind,
    CASE WHEN kind = 'new_business' THEN %(first_ae)s + floor(r_owner * %(aes)s)::int
         ELSE %(first_am)s + mod(co - 1, %(ams)s) END,
    CASE WHEN kind = 'new_business' AND r_by < 0.3 THEN 1 + floor(r_by / 0.3 * %(sdrs)s)::int
         WHEN kind = 'new_business' THEN %(first_ae)s + floor(r_owner * %(aes)s)::int
         ELSE %(first_am)s + mod(co - 1, %(ams)s) END,
    CASE WHEN kind <> 'new_business' THEN 'other'
         ELSE (ARRAY['website', 'referral', 'event', 'outbound', 'partner', 'advertising',
                     'other'])[1 + floor(r_src * 7)::int] END,
    CASE WHEN r_ch < 0.4 THEN 'field' WHEN r_ch < 0.75 THEN 'inside'
         WHEN r_ch < 0.9 THEN 'partner' ELSE 'online' END,
    round((20000 + r_amt * r_amt * 480000)::numeric, -2),
    %(now)s - interval '1 hour' - r_at * interval '364 days',
    CASE WHEN r_fate < 0.3 THEN 'won' WHEN r_fate < 0.7 THEN 'lost' ELSE 'open' END,
    CASE WHEN r_fate < 0.7 THEN 1 + floor(r_moves * 4)::int ELSE floor(r_moves * 5)::int END,
    CASE WHEN r_entry < 0.85 THEN 0 ELSE 1 END
FROM (SELECT g, 1 + floor(random() * %(companies)s)::int AS co, random() AS r_ct,
             CASE WHEN r_kind < 0.5 THEN 'new_business' WHEN r_kind < 0.8 THEN 'upsell'
                  ELSE 'renewal' END AS kind,
             random() AS r_owner, random() AS r_by, random() AS r_src, random() AS r_ch,
             random() AS r_amt, random() AS r_at, random() AS r_fate, random() AS r_moves,
             random() AS r_entry
      FROM (SELECT g, random() AS r_kind FROM generate_series(1, %(n)s) g OFFSET 0) k
      OFFSET 0) p
"""

# Stage positions 0..3 are the open stages in order, 4 won, 5 lost. Every opportunity starts
# with a creation row (no from stage), then makes `moves` moves at increasing times before now:
# forward, sometimes back one stage, the last one into won/lost when that is its fate.
_STAGE_PATH = """
CREATE TEMP TABLE bench_path AS
WITH RECURSIVE path (opp, step, moves, fate, from_pos, pos, at) AS (
    SELECT id, 0, moves, fate, NULL::int, entry_pos, created_at FROM bench_opp
    UNION ALL
    SELECT opp, step + 1, moves, fate, pos,
        CASE WHEN step + 1 = moves AND fate = 'won' THEN 4
             WHEN step + 1 = moves AND fate = 'lost' THEN 5
             WHEN pos = 3 THEN 2
             WHEN pos > 0 AND random() < 0.12 THEN pos - 1
             ELSE pos + 1 END,
        at + (%(now)s - at) * (0.03 + 0.25 * random())
    FROM path WHERE step < moves
)
SELECT * FROM path
"""

_OPPORTUNITIES = """
INSERT INTO pipeline_opportunity (id, name, company_id, owner_id, created_by_id, kind,
    lead_source, channel, amount, stage_id, lead_id, contact_id, created_at, created_day,
    closed_at, closed_day, lost_reason, external_id, updated_at)
SELECT o.id, 'Bench deal ' || o.id, o.company_id, o.owner_id, o.created_by_id, o.kind,
    o.lead_source, o.channel, o.amount, (%(stages)s::bigint[])[p.pos + 1], o.lead_id,
    o.contact_id, o.created_at, (o.created_at AT TIME ZONE %(tz)s)::date,
    CASE WHEN o.fate <> 'open' THEN p.at END,
    CASE WHEN o.fate <> 'open' THEN (p.at AT TIME ZONE %(tz)s)::date END,
    CASE WHEN o.fate = 'lost' THEN 'Price' ELSE '' END, '', p.at
FROM bench_opp o JOIN bench_path p ON p.opp = o.id AND p.step = o.moves
"""

_STAGE_CHANGES = """
INSERT INTO pipeline_stagechange (opportunity_id, from_stage_id, to_stage_id, owner_id,
    changed_by_id, changed_at, changed_day)
SELECT p.opp, (%(stages)s::bigint[])[p.from_pos + 1], (%(stages)s::bigint[])[p.pos + 1],
    o.owner_id, CASE WHEN p.step = 0 THEN o.created_by_id ELSE o.owner_id END,
    p.at, (p.at AT TIME ZONE %(tz)s)::date
FROM bench_path p JOIN bench_opp o ON o.id = p.opp
ORDER BY p.opp, p.step
"""

_CONVERTED_LEADS = """
UPDATE pipeline_lead SET status = 'converted'
WHERE id IN (SELECT lead_id FROM bench_opp WHERE lead_id IS NOT NULL)
"""

_REP_COSTS = """
INSERT INTO pipeline_repcost (rep_id, month, kind, amount)
SELECT r, m::date, 'salary', 35000 + mod(r * 7919, 26) * 1000
FROM generate_series(1, %(reps)s) r,
     generate_series(%(first_month)s::timestamp, %(last_month)s::timestamp, interval '1 month') m
UNION ALL
SELECT r, m::date, 'bonus', round((2000 + random() * 18000)::numeric, -2)
FROM generate_series(1, %(reps)s) r,
     generate_series(%(first_month)s::timestamp, %(last_month)s::timestamp, interval '1 month') m
WHERE random() < 0.3
"""

# The final shape of an activity row from a source with: kind, status, owner_id, booked_by_id,
# booked_at, occurred_at, direction, company_id, contact_id, lead_id and draws r_out, r_a, r_b.
# Outcome/duration only on completed calls, replied/clicked only on completed emails, mode only
# on meetings and demos: the CHECK constraints of activities_activity.
_ACTIVITY_INSERT = """
INSERT INTO activities_activity (kind, status, owner_id, booked_by_id, booked_at, booked_day,
    occurred_at, occurred_day, direction, outcome, duration_seconds, replied, clicked, mode,
    company_id, contact_id, lead_id, opportunity_id, subject, notes, external_id, created_at,
    updated_at)
SELECT kind, status, owner_id, booked_by_id, booked_at, (booked_at AT TIME ZONE %(tz)s)::date,
    occurred_at, (occurred_at AT TIME ZONE %(tz)s)::date, direction,
    CASE WHEN kind = 'call' AND status = 'completed' THEN
        CASE WHEN r_out < 0.35 THEN 'connected' WHEN r_out < 0.70 THEN 'no_answer'
             WHEN r_out < 0.80 THEN 'busy' ELSE 'voicemail' END
    ELSE '' END,
    CASE WHEN kind = 'call' AND status = 'completed' THEN
        CASE WHEN r_out < 0.35 THEN 30 + floor(r_a * r_a * 1500)::int
             ELSE floor(r_a * 45)::int END
    END,
    kind = 'email' AND status = 'completed' AND r_a < 0.15,
    kind = 'email' AND status = 'completed' AND r_b < 0.25,
    CASE WHEN kind = 'meeting' THEN CASE WHEN r_b < 0.45 THEN 'physical' ELSE 'digital' END
         WHEN kind = 'demo' THEN CASE WHEN r_b < 0.35 THEN 'physical' ELSE 'digital' END
         ELSE '' END,
    company_id, contact_id, lead_id, NULL, '', '', '',
    coalesce(booked_at, occurred_at), coalesce(booked_at, occurred_at)
FROM ({source}) src
"""

# General activity: a random rep, a role-dependent kind mix, mostly completed; calls and emails
# with a company 85 % of the time (AMs mostly with their own accounts), meetings, demos and
# lunches always; a contact of that company often; 40 % of meetings and demos booked by an SDR
# (not the owner) 1-14 days before.
_GENERAL_SOURCE = """
SELECT kind, status, owner_id, booked_by_id,
    CASE WHEN booked_by_id IS NOT NULL
         THEN occurred_at - interval '1 day' - r_lead * interval '13 days' END AS booked_at,
    occurred_at, direction, company_id,
    CASE WHEN company_id IS NOT NULL AND r_ct < p_ct
         THEN 2 * company_id - 1 + floor(r_ct / p_ct * 2)::int END AS contact_id,
    NULL::bigint AS lead_id, r_out, r_a, r_b
FROM (
    SELECT k.*,
        CASE WHEN kind IN ('call', 'email') THEN
                CASE WHEN r_status < 0.97 THEN 'completed' WHEN r_status < 0.99 THEN 'planned'
                     ELSE 'cancelled' END
             ELSE CASE WHEN r_status < 0.88 THEN 'completed' WHEN r_status < 0.95 THEN 'planned'
                       ELSE 'cancelled' END
        END AS status,
        CASE WHEN kind IN ('call', 'email') AND r_dir < 0.12 THEN 'inbound' ELSE 'outbound' END
            AS direction,
        CASE WHEN kind IN ('call', 'email') AND r_co >= 0.85 THEN NULL
             WHEN rep_ix >= %(sdrs)s + %(aes)s AND r_aff < 0.8 THEN
                 1 + (rep_ix - %(sdrs)s - %(aes)s) + %(ams)s * floor(
                     r_pick * ((%(companies)s - 1 - (rep_ix - %(sdrs)s - %(aes)s)) / %(ams)s + 1)
                 )::int
             ELSE 1 + floor(r_pick * %(companies)s)::int
        END AS company_id,
        CASE WHEN kind IN ('call', 'email') THEN 0.7 ELSE 0.9 END AS p_ct,
        CASE WHEN kind IN ('meeting', 'demo') AND r_book < 0.4 THEN
                 1 + CASE WHEN floor(r_booker * %(sdrs)s)::int = rep_ix
                          THEN mod(rep_ix + 1, %(sdrs)s)
                          ELSE floor(r_booker * %(sdrs)s)::int END
        END AS booked_by_id
    FROM (
        SELECT d.*, 1 + rep_ix AS owner_id,
            CASE WHEN rep_ix < %(sdrs)s THEN
                     CASE WHEN r_kind < 0.55 THEN 'call' WHEN r_kind < 0.90 THEN 'email'
                          WHEN r_kind < 0.96 THEN 'meeting' WHEN r_kind < 0.98 THEN 'demo'
                          ELSE 'lunch' END
                 WHEN rep_ix < %(sdrs)s + %(aes)s THEN
                     CASE WHEN r_kind < 0.30 THEN 'call' WHEN r_kind < 0.65 THEN 'email'
                          WHEN r_kind < 0.85 THEN 'meeting' WHEN r_kind < 0.95 THEN 'demo'
                          ELSE 'lunch' END
                 ELSE
                     CASE WHEN r_kind < 0.30 THEN 'call' WHEN r_kind < 0.62 THEN 'email'
                          WHEN r_kind < 0.84 THEN 'meeting' WHEN r_kind < 0.90 THEN 'demo'
                          ELSE 'lunch' END
            END AS kind
        FROM (
            SELECT %(t0)s + random() * %(span)s AS occurred_at,
                floor(random() * %(reps)s)::int AS rep_ix,
                random() AS r_kind, random() AS r_status, random() AS r_dir, random() AS r_co,
                random() AS r_aff, random() AS r_pick, random() AS r_ct, random() AS r_book,
                random() AS r_booker, random() AS r_lead, random() AS r_out, random() AS r_a,
                random() AS r_b
            FROM generate_series(1, %(n)s) OFFSET 0
        ) d OFFSET 0
    ) k OFFSET 0
) a
"""

# Lead follow-up: 80 % of the leads get a first call or email from their SDR (exponential delay,
# mean 4 h), then 0-2 follow-ups a few days apart; nothing after now.
_LEAD_SOURCE = """
SELECT kind, CASE WHEN step = 0 OR r_status < 0.95 THEN 'completed' ELSE 'planned' END AS status,
    owner_id, NULL::bigint AS booked_by_id, NULL::timestamptz AS booked_at, occurred_at,
    'outbound' AS direction, company_id, contact_id, lead_id, r_out, r_a, r_b
FROM (
    SELECT s.lead_id, s.owner_id, s.company_id, s.contact_id, f.step,
        s.first_at + f.step * (interval '1 day' + random() * interval '4 days') AS occurred_at,
        CASE WHEN random() < (CASE WHEN f.step = 0 THEN 0.6 ELSE 0.5 END) THEN 'call'
             ELSE 'email' END AS kind,
        random() AS r_status, random() AS r_out, random() AS r_a, random() AS r_b
    FROM (
        SELECT l.id AS lead_id, l.assigned_to_id AS owner_id, l.company_id, l.contact_id,
            l.received_at
                + interval '1 minute' * (2 + (-ln(1 - random())) * 240) AS first_at,
            floor(random() * 3)::int AS extra
        FROM pipeline_lead l
        WHERE l.assigned_to_id IS NOT NULL AND random() < 0.8
        OFFSET 0
    ) s CROSS JOIN LATERAL generate_series(0, s.extra) f(step)
    OFFSET 0
) t
WHERE occurred_at < %(now)s
"""

_ACTIVITY_INDEXES = """
SELECT i.relname, pg_get_indexdef(i.oid)
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
WHERE x.indrelid = 'activities_activity'::regclass AND NOT x.indisprimary
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
"""

# The services mark (owner, occurred_day), (booked_by, booked_day) and, for an activity linked
# to a lead, (lead assignee, received_day); every mark writes a fresh token.
# As the activity services mark them (`kpis.models.Source` bits): the owner's cell changed its
# activities (ACTIVITY | COUNTERS = 3), the booker's only its counters (1), the lead's assignee's
# its leads (LEAD | COUNTERS = 5); a cell marked twice ORs its bits.
_MARK_DIRTY = """
INSERT INTO kpis_dirtycell (rep_id, day, token, marked_at, sources)
SELECT rep_id, day, gen_random_uuid(), now(), bit_or(sources)
FROM (
    SELECT owner_id AS rep_id, occurred_day AS day, 3 AS sources
    FROM activities_activity WHERE id > %(after)s
    UNION ALL
    SELECT booked_by_id, booked_day, 1 FROM activities_activity
    WHERE id > %(after)s AND booked_by_id IS NOT NULL
    UNION ALL
    SELECT l.assigned_to_id, l.received_day, 5
    FROM activities_activity a JOIN pipeline_lead l ON l.id = a.lead_id
    WHERE a.id > %(after)s AND l.assigned_to_id IS NOT NULL
) cells
GROUP BY rep_id, day
ON CONFLICT (rep_id, day) DO UPDATE SET token = excluded.token, marked_at = excluded.marked_at,
    sources = kpis_dirtycell.sources | excluded.sources
"""


def _execute(cursor, statement: str, params: dict | None = None) -> int:
    cursor.execute(statement, params)
    return cursor.rowcount


def _activity_sql(source: str) -> str:
    return _ACTIVITY_INSERT.format(source=source)


def build(sizes: Sizes, *, now: dt.datetime, tz: str) -> tuple[dict[str, float], dict[str, int]]:
    """Fill the fresh database; returns the phase timings and row counts."""
    from django.db import connection

    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    first_month = (today - dt.timedelta(days=365)).replace(day=1)
    base = {
        "now": now,
        "tz": tz,
        "since": now - dt.timedelta(days=730),
        "reps": sizes.reps,
        "teams": sizes.teams,
        "sdrs": sizes.sdrs,
        "aes": sizes.aes,
        "ams": sizes.ams,
        "first_ae": sizes.first_ae,
        "first_am": sizes.first_am,
        "companies": sizes.companies,
        "leads": sizes.leads,
        "first_month": dt.datetime.combine(first_month, dt.time()),
        "last_month": dt.datetime.combine(today.replace(day=1), dt.time()),
    }
    phases: dict[str, float] = {}
    with connection.cursor() as cursor:
        for table in _TABLES_WITH_IDS:
            cursor.execute(f"SELECT count(*) FROM {table}")
            if cursor.fetchone()[0]:
                raise SystemExit(f"{table} is not empty after migrate; ids would clash.")
        cursor.execute("SELECT slug, id FROM pipeline_stage")
        stage_ids = dict(cursor.fetchall())
        base["stages"] = [
            stage_ids[slug]
            for slug in ("qualification", "meeting", "proposal", "negotiation", "won", "lost")
        ]
        # Bulk-load settings for this session only (the measurements use a fresh connection with
        # the server defaults). `replica` skips the FK and user triggers: the rows are consistent
        # by construction, and CHECK constraints are still enforced.
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("SET synchronous_commit = off")
        cursor.execute("SET maintenance_work_mem = '512MB'")
        cursor.execute("SET work_mem = '64MB'")
        cursor.execute("SELECT setseed(0.42)")

        with timed(phases, "people (teams, reps, managers)"):
            _execute(cursor, _TEAMS, base)
            _execute(cursor, _USERS, base)
        with timed(phases, "companies and contacts"):
            _execute(cursor, _COMPANIES, base)
            _execute(cursor, _CONTACTS, base)
        with timed(phases, "leads"):
            _execute(cursor, _LEADS, base)
        with timed(phases, "opportunities and stage history"):
            cursor.execute(_OPP_PLAN_TABLE)
            from_leads = _execute(
                cursor,
                _OPP_PLAN_FROM_LEADS,
                {**base, "from_leads": round(0.4 * sizes.opportunities)},
            )
            _execute(
                cursor,
                _OPP_PLAN_OTHERS,
                {**base, "offset": from_leads, "n": sizes.opportunities - from_leads},
            )
            cursor.execute(_STAGE_PATH, base)
            _execute(cursor, _OPPORTUNITIES, base)
            _execute(cursor, _STAGE_CHANGES, base)
            _execute(cursor, _CONVERTED_LEADS)
        with timed(phases, "rep costs"):
            _execute(cursor, _REP_COSTS, base)
        with timed(phases, "activities: drop secondary indexes"):
            cursor.execute(_ACTIVITY_INDEXES)
            indexes = cursor.fetchall()
            for name, _ in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
        with timed(phases, "activities: lead follow-ups"):
            lead_rows = _execute(cursor, _activity_sql(_LEAD_SOURCE), base)
        with timed(phases, "activities: general"):
            _execute(
                cursor,
                _activity_sql(_GENERAL_SOURCE),
                {
                    **base,
                    "n": max(0, sizes.activities - lead_rows),
                    "t0": now - dt.timedelta(days=365),
                    "span": dt.timedelta(days=365),
                },
            )
        with timed(phases, f"activities: recreate {len(indexes)} indexes"):
            for _, definition in indexes:
                cursor.execute(definition)
        with timed(phases, "sequences, VACUUM ANALYZE"):
            for table in (*_TABLES_WITH_IDS, "activities_activity", "pipeline_stagechange"):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
                )
            cursor.execute("RESET ALL")
            cursor.execute("VACUUM (ANALYZE)")
        counts = table_counts(cursor)
    connection.close()
    return phases, counts


def table_counts(cursor) -> dict[str, int]:
    counts = {}
    for table in (
        "people_team",
        "people_user",
        "pipeline_company",
        "pipeline_contact",
        "pipeline_lead",
        "pipeline_opportunity",
        "pipeline_stagechange",
        "pipeline_repcost",
        "activities_activity",
    ):
        cursor.execute(f"SELECT count(*) FROM {table}")
        counts[table] = cursor.fetchone()[0]
    return counts


def describe_data(cursor) -> list[str]:
    """A few distribution lines so a reader can judge the dataset."""
    lines = []
    cursor.execute(
        "SELECT kind, count(*), count(*) FILTER (WHERE status = 'completed'), "
        "count(*) FILTER (WHERE booked_by_id IS NOT NULL) "
        "FROM activities_activity GROUP BY kind ORDER BY 2 DESC"
    )
    for kind, total, completed, booked in cursor.fetchall():
        lines.append(
            f"  activities {kind:<8} {total:>9}  completed {completed:>9}  booked {booked}"
        )
    cursor.execute(
        "SELECT s.outcome, count(*) FROM pipeline_opportunity o "
        "JOIN pipeline_stage s ON s.id = o.stage_id GROUP BY 1 ORDER BY 1"
    )
    lines.append(
        "  opportunities by outcome: "
        + ", ".join(f"{outcome} {n}" for outcome, n in cursor.fetchall())
    )
    cursor.execute("SELECT role, count(*) FROM people_user GROUP BY 1 ORDER BY 1")
    lines.append("  users by role: " + ", ".join(f"{r} {n}" for r, n in cursor.fetchall()))
    cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
    lines.append(f"  database size: {cursor.fetchone()[0]}")
    return lines


# ---------------------------------------------------------------------------
# Statement capture
# ---------------------------------------------------------------------------
def _labeller() -> Callable[[str, object], str]:
    from kpis.compute.daily import DIMENSION_FAMILIES, FAMILIES

    family_of = {}
    for family in FAMILIES:
        for counter in family.counters():
            family_of.setdefault(counter, family.name)
    dim_counters = {c for family in DIMENSION_FAMILIES for c in family.counters()}
    try:
        from kpis.compute.periodic import CODES as periodic_codes
    except ImportError:  # an engine without period values
        periodic_codes = ()

    def label(sql: str, params) -> str:
        text = " ".join(sql.split())
        strings = [p for p in (params or ()) if isinstance(p, str)]
        m = re.match(r'INSERT INTO "(kpis_repday|kpis_repdaydimension)" \(([^)]*)\)', text)
        if m and m.group(1) == "kpis_repday":
            first = m.group(2).split(", ")[3].strip('"')
            return f"rollup {family_of.get(first, first)}"
        if m:
            prefix = next((p for p in strings if p.endswith(":")), "?:")
            counter = next((p for p in strings if p in dim_counters), "?")
            return f"rollup dimension {prefix[:-1]} {counter}"
        if text.startswith('INSERT INTO "kpis_kpivalue"'):
            code = next((p for p in strings if p in periodic_codes), "?")
            return f"period values {code}"
        if text.startswith("SELECT pg_advisory_xact_lock"):
            return "advisory lock"
        if text.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")):
            return "savepoint"
        m = re.match(r'(INSERT INTO|DELETE FROM|UPDATE|SELECT .*? FROM) "?(\w+)"?', text)
        if m:
            verb = m.group(1).split()[0].lower()
            where = " where exists" if "EXISTS" in text and verb != "insert" else ""
            return f"{verb} {m.group(2)}{where}"
        return text[:60]

    return label


class Recorder:
    """Times every statement the engine sends (labels numbered when they repeat in a run)."""

    def __init__(self, label: Callable[[str, object], str]) -> None:
        self.label = label
        self.rows: list[tuple[str, float]] = []
        self._seen: Counter[str] = Counter()

    def name(self, sql: str, params) -> str:
        base = self.label(sql, params)
        self._seen[base] += 1
        return base if self._seen[base] == 1 else f"{base} #{self._seen[base]}"

    def __call__(self, execute, sql, params, many, context):
        name = self.name(sql, params)
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.rows.append((name, time.perf_counter() - start))


class Explainer(Recorder):
    """Runs the chosen rollup statements under EXPLAIN (ANALYZE, BUFFERS): they still execute."""

    def __init__(self, label: Callable[[str, object], str], wanted: set[str]) -> None:
        super().__init__(label)
        self.wanted = wanted
        self.plans: dict[str, str] = {}

    def __call__(self, execute, sql, params, many, context):
        name = self.name(sql, params)
        if name not in self.wanted or not sql.lstrip().upper().startswith(("INSERT", "DELETE")):
            return execute(sql, params, many, context)
        result = execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params, many, context)
        self.plans[name] = "\n".join(row[0] for row in context["cursor"].fetchall())
        return result


def breakdown(runs: list[list[tuple[str, float]]]) -> list[tuple[str, float]]:
    """Median seconds per statement label over the runs, slowest first."""
    per_label: dict[str, list[float]] = {}
    for rows in runs:
        for name, seconds in rows:
            per_label.setdefault(name, []).append(seconds)
    return sorted(((n, median(s)) for n, s in per_label.items()), key=lambda r: -r[1])


def print_breakdown(
    title: str, runs: list[list[tuple[str, float]]], times: list[float]
) -> list[tuple[str, float]]:
    rows = breakdown(runs)
    total = median(times)
    say(f"{title} (median per statement over {len(runs)} runs; run median {total:.3f} s)")
    small = [0, 0.0]
    for name, seconds in rows:
        if seconds < 0.005:
            small[0] += 1
            small[1] += seconds
            continue
        share = 100 * seconds / total if total else 0.0
        say(f"  {seconds:9.3f} s  {share:5.1f} %  {name}")
    if small[0]:
        say(f"  {small[1]:9.3f} s          {small[0]} statements under 5 ms")
    outside = median([t - sum(s for _, s in r) for r, t in zip(runs, times, strict=True)])
    say(f"  {outside:9.3f} s          outside SQL (Python, commit)")
    return rows


# ---------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------
def measure_floor() -> tuple[float, list[float]]:
    from django.db import connection

    def once() -> float:
        with connection.cursor() as cursor:
            start = time.perf_counter()
            cursor.execute(FLOOR_SQL)
            cursor.fetchall()
            return time.perf_counter() - start

    once()  # warm-up
    times = [once() for _ in range(3)]
    return median(times), times


def timed_run(func: Callable[[], object], recorder: Recorder) -> float:
    from django.db import connection

    with connection.execute_wrapper(recorder):
        start = time.perf_counter()
        func()
        return time.perf_counter() - start


def insert_today(sizes: Sizes, *, now: dt.datetime, tz: str) -> tuple[int, int, float]:
    """One day of new activity for today (local), set-based; returns (max id before, rows, s)."""
    from django.db import connection

    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    start = dt.datetime.combine(today, dt.time(), tzinfo=zone)
    end = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    params = {
        "tz": tz,
        "reps": sizes.reps,
        "sdrs": sizes.sdrs,
        "aes": sizes.aes,
        "ams": sizes.ams,
        "companies": sizes.companies,
        "n": round(sizes.activities / 365),
        "t0": start,
        "span": end - start,  # 23 or 25 hours on DST days
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM activities_activity")
        after = cursor.fetchone()[0]
        began = time.perf_counter()
        rows = _execute(cursor, _activity_sql(_GENERAL_SOURCE), params)
        return after, rows, time.perf_counter() - began


def mark_dirty(after: int) -> tuple[int, float]:
    from django.db import connection

    with connection.cursor() as cursor:
        began = time.perf_counter()
        rows = _execute(cursor, _MARK_DIRTY, {"after": after})
        return rows, time.perf_counter() - began


def main(argv: list[str] | None = None) -> None:
    args, sizes = parse_args(argv)
    os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saljsite.settings")
    os.environ.setdefault("DEBUG", "true")
    sys.path.insert(0, str(ROOT))

    import django

    django.setup()

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from kpis.compute import run

    started = time.perf_counter()
    tz = settings.TIME_ZONE
    now = timezone.now().replace(microsecond=0)
    say(
        f"Sizes: {sizes.reps} reps ({sizes.sdrs} sdr / {sizes.aes} ae / {sizes.ams} am) in "
        f"{sizes.teams} teams, {sizes.companies} companies, {sizes.leads} leads, "
        f"{sizes.opportunities} opportunities, {sizes.activities} activities; "
        f"now {now:%Y-%m-%d %H:%M} UTC, site time zone {tz}"
    )
    from bench.database import recreate_database  # after ROOT is on sys.path

    name = recreate_database()
    say(f"Database {name} recreated.")
    phases: dict[str, float] = {}
    with timed(phases, "migrate"):
        call_command("migrate", verbosity=0, interactive=False)
    say("Building the dataset:")
    build_phases, counts = build(sizes, now=now, tz=tz)
    build_s = sum(build_phases.values())
    say(f"Build: {build_s:.1f} s (migrate {phases['migrate']:.1f} s more)")
    say("Rows: " + ", ".join(f"{table} {n}" for table, n in counts.items()))
    with connection.cursor() as cursor:
        for line in describe_data(cursor):
            say(line)
        for setting in args.db_setting:
            key, value = setting.split("=", 1)
            cursor.execute(f'ALTER DATABASE "{name}" SET {key} = %s', [value])
            say(f"  what-if: ALTER DATABASE … SET {key} = {value}")
        for statement in args.db_sql:
            began = time.perf_counter()
            cursor.execute(statement)
            say(f"  what-if: {statement} ({time.perf_counter() - began:.1f} s)")
        if args.db_sql:
            cursor.execute("ANALYZE")
    connection.close()  # the measurements start on a fresh session (with those settings)

    label = _labeller()

    say()
    floor_s, floor_times = measure_floor()
    say(f"Floor (GROUP BY owner, kind over activities): {floor_s:.3f} s  {_fmt(floor_times)}")

    full_times: list[float] = []
    full_runs: list[list[tuple[str, float]]] = []

    def full_runs_wanted() -> int:
        if args.full_runs:
            return args.full_runs
        # Three runs, or two when one takes over a minute (keeps the default size near 5 min).
        return 2 if full_times and full_times[0] > 60 else 3

    while len(full_times) < full_runs_wanted():
        recorder = Recorder(label)
        full_times.append(timed_run(lambda: run.recompute_full(now=now), recorder))
        full_runs.append(recorder.rows)
    full_s = median(full_times)
    say(f"Full recompute: {full_s:.3f} s  {_fmt(full_times)}  = {full_s / floor_s:.1f}x floor")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM kpis_repday")
        repday = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM kpis_repdaydimension")
        repdaydim = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM kpis_kpivalue")
        kpivalues = cursor.fetchone()[0]
    say(
        f"  stored: kpis_repday {repday}, kpis_repdaydimension {repdaydim}, "
        f"kpis_kpivalue {kpivalues}"
    )

    after, new_rows, insert_s = insert_today(sizes, now=now, tz=tz)
    say(f"Nightly: inserted {new_rows} activities for today in {insert_s:.2f} s")
    incremental_times: list[float] = []
    incremental_runs: list[list[tuple[str, float]]] = []
    for _ in range(args.incremental_runs):
        cells, mark_s = mark_dirty(after)
        recorder = Recorder(label)
        incremental_times.append(timed_run(lambda: run.recompute(now=now), recorder))
        incremental_runs.append(recorder.rows)
    incremental_s = median(incremental_times)
    say(
        f"  marked {cells} dirty cells in {mark_s:.3f} s; incremental recompute: "
        f"{incremental_s:.3f} s  {_fmt(incremental_times)}  = {incremental_s / floor_s:.2f}x floor"
        f", {100 * incremental_s / full_s:.1f} % of full"
    )

    say()
    full_rows = print_breakdown("Full recompute statements", full_runs, full_times)
    say()
    incremental_rows = print_breakdown(
        "Incremental recompute statements", incremental_runs, incremental_times
    )

    if args.explain:
        say()
        wanted = {n for n, _ in full_rows[: args.explain]}
        explainer = Explainer(label, wanted)
        timed_run(lambda: run.recompute_full(now=now), explainer)
        _print_plans("full", explainer.plans)
        mark_dirty(after)
        wanted = {n for n, _ in incremental_rows[: args.explain]}
        explainer = Explainer(label, wanted)
        timed_run(lambda: run.recompute(now=now), explainer)
        _print_plans("incremental", explainer.plans)

    full_ratio = full_s / floor_s
    incremental_ratio = incremental_s / full_s
    say()
    say(f"floor       {floor_s:8.3f} s")
    say(f"full        {full_s:8.3f} s   {full_ratio:6.2f}x floor   (goal <= 3x)")
    say(
        f"incremental {incremental_s:8.3f} s   {incremental_s / floor_s:6.2f}x floor   "
        f"{100 * incremental_ratio:5.1f} % of full (goal <= 5 %)"
    )
    say(f"build {build_s:.1f} s; total wall time {time.perf_counter() - started:.1f} s")
    print(
        json.dumps(
            {
                "floor_s": round(floor_s, 4),
                "full_s": round(full_s, 4),
                "incremental_s": round(incremental_s, 4),
                "full_ratio": round(full_ratio, 3),
                "incremental_ratio": round(incremental_ratio, 4),
            }
        ),
        flush=True,
    )


def _fmt(times: list[float]) -> str:
    return "[" + ", ".join(f"{t:.3f}" for t in times) + "]"


def _print_plans(kind: str, plans: dict[str, str]) -> None:
    for name, plan in plans.items():
        say(f"EXPLAIN ANALYZE ({kind}) {name}:")
        for line in plan.splitlines():
            say(f"    {line}")
        say()


if __name__ == "__main__":
    main()
