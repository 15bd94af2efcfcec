"""Prepared statements for the few statements every API create runs (PostgreSQL).

Django's PostgreSQL backend binds parameters client-side (psycopg's `ClientCursor`): the server
parses and plans each statement again, which costs about as much as running the token lookup, and
a quarter of running the single create's `WITH`. `prepared_cursor(connection)` is Django's own
cursor — query logging, execute wrappers, database errors raised as Django's, the transaction or
savepoint the caller is in — over a server-binding psycopg cursor that asks psycopg to prepare
each statement it runs (`prepare=True`): psycopg prepares it once per connection and statement
text and parameter types (at most `prepared_max`, 100, the least recently used dropped), then runs
it by name with the parameters sent apart.

Django keeps psycopg's statement cache off (`prepare_threshold` None: transaction poolers
cannot keep prepared statements). Turning it on for the connection would also make psycopg count
every client-side statement, its full text with the values in it, in that cache (a batch's
statements are hundreds of kilobytes). So it is turned on only while this cursor runs a
statement: psycopg then prepares it, or finds it prepared. It drops its prepared statements
after a rollback and prepares them again when next used. `DB_PREPARED_STATEMENTS=false` (the
`SALJSITE_PREPARED_STATEMENTS` setting) gives Django's ordinary cursor instead, as do other
vendors.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.postgresql.base import (
    TIMESTAMPTZ_OID,
    CursorDebugWrapper,
    ServerBindingCursor,
)
from django.db.backends.postgresql.psycopg_any import register_tzloader
from django.db.backends.utils import CursorWrapper
from psycopg.pq import Format


class PreparingCursor(ServerBindingCursor):
    """The backend's server-binding cursor, running each statement with `prepare=True`
    (`CursorWrapper.execute` passes no such argument) and psycopg's statement cache on."""

    def execute(self, query: Any, params: Any = None, *, prepare: bool = True, **kwargs: Any):
        connection = self.connection
        threshold = connection.prepare_threshold
        if threshold is None:
            connection.prepare_threshold = _PREPARE_THRESHOLD
        try:
            return super().execute(query, params, prepare=prepare, **kwargs)
        finally:
            connection.prepare_threshold = threshold


# Any number turns psycopg's cache on; with `prepare=True` a statement is prepared at once.
_PREPARE_THRESHOLD = 5


class PreparedDebugWrapper(CursorDebugWrapper):
    """Logs a statement (DEBUG, tests) with its parameters in it, as for the other cursors:
    Django reads the logged text back from a client-binding cursor, which this is not."""

    def execute(self, sql: str, params: Any = None):
        logged = sql if params is None else self.db.ops.compose_sql(sql, params)
        with self.debug_sql(logged, params):
            return CursorWrapper.execute(self, sql, params)


def prepared_cursor(connection: BaseDatabaseWrapper) -> CursorWrapper:
    """A cursor of `connection` whose statements are prepared (PostgreSQL; else as is)."""
    if connection.vendor != "postgresql" or not settings.SALJSITE_PREPARED_STATEMENTS:
        return connection.cursor()
    # As `BaseDatabaseWrapper._cursor` and the backend's `create_cursor` make a cursor.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        cursor = PreparingCursor(connection.connection)
        # Times read in the connection's time zone.
        loader = connection.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
        if connection.timezone != loader.timezone:
            register_tzloader(connection.timezone, cursor)
        connection.validate_thread_sharing()
        if connection.queries_logged:
            return PreparedDebugWrapper(cursor, connection)
        return connection.make_cursor(cursor)
