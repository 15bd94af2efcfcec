"""Seed the role presets (default scorecards) from the KPI registry, in registry order.

`order` goes in steps of 10 so a manager can slot a KPI in between without renumbering.
Reversing deletes exactly the (role, KPI) rows this migration seeds.
"""

from django.db import migrations

ROLES = ("sdr", "ae", "am")
ORDER_STEP = 10


def _presets():
    from kpis.registry import role_preset

    for role in ROLES:
        for index, kpi in enumerate(role_preset(role), start=1):
            yield role, kpi.code, index * ORDER_STEP


def seed_role_presets(apps, schema_editor):
    RolePreset = apps.get_model("kpis", "RolePreset")
    RolePreset.objects.bulk_create(
        [RolePreset(role=role, kpi=code, order=order) for role, code, order in _presets()],
        ignore_conflicts=True,
    )


def delete_role_presets(apps, schema_editor):
    RolePreset = apps.get_model("kpis", "RolePreset")
    for role in ROLES:
        codes = [code for r, code, _ in _presets() if r == role]
        RolePreset.objects.filter(role=role, kpi__in=codes).delete()


class Migration(migrations.Migration):
    # Follows the latest kpis migration so the graph has a single leaf.
    dependencies = [("kpis", "0005_counter_db_defaults")]

    operations = [migrations.RunPython(seed_role_presets, delete_role_presets)]
