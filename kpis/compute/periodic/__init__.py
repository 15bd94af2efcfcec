"""Non-additive KPIs per period: medians, distinct counts, pipeline snapshots and account churn.

`compute_period_values(periods=…, now=…)` replaces the `KPIValue` rows of the codes in `CODES` for
the given periods: one DELETE, then one `INSERT … WITH … SELECT` per family (six, `FAMILIES`),
whatever the number of reps, teams, days or periods; an incremental run gives each family only
the periods its sources touched (`families=`). Facts stored with a local day reach their periods
by an equality join on a (day, period) map of the run's periods, never a range join. Medians and
distinct counts are computed from the rows of every scope (the rep, the rep's current team, the
organisation), never from reps' values; additive parts (snapshot counts and sums, account
counts) are aggregated per rep first and summed per team and organisation. The same SQL runs on
PostgreSQL and SQLite, except that PostgreSQL picks the two middle values of a median with
`percentile_disc` and SQLite with window functions (the same values). calls_per_customer has two
equivalent statements, picked by how many of the run's periods hold each day. Modules: `sql.py`
(the run's periods, scopes, portable SQL pieces), `calls.py`, `medians.py`, `pipeline.py`,
`accounts.py`: one statement per family; each module says how its statement is shaped and why.

Semantics (KPIS.md; the choices where it leaves room are marked *choice*):

- `calls_per_customer`: completed outbound calls with a company (the services store the company of
  a linked contact, lead or opportunity on the activity), by `owner` and `occurred_day`;
  numerator = calls, denominator = distinct companies, value = num / den.
- `lead_response_minutes`: leads with an assignee, by `assigned_to` and `received_day`, that have a
  completed activity (`lead` = the lead, by anyone); minutes from `received_at` to the earliest
  such `occurred_at`. Unassigned leads count for no scope, not even the organisation (*choice*,
  as `leads_unanswered`).
- `days_in_stage` (dimension `stage:<slug>`): every stage-change row into an *open* stage that has
  a next row (by `changed_at`, `id`) is an entry with its exit; days between them, by the owner
  and `changed_day` of the exit row. Entries into won/lost have no dimension, even when the deal
  is later reopened (*choice*). Any next row is an exit: forward, backward, won or lost.
- `sales_cycle_days`: opportunities currently in a won stage with `closed_at`, by `owner` and
  `closed_day`; days from `created_at` to `closed_at` (a reopened deal is not won).
- `open_opportunities` / `pipeline_value`: at T = min(period end as an aware local midnight, `now`)
  — so `now` for the current period (and any later one) — the opportunities created before T whose
  latest stage-change row before T (by `changed_at`, `id`) is into an open stage; count and Σ of
  the *current* `amount`, attributed to the *current* `owner` (*choice*: ownership and amount have
  no history). These are counts, so a zero is stored for every active user with a sales role,
  every team and the organisation; users without a sales role get a row only when they own some.
- `churn_rate` / `repeat_purchase_rate`: a purchase is an opportunity currently in a won stage, at
  its `closed_at`, whoever owned it. S = period start and E = min(period end, `now`), as aware
  local midnights; *active at T* = a purchase in `[T − 365 days, T)`, where T − 365 days is the same
  wall-clock time 365 local days earlier (*choice*: a local midnight stays a local midnight across
  DST). Accounts: companies whose current `owner` is the rep (team: its current members; org: all
  companies, with or without an owner). churn: num = active at S and not at E, den = active at S;
  repeat: num = ≥ 2 purchases in `[E − 365 days, E)`, den = ≥ 1.

Storage: value, numerator and denominator as floats; `computed_at = now`; dimension `""` except
`days_in_stage`. Ratios store num and den. Medians store numerator NULL and denominator = the
number of values the median is over (*choice*). Snapshots store both NULL. Nothing to measure
stores no row: a median over no values, or a ratio whose denominator is 0 — readers treat a
missing row as null. Medians are the mean of the two middle values for an even count.

Durations are exact elapsed time (DST-safe): integer microseconds between the two stored UTC
moments, divided in double precision by 60·10⁶ (minutes) or 86 400·10⁶ (days), so both backends
give bit-identical values. On SQLite (datetimes stored as UTC text) the microseconds are read
from the text (`strftime('%s')` of the whole seconds plus the fraction), not from `julianday`,
which only keeps milliseconds. Money sums are exact (integer cents) on both backends.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.db import connection, transaction

from kpis.models import KPIValue, Source
from kpis.periods import PeriodRange

from .accounts import accounts
from .calls import GROUPED_MAX_SPREAD, calls_per_customer
from .medians import days_in_stage, lead_response_minutes, sales_cycle_days
from .pipeline import SALES_ROLES, open_pipeline
from .sql import (
    Bounds,
    date,
    days_cte,
    members_cte,
    periods_cte,
    qn,
    table,
    types_cte,
    year_before,
)

# The drill-down (kpis/drilldown/stored.py) reads the same period moments.
_Bounds = Bounds
_year_before = year_before

__all__ = ["CODES", "FAMILIES", "SALES_ROLES", "compute_period_values"]

CODES: tuple[str, ...] = (
    "calls_per_customer",
    "lead_response_minutes",
    "days_in_stage",
    "sales_cycle_days",
    "open_opportunities",
    "pipeline_value",
    "churn_rate",
    "repeat_purchase_rate",
)


@dataclass(frozen=True)
class Family:
    """One statement's KPI codes, the `Source` bits of the writes that can move them, and
    whether they are snapshots of a moment (recomputed for the current periods in every run)."""

    name: str
    codes: tuple[str, ...]
    sources: int
    snapshot: bool = False


FAMILIES: tuple[Family, ...] = (
    # Kept with the cells' rollups (`call_days.py`), not recomputed per period by a run.
    Family("calls", ("calls_per_customer",), 0),
    Family("lead_response", ("lead_response_minutes",), Source.LEAD),
    Family("days_in_stage", ("days_in_stage",), Source.PIPELINE),
    Family("sales_cycle", ("sales_cycle_days",), Source.PIPELINE),
    Family("pipeline", ("open_opportunities", "pipeline_value"), Source.PIPELINE, snapshot=True),
    Family("accounts", ("churn_rate", "repeat_purchase_rate"), Source.PIPELINE, snapshot=True),
)


def _delete(chosen: Mapping[tuple[str, ...], list[Bounds]]) -> None:
    """Delete the stored rows of each set of codes for its (period, start) keys (one
    statement; families with the same periods share a clause)."""
    by_periods: dict[tuple, list[str]] = defaultdict(list)
    for codes, bounds in chosen.items():
        by_periods[tuple((b.period, b.start) for b in bounds)].extend(codes)
    clauses, params = [], []
    for keys, codes in by_periods.items():
        starts: dict[str, list] = defaultdict(list)
        for period, start in keys:
            starts[period].append(date(start))
        per_type = " OR ".join(
            f"({qn('period')} = %s AND {qn('period_start')} IN ({', '.join(['%s'] * len(days))}))"
            for days in starts.values()
        )
        clauses.append(f"({qn('kpi')} IN ({', '.join(['%s'] * len(codes))}) AND ({per_type}))")
        params += [*codes, *(p for period, days in starts.items() for p in (period, *days))]
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table(KPIValue)} WHERE {' OR '.join(clauses)}",  # noqa: S608
            params,
        )


def spread(bounds: list[Bounds]) -> float:
    """How many of the run's periods hold each of its days, on average (1 to 4)."""
    days = {b.start + dt.timedelta(days=i) for b in bounds for i in range((b.end - b.start).days)}
    return sum((b.end - b.start).days for b in bounds) / len(days)


