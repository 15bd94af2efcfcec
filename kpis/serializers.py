"""API input and output of the KPI app: targets, the registry, values, scorecards, runs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from kpis.models import Target
from kpis.models.targets import KPI_CHOICES, PERIOD_CHOICES, ROLE_CHOICES
from kpis.registry import REGISTRY, Category, Direction, Kind, Unit
from kpis.targets import Status as TargetStatus
from people.models import Team, User
from saljsite.api import MAX_ID, IdField, ServiceSerializer


class TargetSerializer(ServiceSerializer):
    rep = IdField(
        model=User,
        required=False,
        allow_null=True,
        help_text="Id of the rep (scope `rep` only; null otherwise).",
    )
    team = IdField(
        model=Team,
        required=False,
        allow_null=True,
        help_text="Id of the team (scope `team` only; null otherwise).",
    )

    class Meta:
        model = Target
        fields = [
            "id",
            "kpi",
            "scope",
            "rep",
            "team",
            "role",
            "period",
            "value",
            "valid_from",
            "valid_to",
            "updated_at",
        ]
        read_only_fields = ["updated_at"]
        descriptions = {
            "id": "Target id.",
            "kpi": "KPI code (see KPIS.md and /kpis/).",
            "scope": "Whom the target is for: one rep, a team, a role, or everyone (all). The "
            "most specific wins: rep > team > role > all.",
            "role": "The sales role (scope `role` only; empty otherwise).",
            "period": "Period type the value is for: week, month, quarter or year.",
            "value": "Target value, in the KPI's unit (a decimal string).",
            "valid_from": "First day the target is in force. Setting a target with the same KPI, "
            "scope, subject, period and start replaces its value and end.",
            "valid_to": "Last day in force; null: open-ended.",
            "updated_at": "Last change.",
        }
        constraint_fields = {
            "target_scope_matches_fields": ("scope",),
            "target_valid_to_after_from": ("valid_to",),
        }

    def related_scopes(self) -> Mapping[str, QuerySet]:
        # Any existing rep or team; the view's rules refuse those outside the manager's teams.
        return {}


# ---------------------------------------------------------------------------
# The registry, KPI values, scorecards, recompute runs (read-only shapes)
# ---------------------------------------------------------------------------
SCOPES = [("rep", "rep"), ("team", "team"), ("org", "org")]
# Dates the KPI endpoints accept: wide enough for any history, narrow enough that a period
# around them is still a valid date.
FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(2999, 12, 31)


class TranslatedTextSerializer(serializers.Serializer):
    en = serializers.CharField(help_text="English.")
    sv = serializers.CharField(help_text="Swedish.")


class KPISerializer(serializers.Serializer):
    code = serializers.CharField(help_text="The KPI's code: fixed, used by every other endpoint.")
    name = TranslatedTextSerializer(help_text="Display name per language.")
    description = TranslatedTextSerializer(help_text="What is counted, per language.")
    category = serializers.ChoiceField(
        choices=[c.value for c in Category],
        help_text="Activity, efficiency or progress (leading), or result (lagging).",
    )
    kind = serializers.ChoiceField(
        choices=[k.value for k in Kind],
        help_text="Leading (steer what reps do) or lagging (what happened).",
    )
    unit = serializers.ChoiceField(
        choices=[u.value for u in Unit],
        help_text="count, ratio (0..1), money (organisation currency), minutes or days.",
    )
    direction = serializers.ChoiceField(
        choices=[d.value for d in Direction],
        help_text="up: higher is better; down: lower is better (attainment = target / value).",
    )
    roles = serializers.ListField(
        child=serializers.ChoiceField(choices=ROLE_CHOICES),
        help_text="Sales roles whose default scorecard holds the KPI.",
    )
    additive = serializers.BooleanField(
        help_text="The period value is the sum of the daily values: pace applies, and a team's "
        "target is the sum of its members' targets."
    )
    dimensions = serializers.ListField(
        child=serializers.CharField(),
        help_text='Dimension families besides the plain value "" (keys `<family>:<value>`).',
    )


class KPIValueQuerySerializer(serializers.Serializer):
    """The query of `/kpi-values/`; cross-field rules in `validate`."""

    kpi = serializers.MultipleChoiceField(
        choices=KPI_CHOICES,
        allow_empty=False,
        help_text="KPI code; repeat for several (`?kpi=calls_made&kpi=emails_sent`).",
    )
    scope = serializers.ChoiceField(
        choices=SCOPES,
        help_text="rep: one row per rep; team: per team (its current members); org: everyone.",
    )
    rep = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        help_text="Scope `rep` only: this rep's values. Scope `rep` needs `rep` or `team`.",
    )
    team = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        help_text="Scope `rep`: the values of this team's reps; scope `team`: this team's values "
        "(default: every team the caller reads). Not with scope `org`.",
    )
    period = serializers.ChoiceField(
        choices=PERIOD_CHOICES, default="month", help_text="Period type; default month."
    )
    start = serializers.DateField(
        required=False,
        help_text="A day of the first period (default: `end`). Every period overlapping "
        "`start`..`end` is returned, whole.",
    )
    end = serializers.DateField(
        required=False,
        help_text="A day of the last period (default: today, or `start` when later).",
    )
    dimension = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        trim_whitespace=False,
        help_text="Absent: every dimension. Empty (`?dimension=`): the plain value only. A family "
        "(`stage`): its keys. A key (`stage:proposal`): that key only.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors: dict[str, list[str]] = {}
        for name in ("start", "end"):
            day = attrs.get(name)
            if day is not None and not FIRST_DAY <= day <= LAST_DAY:
                errors[name] = [_("Give a date from 1900 to 2999.")]
        scope = attrs["scope"]
        if scope != "rep" and "rep" in attrs:
            errors["rep"] = [_("Only with scope “rep”.")]
        if scope == "org" and "team" in attrs:
            errors["team"] = [_("Not with scope “org”.")]
        if scope == "rep" and "rep" not in attrs and "team" not in attrs:
            errors["rep"] = [_("Scope “rep” needs a rep (or a team: its reps).")]
        dimension = attrs.get("dimension")
        if dimension:
            family = dimension.split(":", 1)[0]
            if family not in {d for code in attrs["kpi"] for d in REGISTRY[code].dimensions}:
                errors["dimension"] = [_("None of these KPIs has this dimension.")]
        if errors:
            raise serializers.ValidationError(errors)
        today = timezone.localdate()
        start, end = attrs.get("start"), attrs.get("end")
        if end is None:
            end = max(today, start) if start is not None else today
        if start is None:
            start = end
        if start > end:
            raise serializers.ValidationError({"end": [_("The end is before the start.")]})
        attrs["start"], attrs["end"] = start, end
        return attrs


class KPIValueSerializer(serializers.Serializer):
    kpi = serializers.ChoiceField(choices=KPI_CHOICES, help_text="KPI code.")
    scope = serializers.ChoiceField(choices=SCOPES, help_text="rep, team or org.")
    rep = serializers.IntegerField(
        allow_null=True, help_text="Scope rep: the rep's id; null otherwise."
    )
    team = serializers.IntegerField(
        allow_null=True,
        help_text="Scope team: the team's id; scope rep: the rep's current team (or null); "
        "null for the org.",
    )
    period = serializers.ChoiceField(choices=PERIOD_CHOICES, help_text="Period type.")
    period_start = serializers.DateField(help_text="First day of the period (site time).")
    dimension = serializers.CharField(
        allow_blank=True,
        help_text='"" for the plain value, else `<family>:<value>` (e.g. `stage:proposal`).',
    )
    value = serializers.FloatField(
        allow_null=True,
        help_text="The KPI's value in its unit; null without data (or a ratio over 0).",
    )
    numerator = serializers.FloatField(
        allow_null=True, help_text="Ratios: Σ numerator; counts and sums: the value."
    )
    denominator = serializers.FloatField(
        allow_null=True, help_text="Ratios: Σ denominator (medians: how many); else null."
    )
    target = serializers.FloatField(
        allow_null=True,
        help_text="The target in force on the period's first day (plain values only); null "
        "without one.",
    )
    attainment = serializers.FloatField(
        allow_null=True,
        help_text="value / target (direction up) or target / value (down), 1 = 100 %; null when "
        "either is missing or the divisor is 0.",
    )
    status = serializers.ChoiceField(
        choices=TargetStatus.choices,
        allow_null=True,
        help_text="met (≥ 100 %), close (≥ 80 %), behind; null without an attainment.",
    )


class ScorecardQuerySerializer(serializers.Serializer):
    period = serializers.ChoiceField(
        choices=PERIOD_CHOICES, default="month", help_text="Period type; default month."
    )
    date = serializers.DateField(
        required=False, help_text="A day of the period shown; default today (site time)."
    )

    def validate_date(self, day: dt.date) -> dt.date:
        if not FIRST_DAY <= day <= LAST_DAY:
            raise serializers.ValidationError(_("Give a date from 1900 to 2999."))
        return day


class PaceSerializer(serializers.Serializer):
    expected_to_date = serializers.FloatField(
        help_text="The share of the target due by today: target × elapsed / working days."
    )
    on_pace = serializers.BooleanField(
        help_text="value ≥ expected (direction up) or value ≤ expected (down)."
    )
    elapsed_working_days = serializers.IntegerField(
        help_text="Working days from the period's first day to today, inclusive."
    )
    working_days = serializers.IntegerField(help_text="Working days in the period.")


class ScorecardLineSerializer(serializers.Serializer):
    kpi = serializers.ChoiceField(choices=KPI_CHOICES, help_text="KPI code.")
    name = serializers.CharField(help_text="Display name in the request's language.")
    unit = serializers.ChoiceField(
        choices=[u.value for u in Unit], help_text="count, ratio, money, minutes or days."
    )
    # Plain strings (the enums are the registry's and KPIValue's): one enum per component set.
    direction = serializers.CharField(help_text="up, or down (lower is better).")
    value = serializers.FloatField(allow_null=True, help_text="Null without data.")
    numerator = serializers.FloatField(allow_null=True, help_text="Ratios: Σ numerator.")
    denominator = serializers.FloatField(allow_null=True, help_text="Ratios: Σ denominator.")
    target = serializers.FloatField(allow_null=True, help_text="The rep's target, or null.")
    attainment = serializers.FloatField(
        allow_null=True, help_text="1 = 100 %; null without value or target."
    )
    status = serializers.CharField(
        allow_null=True, help_text="met (≥ 100 %), close (≥ 80 %) or behind; null without one."
    )
    pace = PaceSerializer(
        allow_null=True,
        help_text="Current period, additive KPIs with a target only; else null.",
    )
    projection = serializers.FloatField(
        allow_null=True,
        help_text="value × working days / elapsed working days: where the period ends at this "
        "pace; null without a pace or before the first working day.",
    )


class ScorecardGroupSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="leading or lagging.")
    category = serializers.ChoiceField(
        choices=[c.value for c in Category],
        help_text="activity, efficiency, progress (leading) or result (lagging).",
    )
    kpis = ScorecardLineSerializer(many=True, help_text="The preset's KPIs of this category.")


class ScorecardSerializer(serializers.Serializer):
    rep = serializers.IntegerField(help_text="The rep's user id.")
    role = serializers.CharField(help_text="The rep's role: whose preset is shown.")
    period = serializers.ChoiceField(choices=PERIOD_CHOICES, help_text="Period type.")
    period_start = serializers.DateField(help_text="First day of the period.")
    period_end = serializers.DateField(help_text="Last day of the period (inclusive).")
    date = serializers.DateField(help_text="The day asked for.")
    current = serializers.BooleanField(help_text="The period contains today: pace applies.")
    groups = ScorecardGroupSerializer(
        many=True, help_text="Leading groups (activity, efficiency, progress), then lagging."
    )


class RecomputeRequestSerializer(serializers.Serializer):
    full = serializers.BooleanField(
        default=False,
        help_text="Rebuild every KPI value from all history (slow); default: recompute what "
        "changed since the last run.",
    )


class RecomputeSerializer(serializers.Serializer):
    task_id = serializers.CharField(help_text="Id of the queued run: GET /kpis/recompute/{id}/.")
    state = serializers.CharField(
        help_text="Celery state: PENDING (queued), STARTED, RETRY, SUCCESS or FAILURE."
    )
    full = serializers.BooleanField(help_text="A full rebuild.")
