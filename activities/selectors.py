"""Reads of activities for pages: My day, My week, an activity and its history."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from activities.models import Activity, ActivityChange
from kpis.compute.daily import COUNTER_FAMILY, Family
from kpis.formulas import FORMULAS
from kpis.formulas import Sum as SumFormula
from kpis.models import RolePreset
from kpis.periods import PeriodRange, period_containing
from kpis.registry import REGISTRY, Period
from kpis.targets import pace, targets_for_reps
from kpis.workdays import working_days_in_period
from pipeline.querysets import visible_owner_q
from pipeline.selectors import acts_for

if TYPE_CHECKING:
    from people.models import User


@dataclass(frozen=True)
class KindCount:
    kind: str
    label: str
    count: int


def activity_counts_today(*, rep: User) -> list[KindCount]:
    """The rep's completed activities today (site time), per kind, in one query."""
    today = timezone.localdate()
    totals = Activity.objects.filter(owner=rep, occurred_day=today, status="completed").aggregate(
        **{kind: Count("id", filter=Q(kind=kind)) for kind in Activity.Kind.values}
    )
    return [KindCount(kind, str(label), totals[kind]) for kind, label in Activity.Kind.choices]


# ---------------------------------------------------------------------------
# Live counters against the rep's targets
# ---------------------------------------------------------------------------
# Shown when the rep's role has no preset with a KPI counted here (managers, an emptied preset).
DEFAULT_COUNTER_CODES = ("calls_made", "emails_sent", "meetings_booked", "meetings_held")
# The families whose rows a rep writes from these pages: their counters are counted live.
LIVE_FAMILIES = frozenset({"activities", "bookings"})


@cache
def live_codes() -> frozenset[str]:
    """Additive KPIs summed from activity and booking counters only."""
    return frozenset(
        code
        for code, formula in FORMULAS.items()
        if isinstance(formula, SumFormula)
        and all(COUNTER_FAMILY[c].name in LIVE_FAMILIES for c in formula.counters)
    )


def counter_codes(*, rep: User) -> list[str]:
    """The activity KPIs of the rep's role preset (in its order), else the defaults; one query."""
    preset = RolePreset.objects.filter(role=rep.role).order_by("order", "kpi")
    codes = [code for code in preset.values_list("kpi", flat=True) if code in live_codes()]
    return codes or list(DEFAULT_COUNTER_CODES)


def live_values(*, rep: User, codes: list[str], start: dt.date, end: dt.date) -> dict[str, float]:
    """The rep's values of additive activity KPIs over local days `[start, end)`, counted from the
    rows with the exact conditions of the KPI engine (no wait for a recompute); one query per
    family (activities, bookings)."""
    counters: dict[str, tuple[Family, dict[str, Any]]] = {}
    for code in codes:
        for name in FORMULAS[code].counters:
            family = COUNTER_FAMILY[name]
            counters.setdefault(family.name, (family, {}))[1][name] = family.counters()[name]
    totals: dict[str, float] = {}
    for family, wanted in counters.values():
        row = (
            family.queryset()
            .filter(**{family.rep: rep.pk, f"{family.day}__gte": start, f"{family.day}__lt": end})
            .aggregate(**{name: counter.aggregate() for name, counter in wanted.items()})
        )
        totals.update({name: float(value or 0) for name, value in row.items()})
    return {
        code: sum(totals[c] for c in FORMULAS[code].counters) * FORMULAS[code].scale
        for code in codes
    }


@dataclass(frozen=True)
class PaceCounter:
    code: str
    label: str
    unit: str
    value: float
    # The target for the span shown (a day or a week); None without a target.
    target: Decimal | None
    # Week view: the share of the week's target due by today (working days); None without one.
    expected: Decimal | None = None

    @property
    def on_pace(self) -> bool | None:
        bar = self.expected if self.expected is not None else self.target
        if bar is None:
            return None
        if REGISTRY[self.code].direction == "down":
            return Decimal(str(self.value)) <= bar
        return Decimal(str(self.value)) >= bar


def _per_working_day(*, rep: User, codes: list[str], today: dt.date) -> dict[str, Decimal | None]:
    """Each KPI's target per working day: the rep's week target / the week's working days, else
    the month target / the month's working days (KPIS.md targets); two queries."""
    result: dict[str, Decimal | None] = dict.fromkeys(codes)
    for period in (Period.MONTH, Period.WEEK):  # The week's target, when set, wins.
        current = period_containing(period, today)
        working = working_days_in_period(period=current)
        targets = targets_for_reps(
            reps=[rep], codes=codes, period=period, period_starts=[current.start]
        )
        for code in codes:
            target = targets[(rep.pk, code, current.start)]
            if target is not None and working:
                result[code] = target / working
    return result


def day_counters(*, rep: User, today: dt.date) -> list[PaceCounter]:
    """Today's live values of the rep's activity KPIs against their daily pace."""
    codes = counter_codes(rep=rep)
    values = live_values(rep=rep, codes=codes, start=today, end=today + dt.timedelta(days=1))
    daily = _per_working_day(rep=rep, codes=codes, today=today)
    return [
        PaceCounter(code, str(REGISTRY[code].name), REGISTRY[code].unit, values[code], daily[code])
        for code in codes
    ]


