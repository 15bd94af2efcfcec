"""Per-period rollups: each rep's daily counters summed over every week, month, quarter and year.

`RepPeriod` / `RepPeriodDimension` hold, per (rep, period type, period start), the sums of the
rep's `RepDay` / `RepDayDimension` rows of that period, so that pages read one row per rep and
period instead of every day of it (the organisation dashboard: ~240 rows a month, not ~5 000).

They are derived data, written by the recompute in the transaction that writes the days:
- `period_rollups_replace(cells)`: after the days of some (rep, day) cells were replaced, the
  periods holding those days are summed again (set-based, three statements per table: delete
  them, sum weeks and months from the days through the (rep, day) index, then quarters and years
  from the months just written — 12 rows for a year instead of 365);
- `period_rollups_rebuild()`: after a full run, every period row, in the same order.
Either way a period row is exactly the sum of its stored days (integer and decimal sums, so
summing months gives the same as summing their days), and incremental == full.
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
# What each period type is summed from: days, or the month rows (exact sums either way).
_FROM_DAYS = (Period.WEEK, Period.MONTH)
_FROM_MONTHS = (Period.QUARTER, Period.YEAR)
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


def _keys(cells: QuerySet, periods: tuple[Period, ...]) -> tuple[str, list]:
    """SQL of the distinct (rep_, period_, period_start_, period_end_) of the periods of these
    types holding a cell's day."""
    branches, params = [], []
    for period in periods:
        affected = (
            cells.order_by()
            .annotate(period_start_=PeriodStart(period, "day"))
            .values(rep_=F("rep_id"), period_start_=F("period_start_"))
            .distinct()
        )
        sql, found = affected.query.sql_with_params()
        branches.append(
            f"SELECT a.rep_ AS rep_, %s AS period_, a.period_start_ AS period_start_, "
            f"{_period_end(period, 'a.period_start_')} AS period_end_ FROM ({sql}) AS a"
        )
        params += [period.value, *found]
    return " UNION ALL ".join(branches), params


def period_rollups_replace(cells: QuerySet) -> None:
    """Sum again the period rows of every (rep, period) holding a day of `cells` (a DirtyCell
    queryset), after those days' rollups were replaced; call in the same transaction. Three
    statements per table, whatever the number of cells."""
    qn = connection.ops.quote_name
    every, every_params = _keys(cells, tuple(Period))
    from_days, from_days_params = _keys(cells, _FROM_DAYS)
    from_months, from_months_params = _keys(cells, _FROM_MONTHS)
    with connection.cursor() as cursor:
        for day_model, period_model, group, sums in _TABLES:
            table = qn(period_model._meta.db_table)
            cursor.execute(
                f"DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM ({every}) AS k "
                f"WHERE k.rep_ = {table}.{qn('rep_id')} AND k.period_ = {table}.{qn('period')} "
                f"AND k.period_start_ = {table}.{qn('period_start')})",
                every_params,
            )
            grouped = "".join(f", d.{qn(c)}" for c in group)
            totals = f"MAX(d.{qn('computed_at')}), " + ", ".join(f"SUM(d.{qn(c)})" for c in sums)
            # Weeks and months from the days; then quarters and years from those months.
            for keys, params, source, day, only_months in (
                (from_days, from_days_params, day_model, "day", False),
                (from_months, from_months_params, period_model, "period_start", True),
            ):
                select = (
                    f"SELECT k.rep_, k.period_, k.period_start_{grouped}, {totals} "
                    f"FROM ({keys}) AS k JOIN {qn(source._meta.db_table)} AS d "
                    f"ON d.{qn('rep_id')} = k.rep_ "
                    + (f"AND d.{qn('period')} = %s " if only_months else "")
                    + f"AND d.{qn(day)} >= k.period_start_ AND d.{qn(day)} < k.period_end_ "
                    f"GROUP BY k.rep_, k.period_, k.period_start_{grouped}"
                )
                extra = [Period.MONTH.value] if only_months else []
                cursor.execute(_insert_sql(period_model, group, sums, select), params + extra)


def period_rollups_rebuild(*, tables: tuple = _TABLES) -> None:
    """Replace every period row with the sums of all stored days (a full run; call in its
    transaction, after the days were rebuilt): weeks and months from the days, then quarters and
    years from the months. `tables`: (day model, period model, grouped columns, summed columns)
    pairs — a migration passes its historical models and their columns."""
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        for day_model, period_model, group, sums in tables:
            cursor.execute(f"DELETE FROM {qn(period_model._meta.db_table)}")
            for period in (*_FROM_DAYS, *_FROM_MONTHS):
                if period in _FROM_DAYS:
                    source = day_model.objects.all()
                    day = "day"
                else:
                    source = period_model.objects.filter(period=Period.MONTH.value)
                    day = "period_start"
                rows = (
                    source.order_by()
                    .annotate(period_start_=PeriodStart(period, day))
                    .values("rep_id", "period_start_", *group)
                    .annotate(computed_at_=Max("computed_at"), **{f"{c}_": Sum(c) for c in sums})
                )
                sql, params = rows.query.sql_with_params()
                names = ["period_start_", *group, "computed_at_", *(f"{c}_" for c in sums)]
                columns = ", ".join([f"g.{qn('rep_id')}", "%s", *(f"g.{qn(c)}" for c in names)])
                select = f"SELECT {columns} FROM ({sql}) AS g"
                cursor.execute(
                    _insert_sql(period_model, group, sums, select), [period.value, *params]
                )
