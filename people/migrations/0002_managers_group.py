"""Create the `Managers` group with the model permissions a sales manager needs in the admin."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

MANAGER_PERMISSIONS = {
    "people": {"team": ["view", "change"], "user": ["view"]},
    "pipeline": {
        "company": ["view", "add", "change"],
        "contact": ["view", "add", "change"],
        "lead": ["view", "add", "change"],
        "stage": ["view", "add", "change"],
        "opportunity": ["view", "add", "change"],
        "stagechange": ["view"],
        "repcost": ["view", "add", "change", "delete"],
    },
    "activities": {"activity": ["view", "add", "change", "delete"]},
    "kpis": {"dirtycell": ["view"]},
}


def create_group(apps, schema_editor):
    # Permissions are normally created after migrate; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Managers")
    codenames = [
        f"{action}_{model}"
        for models in MANAGER_PERMISSIONS.values()
        for model, actions in models.items()
        for action in actions
    ]
    group.permissions.set(
        Permission.objects.filter(
            content_type__app_label__in=list(MANAGER_PERMISSIONS), codename__in=codenames
        )
    )


def delete_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Managers").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0001_initial"),
        ("pipeline", "0002_seed_stages_and_history_guard"),
        ("activities", "0002_initial"),
        ("kpis", "0002_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, delete_group)]
