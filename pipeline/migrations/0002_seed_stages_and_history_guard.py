"""Seed the default sales stages and guard stage history at the database level (PostgreSQL)."""

from django.db import migrations

STAGES = [
    ("qualification", "Qualification", 10, "open"),
    ("meeting", "Meeting", 20, "open"),
    ("proposal", "Proposal", 30, "open"),
    ("negotiation", "Negotiation", 40, "open"),
    ("won", "Won", 90, "won"),
    ("lost", "Lost", 99, "lost"),
]

# Row-level trigger: UPDATE and DELETE of history raise. (TRUNCATE, used by test flushes, is not
# a row operation and stays possible for the database owner.)
PG_GUARD = """
CREATE OR REPLACE FUNCTION pipeline_stagechange_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'Stage history is append-only (% on pipeline_stagechange)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER pipeline_stagechange_append_only
    BEFORE UPDATE OR DELETE ON pipeline_stagechange
    FOR EACH ROW EXECUTE FUNCTION pipeline_stagechange_append_only();
"""
PG_UNGUARD = """
DROP TRIGGER IF EXISTS pipeline_stagechange_append_only ON pipeline_stagechange;
DROP FUNCTION IF EXISTS pipeline_stagechange_append_only();
"""


def seed_stages(apps, schema_editor):
    Stage = apps.get_model("pipeline", "Stage")
    for slug, name, order, outcome in STAGES:
        Stage.objects.update_or_create(
            slug=slug, defaults={"name": name, "order": order, "outcome": outcome}
        )


def guard_history(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # params=None: no client-side interpolation, so the `%` of RAISE EXCEPTION stays literal.
        schema_editor.execute(PG_GUARD, params=None)


def unguard_history(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_UNGUARD)


class Migration(migrations.Migration):
    dependencies = [("pipeline", "0001_initial")]

    operations = [
        migrations.RunPython(seed_stages, migrations.RunPython.noop),
        migrations.RunPython(guard_history, unguard_history),
    ]