def _compute(
    family: str,
    bounds: list[Bounds],
    now: dt.datetime,
    grouped_calls: bool | None,
    calls_from_days: bool = False,
) -> int:
    """One family's statements for its periods (`bounds`, non-empty)."""
    day_lo, day_hi = min(b.start for b in bounds), max(b.end for b in bounds)
    common = [periods_cte(bounds), members_cte()]
    if family == "calls":
        grouped = spread(bounds) <= GROUPED_MAX_SPREAD if grouped_calls is None else grouped_calls
        calls = [*common, days_cte(bounds) if grouped else types_cte(bounds)]
        return calls_per_customer(
            calls, day_lo, day_hi, now, grouped=grouped, from_days=calls_from_days
        )
    medians = {
        "lead_response": lead_response_minutes,
        "days_in_stage": days_in_stage,
        "sales_cycle": sales_cycle_days,
    }
    if family in medians:
        by_day = [*common, days_cte(bounds)]
        return medians[family](by_day, day_lo, day_hi, now, periods=len(bounds))
    if family == "pipeline":
        ends = [b.at_end for b in bounds]
        return open_pipeline(common, min(ends), max(ends), now)
    at_lo = min(year_before(b.at_start) for b in bounds)
    at_hi = max(max(b.at_start, b.at_end) for b in bounds)
    return accounts(common, at_lo, at_hi, now)


def compute_period_values(
    *,
    periods: Iterable[PeriodRange],
    now: dt.datetime,
    grouped_calls: bool | None = None,
    families: Mapping[str, Iterable[PeriodRange]] | None = None,
    calls_from_days: bool = False,
) -> int:
    """Replace the stored non-additive KPI values (`CODES`) of `periods` for every rep, team and
    the organisation; returns the number of rows written. Runs in the caller's transaction.

    `families` (name → periods, see `FAMILIES`) gives each family its own periods instead (an
    incremental run: an activity moves only calls_per_customer); families it leaves out are not
    touched. `grouped_calls` forces one of the two equivalent calls_per_customer statements
    (tests); by default the family's spread picks the cheaper one. `calls_from_days` reads the
    calls from the `CallDay` rows (a run keeps them; see `call_days.py`) instead of the
    activities: the stored values then match the rows the next run adjusts them from."""
    if now.tzinfo is None:
        raise ValueError("`now` must be an aware datetime.")
    if families is None:
        chosen = sorted(set(periods))
        families = {family.name: chosen for family in FAMILIES}
    chosen = {
        family: [Bounds.of(rng, now) for rng in sorted(set(families.get(family.name, ())))]
        for family in FAMILIES
    }
    chosen = {family: bounds for family, bounds in chosen.items() if bounds}
    if not chosen:
        return 0
    written = 0
    with transaction.atomic(savepoint=False):
        _delete({family.codes: bounds for family, bounds in chosen.items()})
        for family, bounds in chosen.items():
            written += _compute(family.name, bounds, now, grouped_calls, calls_from_days)
    return written
