"""The KPI registry: one declaration per KPI code of `shared/KPIS.md`.

Pages, the API, admin, exports and targets iterate this registry. Codes are the public contract and
are never renamed. How each KPI is computed lives in `kpis/compute/`; `source` names the family.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class Category(StrEnum):
    ACTIVITY = "activity"
    EFFICIENCY = "efficiency"
    PROGRESS = "progress"
    RESULT = "result"


class Kind(StrEnum):
    LEADING = "leading"
    LAGGING = "lagging"


class Unit(StrEnum):
    COUNT = "count"
    RATIO = "ratio"
    MONEY = "money"
    MINUTES = "minutes"
    DAYS = "days"


class Direction(StrEnum):
    UP = "up"
    DOWN = "down"


class Period(StrEnum):
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


class Role(StrEnum):
    SDR = "sdr"
    AE = "ae"
    AM = "am"


CATEGORY_KIND = {
    Category.ACTIVITY: Kind.LEADING,
    Category.EFFICIENCY: Kind.LEADING,
    Category.PROGRESS: Kind.LEADING,
    Category.RESULT: Kind.LAGGING,
}


@dataclass(frozen=True)
class KPI:
    code: str
    name: Promise
    help_text: Promise
    category: Category
    unit: Unit
    direction: Direction = Direction.UP
    # Additive: the period value is the sum of the daily values (pace applies; a team's target is
    # the sum of its members' targets).
    additive: bool = False
    # Dimension families besides the plain value "" (e.g. "stage", "lead_source").
    dimensions: tuple[str, ...] = ()
    roles: frozenset[Role] = field(default_factory=frozenset)

    @property
    def kind(self) -> Kind:
        return CATEGORY_KIND[self.category]

    @property
    def is_ratio(self) -> bool:
        return self.unit == Unit.RATIO


_A, _E, _P, _R = Category.ACTIVITY, Category.EFFICIENCY, Category.PROGRESS, Category.RESULT
_SDR, _AE, _AM = Role.SDR, Role.AE, Role.AM
_DOWN = Direction.DOWN


def _k(code, name, help_text, category, unit, *, roles=(), **kwargs) -> KPI:
    return KPI(code, name, help_text, category, unit, roles=frozenset(roles), **kwargs)


KPIS: tuple[KPI, ...] = (
    # --- Leading: activity -------------------------------------------------------------------
    _k("calls_made", _("Calls made"), _("Completed outbound calls."), _A, Unit.COUNT,
       additive=True, roles=(_SDR, _AE, _AM)),
    _k("calls_connected", _("Calls connected"), _("Calls made that reached someone."), _A,
       Unit.COUNT, additive=True),
    _k("calls_over_3_min", _("Quality calls"),
       _("Connected calls lasting at least the quality threshold (3 minutes)."), _A, Unit.COUNT,
       additive=True, roles=(_SDR,)),
    _k("talk_time_minutes", _("Talk time"), _("Total duration of calls made, in minutes."), _A,
       Unit.MINUTES, additive=True),
    _k("emails_sent", _("Emails sent"), _("Completed outbound emails."), _A, Unit.COUNT,
       additive=True, roles=(_SDR, _AE, _AM)),
    _k("emails_replied", _("Emails replied"),
       _("Emails sent that received a reply, counted when the email was sent."), _A, Unit.COUNT,
       additive=True),
    _k("meetings_booked", _("Meetings booked"),
       _("Meetings booked by the rep for anyone, when booked, unless cancelled."), _A, Unit.COUNT,
       additive=True, roles=(_SDR,)),
    _k("meetings_booked_decision_makers", _("Meetings booked with decision makers"),
       _("Meetings booked whose contact is a C-level or budget holder."), _A, Unit.COUNT,
       additive=True, roles=(_SDR,)),
    _k("meetings_held", _("Meetings held"), _("Completed meetings."), _A, Unit.COUNT,
       additive=True, roles=(_AM,)),
    _k("meetings_held_physical", _("Meetings held in person"), _("Completed in-person meetings."),
       _A, Unit.COUNT, additive=True, roles=(_AE,)),
    _k("meetings_held_digital", _("Meetings held remotely"), _("Completed remote meetings."), _A,
       Unit.COUNT, additive=True, roles=(_AE,)),
    _k("meetings_new_contacts", _("Meetings with new contacts"),
       _("Completed meetings that were the contact's first meeting, demo or lunch with us."), _A,
       Unit.COUNT, additive=True, roles=(_AM,)),
    _k("demos_booked", _("Demos booked"),
       _("Demos or evaluations booked by the rep, when booked, unless cancelled."), _A,
       Unit.COUNT, additive=True, roles=(_SDR,)),
    _k("demos_held", _("Demos held"), _("Completed demos."), _A, Unit.COUNT, additive=True),
    _k("demos_on_site", _("Demos on site"),
       _("Completed demos held in person at the customer's site."), _A, Unit.COUNT,
       additive=True, roles=(_AE,)),
    _k("lunches_new_contacts", _("Lunches with new contacts"),
       _("Completed lunches that were the contact's first meeting, demo or lunch with us."), _A,
       Unit.COUNT, additive=True, roles=(_AM,)),
    _k("activities_total", _("Activities"),
       _("Completed calls, emails, meetings, demos and lunches, any direction."), _A, Unit.COUNT,
       additive=True, roles=(_AE,)),
    _k("opportunities_created", _("Opportunities created"),
       _("Opportunities created by the rep."), _A, Unit.COUNT, additive=True, roles=(_SDR,)),
    _k("opportunities_created_new_business", _("New-business opportunities created"),
       _("Opportunities created by the rep for new customers."), _A, Unit.COUNT, additive=True),
    _k("opportunities_created_upsell", _("Upsell opportunities created"),
       _("Opportunities created by the rep to upgrade or expand an existing customer."), _A,
       Unit.COUNT, additive=True, roles=(_AM,)),
    # --- Leading: efficiency -----------------------------------------------------------------
    _k("call_connect_rate", _("Call connect rate"), _("Calls connected / calls made."), _E,
       Unit.RATIO),
    _k("email_reply_rate", _("Email reply rate"), _("Emails replied / emails sent."), _E,
       Unit.RATIO, roles=(_SDR, _AM)),
    _k("email_click_rate", _("Email click rate"),
       _("Emails sent whose link was clicked / emails sent."), _E, Unit.RATIO),
    _k("calls_per_customer", _("Calls per customer"),
       _("Calls linked to a company / distinct companies called."), _E, Unit.COUNT,
       roles=(_AE,)),
    _k("avg_call_minutes", _("Average call length"),
       _("Talk time / calls connected, in minutes."), _E, Unit.MINUTES),
    _k("lead_response_minutes", _("Lead response time"),
       _("Median minutes from a lead's arrival to its first completed activity."), _E,
       Unit.MINUTES, direction=_DOWN, roles=(_SDR,)),
    _k("leads_unanswered", _("Unanswered leads"),
       _("Leads received in the period with no completed activity yet."), _E, Unit.COUNT,
       direction=_DOWN, additive=True),
    _k("lead_conversion_rate", _("Lead conversion rate"),
       _("Leads received in the period that have an opportunity / those leads."), _E,
       Unit.RATIO, roles=(_SDR,)),
    # --- Leading: progress -------------------------------------------------------------------
    _k("stage_advances", _("Stage advances"),
       _("Forward stage moves (to a later open stage or to won)."), _P, Unit.COUNT,
       additive=True, roles=(_AE, _AM)),
    _k("stage_conversion", _("Stage conversion"),
       _("Of the entries into a stage in the period that have since been exited, the share "
         "exited forward."), _P, Unit.RATIO, dimensions=("stage",)),
    _k("days_in_stage", _("Days in stage"),
       _("Median days between entering and leaving a stage, over exits in the period."), _P,
       Unit.DAYS, direction=_DOWN, dimensions=("stage",)),
    _k("open_opportunities", _("Open opportunities"),
       _("Opportunities owned and open at the end of the period (now, for the current one)."),
       _P, Unit.COUNT, roles=(_AE,)),
    _k("pipeline_value", _("Pipeline value"),
       _("Total amount of the open opportunities at the end of the period."), _P, Unit.MONEY),
    # --- Lagging: result ---------------------------------------------------------------------
    _k("deals_won", _("Deals won"), _("Opportunities owned and closed won."), _R, Unit.COUNT,
       additive=True, roles=(_AE,)),
    _k("deals_lost", _("Deals lost"), _("Opportunities owned and closed lost."), _R, Unit.COUNT,
       direction=_DOWN, additive=True),
    _k("revenue_won", _("Revenue won"), _("Total amount of the deals won."), _R, Unit.MONEY,
       additive=True, roles=(_AE, _AM)),
    _k("avg_deal_size", _("Average deal size"), _("Revenue won / deals won."), _R, Unit.MONEY,
       dimensions=("lead_source", "customer_type", "channel"), roles=(_AE,)),
    _k("win_rate", _("Win rate"), _("Deals won / (deals won + deals lost)."), _R, Unit.RATIO,
       roles=(_AE,)),
    _k("sales_cycle_days", _("Sales cycle"),
       _("Median days from creation to close over the deals won."), _R, Unit.DAYS,
       direction=_DOWN, roles=(_AE,)),
    _k("activities_per_won_deal", _("Activities per won deal"),
       _("Activities / deals won."), _R, Unit.COUNT, direction=_DOWN),
    _k("quota_attainment", _("Quota attainment"),
       _("Revenue won / the revenue target for the period."), _R, Unit.RATIO, roles=(_AE,)),
    _k("cost_to_revenue", _("Cost to revenue"),
       _("The rep's cost for the period (salary, bonus, other) / revenue won."), _R, Unit.RATIO,
       direction=_DOWN),
    _k("churn_rate", _("Churn rate"),
       _("Of the customers active at period start, the share not active at period end."), _R,
       Unit.RATIO, direction=_DOWN, roles=(_AM,)),
    _k("repeat_purchase_rate", _("Repeat purchase rate"),
       _("Customers with two or more purchases in the last 365 days / customers with one."), _R,
       Unit.RATIO, roles=(_AM,)),
)  # fmt: skip

REGISTRY: dict[str, KPI] = {kpi.code: kpi for kpi in KPIS}
CODES: tuple[str, ...] = tuple(REGISTRY)


def kpi(code: str) -> KPI:
    """The KPI declared under `code`; KeyError names unknown codes."""
    try:
        return REGISTRY[code]
    except KeyError:
        raise KeyError(f"Unknown KPI code {code!r}") from None


def role_preset(role: str) -> tuple[KPI, ...]:
    """The default scorecard of a sales role, in registry order (KPIS.md's role presets)."""
    return tuple(k for k in KPIS if role in k.roles)
