"""How each KPI's period value is read from storage.

- `Sum`: Σ daily counters (optionally scaled) — additive KPIs.
- `Ratio`: Σ numerator counters / Σ denominator counters — a team's or the organisation's ratio is
  Σnum / Σden over its members, never a mean of ratios; None when Σden = 0.
- `Stored`: computed per period from the rows (medians, distinct counts, snapshots, churn) and
  stored in `KPIValue` by `kpis/compute/periodic/`.
"""

from __future__ import annotations

from dataclasses import dataclass

from kpis.registry import CODES, Period


@dataclass(frozen=True)
class Sum:
    counters: tuple[str, ...]
    scale: float = 1.0


@dataclass(frozen=True)
class Ratio:
    numerator: tuple[str, ...]
    denominator: tuple[str, ...]
    scale: float = 1.0
    # Counters come from RepDayDimension (keys like "stage:<slug>") instead of RepDay.
    dimensional: bool = False
    # Whether the plain value "" exists besides the dimension keys.
    plain: bool = True
    periods: frozenset[Period] = frozenset(Period)


@dataclass(frozen=True)
class Stored:
    pass


Formula = Sum | Ratio | Stored

_SECONDS_TO_MINUTES = 1 / 60
_ADDITIVE_SAME_NAME = (
    "calls_made",
    "calls_connected",
    "calls_over_3_min",
    "emails_sent",
    "emails_replied",
    "meetings_booked",
    "meetings_booked_decision_makers",
    "meetings_held",
    "meetings_held_physical",
    "meetings_held_digital",
    "meetings_new_contacts",
    "demos_booked",
    "demos_held",
    "demos_on_site",
    "lunches_new_contacts",
    "activities_total",
    "opportunities_created",
    "opportunities_created_new_business",
    "opportunities_created_upsell",
    "leads_unanswered",
    "stage_advances",
    "deals_won",
    "deals_lost",
    "revenue_won",
)

FORMULAS: dict[str, Formula] = {
    **{code: Sum((code,)) for code in _ADDITIVE_SAME_NAME},
    "talk_time_minutes": Sum(("talk_time_seconds",), _SECONDS_TO_MINUTES),
    "call_connect_rate": Ratio(("calls_connected",), ("calls_made",)),
    "email_reply_rate": Ratio(("emails_replied",), ("emails_sent",)),
    "email_click_rate": Ratio(("emails_clicked",), ("emails_sent",)),
    "avg_call_minutes": Ratio(("talk_time_seconds",), ("calls_connected",), _SECONDS_TO_MINUTES),
    "lead_conversion_rate": Ratio(("leads_converted",), ("leads_received",)),
    "win_rate": Ratio(("deals_won",), ("deals_won", "deals_lost")),
    "activities_per_won_deal": Ratio(("activities_total",), ("deals_won",)),
    "avg_deal_size": Ratio(("revenue_won",), ("deals_won",), dimensional=True),
    "stage_conversion": Ratio(
        ("stage_exits_forward",), ("stage_exits",), dimensional=True, plain=False
    ),
    # Costs are entered per month: defined for month, quarter and year, not weeks.
    "cost_to_revenue": Ratio(
        ("cost",), ("revenue_won",), periods=frozenset({Period.MONTH, Period.QUARTER, Period.YEAR})
    ),
    # Revenue won over the revenue target: the denominator is the target (kpis/targets.py).
    "quota_attainment": Ratio(("revenue_won",), ()),
    "calls_per_customer": Stored(),
    "lead_response_minutes": Stored(),
    "days_in_stage": Stored(),
    "open_opportunities": Stored(),
    "pipeline_value": Stored(),
    "sales_cycle_days": Stored(),
    "churn_rate": Stored(),
    "repeat_purchase_rate": Stored(),
}

assert set(FORMULAS) == set(CODES), set(CODES) ^ set(FORMULAS)
