"""PostgreSQL: the rollup tables get fillfactor 45 (`kpis/compute/daily/rollup.py`, `_replace`).

A full run rewrites every rollup row (~300 000 at 200 reps). With free room on each page it
updates a kept row in place — a HOT update, no new index entries — instead of deleting and
inserting it (an entry in each index per row, and a dead one). Pages already full take the
layout as their rows are rewritten. SQLite has no such setting: nothing to do.
"""

from django.db import migrations

ROLLUP_TABLES = ("kpis_repday", "kpis_repdaydimension")


def set_fillfactor(value: int | None):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        option = f"SET (fillfactor = {value})" if value else "RESET (fillfactor)"
        for table in ROLLUP_TABLES:
            schema_editor.execute(f"ALTER TABLE {schema_editor.quote_name(table)} {option}")

    return apply


class Migration(migrations.Migration):
    dependencies = [("kpis", "0010_rollup_rep_without_db_constraint")]

    operations = [migrations.RunPython(set_fillfactor(45), set_fillfactor(None))]
