"""URLs of the KPI pages (namespace `kpis`)."""

from django.urls import path

from kpis.views import dashboard, records, scorecard, team

app_name = "kpis"

urlpatterns = [
    path("scorecard/", scorecard.scorecard, name="scorecard"),
    path("scorecard/records/", records.records, name="records"),
    path("team/", team.team, name="team"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
]
