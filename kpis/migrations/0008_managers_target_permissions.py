"""Give the Managers group what it needs to set targets and role presets."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CODENAMES = [
    "view_target",
    "add_target",
    "change_target",
    "delete_target",
    "view_targetchange",
    "view_rolepreset",
    "add_rolepreset",
    "change_rolepreset",
    "delete_rolepreset",
]


def grant(apps, schema_editor):
    app_config = apps.get_app_config("kpis")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Managers")
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="kpis", codename__in=CODENAMES)
    )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name="Managers").first()
    if group is not None:
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="kpis", codename__in=CODENAMES)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("kpis", "0007_target_scope_message"),
        ("people", "0002_managers_group"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
