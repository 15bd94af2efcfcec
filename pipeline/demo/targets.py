"""The demo's targets: per role and period, and a few reps of their own."""

from __future__ import annotations

import datetime as dt

from people.models import User

# ---------------------------------------------------------------------------------------------
# Targets: what the sales managers of the demo expect of each role, so scorecards show
# attainment, status and pace. Calibrated on the demo's own numbers (seed 1): each is near the
# median rep's, so some reps meet it, some are close and some are behind.
# ---------------------------------------------------------------------------------------------
DEMO_TARGETS: dict[str, dict[str, dict[str, str]]] = {  # role → period → KPI → value
    "sdr": {
        "month": {
            "calls_made": "215", "calls_over_3_min": "33", "emails_sent": "68",
            "meetings_booked": "9", "meetings_booked_decision_makers": "2", "demos_booked": "3",
            "opportunities_created": "3", "email_reply_rate": "0.09",
            "lead_conversion_rate": "0.20",
        },
        "week": {
            "calls_made": "52", "calls_over_3_min": "7", "emails_sent": "17",
            "meetings_booked": "2", "demos_booked": "1", "email_reply_rate": "0.10",
        },
    },
    "ae": {
        "month": {
            "calls_made": "56", "emails_sent": "52", "meetings_held_physical": "9",
            "meetings_held_digital": "15", "demos_on_site": "2", "activities_total": "145",
            "stage_advances": "6", "deals_won": "1", "revenue_won": "100000", "win_rate": "0.20",
        },
        "week": {
            "calls_made": "13", "emails_sent": "12", "meetings_held_physical": "2",
            "meetings_held_digital": "3", "activities_total": "35", "stage_advances": "2",
        },
    },
    "am": {
        "month": {
            "calls_made": "52", "emails_sent": "50", "meetings_held": "15",
            "meetings_new_contacts": "2", "lunches_new_contacts": "1",
            "opportunities_created_upsell": "2", "email_reply_rate": "0.30",
            "stage_advances": "11", "revenue_won": "500000",
        },
        "week": {
            "calls_made": "13", "emails_sent": "11", "meetings_held": "3",
            "email_reply_rate": "0.30", "stage_advances": "3",
        },
    },
}  # fmt: skip
# A few reps with targets of their own (an ambitious SDR, a senior AE, a new AM).
DEMO_REP_TARGETS: dict[str, dict[tuple[str, str], str]] = {
    "demo-sdr": {("calls_made", "month"): "240", ("meetings_booked", "month"): "10"},
    "demo-ae": {("revenue_won", "month"): "200000", ("calls_made", "week"): "14"},
    "demo-am": {("calls_made", "month"): "40", ("calls_made", "week"): "10"},
}


def seed_demo_targets(*, today: dt.date) -> int:
    """Role targets per month and week for the demo's role presets, and a few rep overrides,
    in force since well before the history starts (through the target service: validated and
    logged). Returns how many were set."""
    from kpis.target_services import target_set  # kpis reads pipeline models: import late

    valid_from = dt.date(today.year - 2, 1, 1)
    count = 0
    for role, periods in DEMO_TARGETS.items():
        for period, values in periods.items():
            for kpi, value in values.items():
                target_set(kpi=kpi, scope="role", role=role, period=period, value=value,
                           valid_from=valid_from, changed_by=None)  # fmt: skip
                count += 1
    reps = {u.username: u for u in User.objects.filter(username__in=DEMO_REP_TARGETS)}
    for username, values in DEMO_REP_TARGETS.items():
        if (rep := reps.get(username)) is None:
            continue
        for (kpi, period), value in values.items():
            target_set(kpi=kpi, scope="rep", rep=rep, period=period, value=value,
                       valid_from=valid_from, changed_by=None)  # fmt: skip
            count += 1
    return count
