"""Rep costs (from the ERP or payroll) and targets (the budget sheet)."""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kpis import target_services
from kpis.models import Target
from kpis.models.targets import PERIOD_CHOICES, ROLE_CHOICES
from pipeline import services
from pipeline.imports import formats as f
from pipeline.imports.formats import Column
from pipeline.imports.kinds.base import CREATED, UNCHANGED, UPDATED, RowKind
from pipeline.models import RepCost


class RepCostKind(RowKind):
    slug = "rep-costs"
    label = gettext_lazy("Rep costs")
    columns = (
        Column("rep", f.USER, required=True, example="alex.ae"),
        Column("month", f.MONTH, required=True, example="2026-03"),
        Column("kind", f.CHOICE, choices=tuple(RepCost.Kind.values), example="salary"),
        Column("amount", f.DECIMAL, required=True, example="52 000,00"),
    )
    fallback_column = "amount"

    def key(self, row):
        return (row["rep"].pk, row["month"], row["kind"] or RepCost.Kind.SALARY)

    def load_existing(self, rows):
        reps = {row["rep"].pk for row in rows}
        return {(c.rep_id, c.month, c.kind): c for c in RepCost.objects.filter(rep_id__in=reps)}

    def apply(self, row, existing, ctx) -> str:
        if existing is not None and existing.amount == row["amount"]:
            return UNCHANGED
        services.rep_cost_set(
            rep=row["rep"], month=row["month"], kind=self.key(row)[2], amount=row["amount"]
        )
        return CREATED if existing is None else UPDATED


class TargetKind(RowKind):
    slug = "targets"
    label = gettext_lazy("Targets (budget)")
    columns = (
        Column("kpi", f.KPI, required=True, example="meetings_booked"),
        Column(
            "scope",
            f.CHOICE,
            choices=tuple(Target.Scope.values),
            example="rep",
            help=gettext_lazy("rep, team, role or all; default: from the columns given."),
        ),
        Column("rep", f.USER, example="sam.sdr"),
        Column("team", f.TEAM, example=""),
        Column("role", f.CHOICE, choices=tuple(c for c, _label in ROLE_CHOICES), example=""),
        Column(
            "period",
            f.CHOICE,
            required=True,
            choices=tuple(c for c, _l in PERIOD_CHOICES),
            example="month",
        ),
        Column("value", f.DECIMAL, required=True, example="12"),
        Column("valid_from", f.DATE, required=True, example="2026-01-01"),
        Column("valid_to", f.DATE, example=""),
    )
    fallback_column = "scope"
    field_columns = {"__all__": "scope"}

    def scope(self, row) -> str:
        if row.get("scope"):
            return row["scope"]
        if row.get("rep"):
            return Target.Scope.REP
        if row.get("team"):
            return Target.Scope.TEAM
        if row.get("role"):
            return Target.Scope.ROLE
        return Target.Scope.ALL

    def key(self, row):
        rep, team = row.get("rep"), row.get("team")
        return (
            row["kpi"],
            self.scope(row),
            rep.pk if rep else None,
            team.pk if team else None,
            row.get("role") or "",
            row["period"],
            row["valid_from"],
        )

    def load_existing(self, rows):
        kpis = {row["kpi"] for row in rows}
        found = {}
        for t in Target.objects.filter(kpi__in=kpis).order_by("pk"):
            found[(t.kpi, t.scope, t.rep_id, t.team_id, t.role, t.period, t.valid_from)] = t
        return found

    def check(self, row, existing, ctx):
        scope = self.scope(row)
        if scope in (Target.Scope.ROLE, Target.Scope.ALL) and not ctx.is_superuser:
            return {"scope": _("Only an administrator sets targets for a role or everyone.")}
        team = row.get("team")
        if team is not None and not ctx.may_use_team(team.pk):
            return {"team": _("“%(value)s” is not a team you manage.") % {"value": team.name}}
        return {}

    def apply(self, row, existing, ctx) -> str:
        value = row["value"]
        if (
            existing is not None
            and Decimal(existing.value) == value
            and (existing.valid_to == row.get("valid_to"))
        ):
            return UNCHANGED
        target_services.target_set(
            kpi=row["kpi"],
            scope=self.scope(row),
            period=row["period"],
            value=value,
            valid_from=row["valid_from"],
            valid_to=row.get("valid_to"),
            rep=row.get("rep"),
            team=row.get("team"),
            role=row.get("role") or "",
            changed_by=ctx.user,
        )
        return CREATED if existing is None else UPDATED