def week_counters(*, rep: User, week: PeriodRange, today: dt.date) -> list[PaceCounter]:
    """This week's live values against the week's target and the share of it due by today."""
    codes = counter_codes(rep=rep)
    values = live_values(rep=rep, codes=codes, start=week.start, end=week.end)
    daily = _per_working_day(rep=rep, codes=codes, today=today)
    working = working_days_in_period(period=week)
    counters = []
    for code in codes:
        target = daily[code] * working if daily[code] is not None else None
        expected = pace(code=code, value=values[code], target=target, period=week, today=today)
        counters.append(
            PaceCounter(
                code,
                str(REGISTRY[code].name),
                REGISTRY[code].unit,
                values[code],
                target,
                expected.expected_to_date if expected is not None else None,
            )
        )
    return counters


# ---------------------------------------------------------------------------
# My day, my week
# ---------------------------------------------------------------------------
LIST_RELATED = ("owner", "booked_by", "company", "contact", "lead", "opportunity")


def _rows() -> Any:
    return Activity.objects.select_related(*LIST_RELATED)


@dataclass(frozen=True)
class MyDay:
    today: dt.date
    counters: list[PaceCounter]
    counts: list[KindCount]
    due: list[Activity]
    done: list[Activity]


def my_day(*, rep: User, today: dt.date) -> MyDay:
    """Today's counters, the planned activities due (today and overdue, oldest first) and what the
    rep did today; a constant number of queries."""
    due = list(
        _rows()
        .filter(owner=rep, status=Activity.Status.PLANNED, occurred_day__lte=today)
        .order_by("occurred_at", "pk")[:50]
    )
    done = list(
        _rows()
        .filter(owner=rep, occurred_day=today)
        .exclude(status=Activity.Status.PLANNED)
        .order_by("-occurred_at", "-pk")
    )
    return MyDay(
        today,
        day_counters(rep=rep, today=today),
        activity_counts_today(rep=rep),
        due,
        done,
    )


@dataclass(frozen=True)
class WeekDay:
    day: dt.date
    activities: list[Activity]


@dataclass(frozen=True)
class MyWeek:
    week: PeriodRange
    counters: list[PaceCounter]
    days: list[WeekDay]
    booked_for_others: list[Activity]


def my_week(*, rep: User, today: dt.date) -> MyWeek:
    """This ISO week: counters against the week's target, the rep's activities day by day
    (planned ones included) and the meetings the rep booked for others this week."""
    week = period_containing(Period.WEEK, today)
    by_day: dict[dt.date, list[Activity]] = defaultdict(list)
    rows = (
        _rows()
        .filter(owner=rep, occurred_day__gte=week.start, occurred_day__lt=week.end)
        .order_by("occurred_at", "pk")
    )
    for activity in rows:
        by_day[activity.occurred_day].append(activity)
    booked = list(
        _rows()
        .filter(booked_by=rep, booked_day__gte=week.start, booked_day__lt=week.end)
        .exclude(owner=rep)
        .order_by("occurred_at", "pk")
    )
    return MyWeek(
        week,
        week_counters(rep=rep, week=week, today=today),
        [WeekDay(day, by_day[day]) for day in week.days()],
        booked,
    )


# ---------------------------------------------------------------------------
# One activity: access and history
# ---------------------------------------------------------------------------
def activity_for_user(*, user: User, pk: int) -> Activity | None:
    """An activity within the user's reading scope: owned or booked by someone of their team (a
    manager's: the teams they manage). None (a 404) for another team's."""
    scope = Q() if user.is_superuser else visible_owner_q(user) | visible_owner_q(user, "booked_by")
    return (
        Activity.objects.filter(scope)
        .select_related("owner__team", *LIST_RELATED[1:])
        .filter(pk=pk)
        .first()
    )


def may_edit_activity(user: User, activity: Activity) -> bool:
    """Its owner, whoever booked it, the manager of the owner's team, a superuser."""
    return acts_for(user, activity.owner) or activity.booked_by_id == user.pk


@dataclass(frozen=True)
class ChangeLine:
    label: str
    before: Any
    after: Any


@dataclass(frozen=True)
class HistoryEntry:
    change: ActivityChange
    lines: list[ChangeLine]


def activity_history(*, activity_id: int) -> list[HistoryEntry]:
    """The recorded changes of an activity, newest first, ready to show; one query."""
    changes = ActivityChange.objects.filter(activity_id_ref=activity_id).select_related(
        "changed_by"
    )
    entries = []
    for change in changes:
        before, after = change.before or {}, change.after or {}
        fields = [f for f in _FIELD_ORDER if f in before or f in after]
        entries.append(
            HistoryEntry(
                change,
                [
                    ChangeLine(
                        _field_label(f), _display(f, before.get(f)), _display(f, after.get(f))
                    )
                    for f in fields
                ],
            )
        )
    return entries


_FIELD_ORDER = (
    "kind",
    "status",
    "occurred_at",
    "owner",
    "booked_by",
    "booked_at",
    "direction",
    "outcome",
    "duration_seconds",
    "replied",
    "clicked",
    "mode",
    "company",
    "contact",
    "lead",
    "opportunity",
    "subject",
    "notes",
    "external_id",
)


def _field_label(field: str) -> str:
    if field == "duration_seconds":
        return str(_("duration"))
    return str(Activity._meta.get_field(field).verbose_name)


def _display(field: str, value: Any) -> Any:
    """A stored history value as the page shows it (None shows as a dash)."""
    if value in (None, ""):
        return None
    model_field = Activity._meta.get_field(field)
    if isinstance(value, dict):
        return value.get("label")
    if model_field.choices:
        return dict(model_field.flatchoices).get(value, value)
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if field == "duration_seconds":
        return format_duration(value)
    if field in ("occurred_at", "booked_at"):
        return parse_datetime(value) or value
    return value


def format_duration(seconds: int | float | None) -> str:
    """Seconds as m:ss (h:mm:ss from an hour); empty for None."""
    if seconds is None:
        return ""
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"
