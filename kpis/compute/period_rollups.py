"""Per-period rollups: each rep's daily counters summed over every week, month, quarter and year.

`RepPeriod` / `RepPeriodDimension` hold, per (rep, period type, period start), the sums of the
rep's `RepDay` / `RepDayDimension` rows of that period, so that pages read one row per rep and
period instead of every day of it (the organisation dashboard: ~240 rows a month, not ~5 000).

They are derived data, written by the recompute in the transaction that writes the days:
- `period_rollups_replace(cells)`: after the days of some (rep, day) cells were replaced, the
  periods holding those days are summed again (set-based: one DELETE and one INSERT … SELECT per
  table, each period's days read through the (rep, day) index);
- `period_rollups_rebuild()`: after a full run, every period row from all the days.
Either way a period row is exactly the sum of its stored days, so incremental == full.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import F, Max, QuerySet, Sum

from kpis.models import COUNTER_FIELDS, RepDay, RepDayDimension, RepPeriod, RepPeriodDimension
from kpis.registry import Period
from kpis.selectors import PeriodStart

# (day table, period table, the columns grouped on besides rep and period, the columns summed)
_TABLES = (
    (RepDay, RepPeriod, (), COUNTER_FIELDS),
    (RepDayDimension, RepPeriodDimension, ("counter", "dimension"), ("value",)),
)
_LENGTH = {Period.WEEK: "7 days", Period.MONTH: "1 month", Period.QUARTER: "3 months"}


def _period_end(period: Period, start: str) -> str:
    """SQL of the day after the period starting at the date column `start`."""
    length = _LENGTH.get(period, "1 year")
    if connection.vendor == "postgresql":
        return f"CAST({start} + INTERVAL '{length}' AS date)"
    return f"date({start}, '+{length.replace('days', 'day')}')"  # SQLite date modifiers


def _insert_sql(period_model, keys: tuple[str, ...], sums: tuple[str, ...], select: str) -> str:
    qn = connection.ops.quote_name
    columns = ("rep_id", "period", "period_start", *keys, "computed_at", *sums)
    return (
        f"INSERT INTO {qn(period_model._meta.db_table)} ({', '.join(qn(c) for c in columns)}) "
        f"{select}"
    )


def period_rollups_replace(cells: QuerySet) -> None:
    """Sum again the period rows of every (rep, period) holding a day of `cells` (a DirtyCell
    queryset), after those days' rollups were replaced; call in the same transaction. Two
    statements per table, whatever the number of cells."""
    qn = connection.ops.quote_name
    branches, key_params = [], []
    for period in Period:
        affected = (
            cells.order_by()
            .annotate(period_start_=PeriodStart(period, "day"))
            .values(rep_=F("rep_id"), period_start_=F("period_start_"))
            .distinct()
        )
        sql, params = affected.query.sql_with_params()
        branches.append(
            f"SELECT a.rep_ AS rep_, %s AS period_, a.period_start_ AS period_start_, "
            f"{_period_end(period, 'a.period_start_')} AS period_end_ FROM ({sql}) AS a"
        )
        key_params += [period.value, *params]
    # The (rep, period type, period start, period end) of every period row to sum again.
    keys = " UNION ALL ".join(branches)
    with connection.cursor() as cursor:
        for day_model, period_model, group, sums in _TABLES:
            table = qn(period_model._meta.db_table)
            cursor.execute(
                f"DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM ({keys}) AS k "
                f"WHERE k.rep_ = {table}.{qn('rep_id')} AND k.period_ = {table}.{qn('period')} "
                f"AND k.period_start_ = {table}.{qn('period_start')})",
                key_params,
            )
            grouped = "".join(f", d.{qn(c)}" for c in group)
            select = (
                f"SELECT k.rep_, k.period_, k.period_start_{grouped}, "
                f"MAX(d.{qn('computed_at')}), "
                + ", ".join(f"SUM(d.{qn(c)})" for c in sums)
                + f" FROM ({keys}) AS k JOIN {qn(day_model._meta.db_table)} AS d "
                f"ON d.{qn('rep_id')} = k.rep_ AND d.{qn('day')} >= k.period_start_ "
                f"AND d.{qn('day')} < k.period_end_ "
                f"GROUP BY k.rep_, k.period_, k.period_start_{grouped}"
            )
            cursor.execute(_insert_sql(period_model, group, sums, select), key_params)


def period_rollups_rebuild() -> None:
    """Replace every period row with the sums of all stored days (a full run; call in its
    transaction, after the days were rebuilt)."""
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        for day_model, period_model, keys, sums in _TABLES:
            cursor.execute(f"DELETE FROM {qn(period_model._meta.db_table)}")
            for period in Period:
                grouped = (
                    day_model.objects.order_by()
                    .annotate(period_start_=PeriodStart(period, "day"))
                    .values("rep_id", "period_start_", *keys)
                    .annotate(computed_at_=Max("computed_at"), **{f"{c}_": Sum(c) for c in sums})
                )
                sql, params = grouped.query.sql_with_params()
                names = ["rep_id", "period_start_", *keys, "computed_at_", *(f"{c}_" for c in sums)]
                columns = ", ".join([f"g.{qn(names[0])}", "%s", *(f"g.{qn(c)}" for c in names[1:])])
                select = f"SELECT {columns} FROM ({sql}) AS g"
                cursor.execute(
                    _insert_sql(period_model, keys, sums, select), [period.value, *params]
                )
