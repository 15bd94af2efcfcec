"""Dirty cells remember what the writes changed (`kpis.models.Source` bits), so an incremental
run recomputes only the period-value families those writes can move. Existing cells (and rows
inserted without the column) are `ALL`."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("kpis", "0011_rollup_fillfactor"),
    ]

    operations = [
        migrations.AddField(
            model_name="dirtycell",
            name="sources",
            field=models.PositiveSmallIntegerField(
                db_default=15, default=15, verbose_name="sources"
            ),
        ),
    ]
