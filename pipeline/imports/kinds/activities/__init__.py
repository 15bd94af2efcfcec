"""Activities: the kind that comes by the million (telephony, mail and calendar exports).

It streams. Each row is parsed and checked in Python against the rules of
`activities.services.activity_log` (choices, lengths, company inference from the linked
opportunity, contact or lead and links to one company only, and the model's check constraints:
call fields on calls only, email fields on emails only, mode on meetings and demos, bookings
complete and only for meetings, demos and lunches), with users looked up once and the linked
rows by external id a chunk at a time (only the keys the file uses). Valid rows go, a chunk at a
time, into a temporary staging table (PostgreSQL `COPY`, elsewhere `executemany`). Then, in the
same transaction, set-based SQL over the staging table (`kinds.activity_write`) finds external
ids repeated in the file and stored activities of another team, counts new, changed and
unchanged rows, marks the KPI cells of every new and changed row (old and new values) dirty, and
writes only what differs: on PostgreSQL an `UPDATE` of the changed rows and a plain `INSERT` of
the new ones. Any bad row: nothing is written.

Memory stays bounded by the chunk size and the number of distinct linked rows, not by the file.
The history of imported rows is the import job (who, when, which file): no per-row
`ActivityChange` entries are written.

`columns` declares the file's columns, `parsing` turns cell text into typed values, `run` stages
the rows a chunk at a time and checks and writes them (`ActivityKind`). Callers import from
`pipeline.imports.kinds.activities`; the chunk size, `CHUNK_ROWS`, lives in `run`, which reads it.
"""

from pipeline.imports.kinds.activities.columns import (
    BOOKABLE,
    COLUMNS,
    DIRECTIONS,
    KINDS,
    MODES,
    OUTCOMES,
    STATUSES,
)
from pipeline.imports.kinds.activities.run import ActivityKind

__all__ = [
    "BOOKABLE",
    "COLUMNS",
    "DIRECTIONS",
    "KINDS",
    "MODES",
    "OUTCOMES",
    "STATUSES",
    "ActivityKind",
]
