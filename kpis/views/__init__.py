"""The KPI pages: the personal scorecard, the team comparison and the manager dashboard."""
