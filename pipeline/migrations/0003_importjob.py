"""The import jobs of the admin's "Import data" page; managers may use it."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import pipeline.models_imports

CODENAMES = ["view_importjob", "add_importjob"]


def grant(apps, schema_editor):
    """Managers import data for their teams (the admin's "Import data" page)."""
    from django.contrib.auth.management import create_permissions

    app_config = apps.get_app_config("pipeline")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Managers")
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="pipeline", codename__in=CODENAMES)
    )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name="Managers").first()
    if group is not None:
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="pipeline", codename__in=CODENAMES)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("pipeline", "0002_seed_stages_and_history_guard"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("people", "0002_managers_group"),
    ]

    operations = [
        migrations.CreateModel(
            name="ImportJob",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("companies", "Companies"),
                            ("contacts", "Contacts"),
                            ("leads", "Leads"),
                            ("opportunities", "Opportunities"),
                            ("stage-history", "Stage history"),
                            ("activities", "Activities"),
                            ("rep-costs", "Rep costs"),
                            ("targets", "Targets (budget)"),
                        ],
                        max_length=20,
                        verbose_name="kind",
                    ),
                ),
                (
                    "file",
                    models.FileField(
                        storage=pipeline.models_imports.ImportFileStorage(),
                        upload_to="%Y/%m/",
                        verbose_name="file",
                    ),
                ),
                ("original_name", models.CharField(max_length=255, verbose_name="file name")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("checking", "Checking"),
                            ("checked", "Checked (dry run)"),
                            ("queued", "Queued"),
                            ("running", "Importing"),
                            ("committed", "Imported"),
                            ("rejected", "Rejected"),
                            ("failed", "Failed"),
                        ],
                        default="checking",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                ("progress", models.FloatField(default=0.0, verbose_name="progress")),
                ("rows_done", models.PositiveIntegerField(default=0, verbose_name="rows read")),
                (
                    "dry_run_report",
                    models.JSONField(blank=True, null=True, verbose_name="dry-run report"),
                ),
                ("report", models.JSONField(blank=True, null=True, verbose_name="import report")),
                (
                    "created_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="uploaded at"
                    ),
                ),
                (
                    "finished_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="finished at"),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="import_jobs",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="uploaded by",
                    ),
                ),
            ],
            options={
                "verbose_name": "import",
                "verbose_name_plural": "imports",
                "ordering": ["-created_at", "-id"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            (
                                "status__in",
                                [
                                    "checking",
                                    "checked",
                                    "queued",
                                    "running",
                                    "committed",
                                    "rejected",
                                    "failed",
                                ],
                            )
                        ),
                        name="importjob_status_valid",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("progress__gte", 0), ("progress__lte", 1)),
                        name="importjob_progress_0_1",
                    ),
                ],
            },
        ),
        migrations.RunPython(grant, revoke),
    ]
