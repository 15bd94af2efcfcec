"""Additive daily counters: set-based `SELECT … GROUP BY rep, day`, written once per table.

Each family is an ORM aggregate grouped on a stored local day (no time-zone maths per row). The
families of a table are stacked with `UNION ALL` and folded into one row per (rep, day) — every
counter comes from exactly one family — so each rollup row is written once, and no row travels
through Python:
- an incremental run (a few cells) deletes the cells' rows and inserts them again with one
  `INSERT … SELECT … ON CONFLICT DO UPDATE` per table (`rollup_families`);
- a full run computes every row into a temporary table and writes it over the stored rows,
  updating the kept keys in place (`rollup_rebuild`, `_replace`).
The same SQL runs on PostgreSQL and SQLite (≥ 3.25, for window functions).

A few definitions have two spellings with the same rows, picked per run:
- per row (`Family.queryset`, `DimensionFamily.queryset`): correlated subqueries reading a handful
  of index entries per row. Drill-downs, live counters and incremental runs use it.
- whole table (`Family.whole`, `Counter.whole_rows`, `DimensionFamily.whole_sql`): computed once
  for all rows (the set of first touches by a window, every stage change's next row by `LEAD`,
  answered leads as a set). Full runs use it; per row it would cost an index probe or three for
  each of millions of rows.
The tests pin one against the other (incremental runs equal full runs, drill-down records equal
the stored values).

`families` declares the counters of each source table, `dimensions` those split by a key, and
`rollup` turns them into SQL and writes the rows. Callers import from `kpis.compute.daily`.
"""

from kpis.compute.daily.dimensions import DIMENSION_FAMILIES, DimensionFamily
from kpis.compute.daily.families import COUNTER_FAMILY, FAMILIES, Counter, Family, is_forward
from kpis.compute.daily.rollup import ScopeFilter, rollup_families, rollup_rebuild

__all__ = [
    "COUNTER_FAMILY",
    "DIMENSION_FAMILIES",
    "FAMILIES",
    "Counter",
    "DimensionFamily",
    "Family",
    "ScopeFilter",
    "is_forward",
    "rollup_families",
    "rollup_rebuild",
]
