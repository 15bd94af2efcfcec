"""Bookings index: only booked rows, covering the booking counters (`kpis/compute/daily/`).

Replaces the (booked_by, booked_day) index over every activity, most of which are not bookings.
"""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("activities", "0004_activity_first_touch_idx"),
        ("pipeline", "0002_seed_stages_and_history_guard"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="activity",
            name="activity_booker_day_idx",
        ),
        migrations.AddIndex(
            model_name="activity",
            index=models.Index(
                condition=models.Q(("booked_by__isnull", False)),
                fields=["booked_by", "booked_day"],
                include=("kind", "status", "contact", "id"),
                name="activity_booking_day_idx",
            ),
        ),
    ]
