"""Partial covering indexes on the activities table for two period-value families.

They belong to the KPI engine's reads (kpis/compute/periodic), hence here rather than in the
activities app's model state (Django does not track them; `makemigrations` stays quiet):

- calls made to a company, by local day (calls_per_customer reads owner and company per day
  range: an index-only range scan instead of a pass over every activity);
- completed activities on a lead, by lead and moment (lead_response_minutes' first answer per
  lead, and the answered leads of the daily counters: index-only).

Plain `CREATE INDEX … WHERE` runs on PostgreSQL and SQLite alike.
"""

from django.db import migrations

CALLS = (
    "CREATE INDEX IF NOT EXISTS kpis_activity_call_company_idx "
    "ON activities_activity (occurred_day, owner_id, company_id) "
    "WHERE status = 'completed' AND kind = 'call' AND direction = 'outbound' "
    "AND company_id IS NOT NULL"
)
LEAD_ANSWERS = (
    "CREATE INDEX IF NOT EXISTS kpis_activity_lead_answer_idx "
    "ON activities_activity (lead_id, occurred_at) "
    "WHERE status = 'completed' AND lead_id IS NOT NULL"
)


class Migration(migrations.Migration):
    dependencies = [
        ("kpis", "0012_dirty_cell_sources"),
        ("activities", "0005_activity_booking_day_idx"),
    ]

    operations = [
        migrations.RunSQL(CALLS, "DROP INDEX IF EXISTS kpis_activity_call_company_idx"),
        migrations.RunSQL(LEAD_ANSWERS, "DROP INDEX IF EXISTS kpis_activity_lead_answer_idx"),
    ]
