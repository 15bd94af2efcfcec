"""Rollup rows as SQL and their writes: `rollup_families` (a few cells), `rollup_rebuild` (all)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection
from django.db.models import F, QuerySet

from kpis.compute.daily.dimensions import DIMENSION_FAMILIES, DimensionFamily
from kpis.compute.daily.families import FAMILIES, Family
from kpis.models import RepDay, RepDayDimension

ScopeFilter = Callable[[QuerySet, str, str], QuerySet]


@dataclass(frozen=True)
class _Rows:
    """A SELECT of rollup rows, its columns named as the table's, and the table's key."""

    table: str
    columns: list[str]
    key: list[str]
    sql: str
    params: list


def _upsert(rows: _Rows, source: str, params: list) -> None:
    # Only quoted identifiers of our own models are interpolated; values travel as parameters.
    # `WHERE true` keeps SQLite from reading `ON CONFLICT` as a join constraint.
    qn = connection.ops.quote_name
    columns = ", ".join(qn(c) for c in rows.columns)
    statement = (
        f"INSERT INTO {qn(rows.table)} ({columns}) SELECT {columns} FROM {source} WHERE true "
        f"ON CONFLICT ({', '.join(qn(c) for c in rows.key)}) DO UPDATE SET "
        + ", ".join(f"{qn(c)} = excluded.{qn(c)}" for c in rows.columns if c not in rows.key)
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def _insert(rows: _Rows) -> None:
    """Insert the rows (the caller deleted the stored rows of the same cells)."""
    _upsert(rows, f"({rows.sql}) AS rollup", rows.params)


def _replace(rows: _Rows) -> None:
    """Make the table hold exactly these rows. They are computed into a temporary table first
    (where PostgreSQL can run the SELECT in parallel, unlike an INSERT … SELECT), then written
    over the stored rows of the same keys, and the keys no longer computed are deleted.

    On PostgreSQL the kept keys are updated from the temporary table in one join: in place, a HOT
    update without new index entries thanks to the table's fillfactor, where deleting and
    inserting every row would add an entry to each index per row, and a dead one. The new keys
    (none in a steady state) are inserted after. Elsewhere one upsert does both (SQLite has
    `UPDATE … FROM` only since 3.33)."""
    qn = connection.ops.quote_name
    table, rebuilt = qn(rows.table), qn(f"{rows.table}_rebuilt")
    columns = ", ".join(qn(c) for c in rows.columns)
    same_key = " AND ".join(f"r.{qn(c)} = {table}.{qn(c)}" for c in rows.key)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {rebuilt}")
        cursor.execute(f"CREATE TEMPORARY TABLE {rebuilt} AS {rows.sql}", rows.params)
        cursor.execute(f"SELECT COUNT(*) FROM {rebuilt}")
        computed = cursor.fetchone()[0]
        if connection.vendor == "postgresql":
            values = ", ".join(f"{qn(c)} = r.{qn(c)}" for c in rows.columns if c not in rows.key)
            cursor.execute(f"UPDATE {table} SET {values} FROM {rebuilt} AS r WHERE {same_key}")
            if cursor.rowcount < computed:
                # Not an anti-join: its plan could rescan the table it inserts into per row.
                cursor.execute(
                    f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {rebuilt} WHERE true "
                    f"ON CONFLICT ({', '.join(qn(c) for c in rows.key)}) DO NOTHING"
                )
        else:
            _upsert(rows, rebuilt, [])
        # Every computed row is stored now: any more stored rows are stale.
        cursor.execute(f"SELECT COUNT(*) FROM {table}")
        if cursor.fetchone()[0] > computed:
            cursor.execute(
                f"DELETE FROM {table} "
                f"WHERE NOT EXISTS (SELECT 1 FROM {rebuilt} AS r WHERE {same_key})"
            )
        cursor.execute(f"DROP TABLE {rebuilt}")


def _computed_at(model, now) -> object:
    return model._meta.get_field("computed_at").get_db_prep_value(now, connection)


def _family_sql(family: Family, restrict: ScopeFilter | None) -> list[tuple[str, list, list[str]]]:
    """One family's counters per (rep, day) as SQL: columns `rep_`, `day_`, then its counters;
    for a whole-table pass (`restrict` None) one SELECT per set of rows counted."""
    counters = family.counters()
    if restrict is not None:
        sources = {None: (restrict(family.queryset(), family.rep, family.day), counters)}
    else:
        sources = {}
        for name, counter in counters.items():
            rows = counter.whole_rows or family.whole or family.queryset
            sources.setdefault(rows, (rows(), {}))[1][name] = counter
    parts = []
    for qs, counted in sources.values():
        grouped = (
            qs.order_by()
            .values(rep_=F(family.rep), day_=F(family.day))
            .annotate(**{name: counter.aggregate() for name, counter in counted.items()})
        )
        sql, params = grouped.query.sql_with_params()
        parts.append((sql, list(params), list(counted)))
    return parts


def _dimension_sql(
    family: DimensionFamily, restrict: ScopeFilter | None
) -> tuple[str, list, list[str]]:
    """One dimension family's counters per (rep, day, key): `rep_`, `day_`, `dimension_`, then
    one column per counter."""
    counters = family.counters()
    if restrict is None and family.whole_sql is not None:
        sql, params = family.whole_sql()
        return sql, list(params), list(counters)
    qs = family.queryset()
    if restrict is not None:
        qs = restrict(qs, family.rep, family.day)
    qs = (
        qs.order_by()
        .annotate(dimension_=family.dimension())
        .values("dimension_", rep_=F(family.rep), day_=F(family.day))
        .annotate(**{name: counter.aggregate() for name, counter in counters.items()})
    )
    sql, params = qs.query.sql_with_params()
    return sql, list(params), list(counters)


def _rep_days(restrict: ScopeFilter | None, now) -> _Rows:
    """Every family's counters per (rep, day): the families' grouped rows stacked (null where
    another family counts a counter), then one row per (rep, day)."""
    qn = connection.ops.quote_name
    parts = [part for family in FAMILIES for part in _family_sql(family, restrict)]
    counters = [name for _sql, _params, names in parts for name in names]
    # Typed nulls: PostgreSQL resolves a UNION's column types branch by branch.
    nulls = {c: f"CAST(NULL AS {RepDay._meta.get_field(c).db_type(connection)})" for c in counters}
    branches, params = [], []
    for sql, family_params, names in parts:
        columns = ", ".join(
            f"{f'f.{qn(c)}' if c in names else nulls[c]} AS c{i}" for i, c in enumerate(counters)
        )
        branches.append(f"SELECT f.rep_ AS rep_, f.day_ AS day_, {columns} FROM ({sql}) AS f")
        params += family_params
    # A (rep, day) has at most one row per family and each counter one family: the one non-null
    # value (MAX is cheaper than SUM: no numeric state per group), else 0.
    values = ", ".join(f"COALESCE(MAX(u.c{i}), 0) AS {qn(c)}" for i, c in enumerate(counters))
    sql = (
        f"SELECT u.rep_ AS {qn('rep_id')}, u.day_ AS {qn('day')}, %s AS {qn('computed_at')}, "
        f"{values} FROM ({' UNION ALL '.join(branches)}) AS u GROUP BY u.rep_, u.day_"
    )
    return _Rows(
        RepDay._meta.db_table,
        ["rep_id", "day", "computed_at", *counters],
        ["rep_id", "day"],
        sql,
        [_computed_at(RepDay, now), *params],
    )


def _dimensions(restrict: ScopeFilter | None, now) -> _Rows:
    """Every dimension family's counters, one row per (rep, day, key, counter): each family's
    grouped rows are read once and crossed with its counter names."""
    qn = connection.ops.quote_name
    branches, params = [], []
    for family in DIMENSION_FAMILIES:
        sql, family_params, counters = _dimension_sql(family, restrict)
        names = " UNION ALL ".join(["SELECT %s AS counter_"] * len(counters))
        value = " ".join(f"WHEN %s THEN f.{qn(c)}" for c in counters)
        branches.append(
            f"SELECT f.rep_ AS {qn('rep_id')}, f.day_ AS {qn('day')}, "
            f"f.dimension_ AS {qn('dimension')}, n.counter_ AS {qn('counter')}, "
            f"CASE n.counter_ {value} END AS {qn('value')}, %s AS {qn('computed_at')} "
            f"FROM ({sql}) AS f CROSS JOIN ({names}) AS n"
        )
        params += [*counters, _computed_at(RepDayDimension, now), *family_params, *counters]
    return _Rows(
        RepDayDimension._meta.db_table,
        ["rep_id", "day", "dimension", "counter", "value", "computed_at"],
        ["rep_id", "day", "counter", "dimension"],
        " UNION ALL ".join(branches),
        params,
    )


def rollup_families(*, restrict: ScopeFilter, now) -> None:
    """Insert the counters of every family for the rows `restrict` keeps (call in a transaction,
    after deleting the stored rows of the same cells). Per-row definitions: few cells."""
    _insert(_rep_days(restrict, now))
    _insert(_dimensions(restrict, now))


def rollup_rebuild(*, now) -> None:
    """Replace every stored rollup row with the counters of all rows (a full run; call in a
    transaction). Whole-table definitions."""
    _replace(_rep_days(None, now))
    _replace(_dimensions(None, now))
