"""Query parameters of the scorecard and drill-down pages (GET forms, validated like any input)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kpis.drilldown import SCOPES
from kpis.registry import REGISTRY, Period
from saljsite.tabular import FORMATS

PERIOD_CHOICES = [
    (Period.WEEK.value, _("Week")),
    (Period.MONTH.value, _("Month")),
    (Period.QUARTER.value, _("Quarter")),
    (Period.YEAR.value, _("Year")),
]
MAX_ID = 2**63 - 1


class ScorecardQueryForm(forms.Form):
    """`rep`, `period` (default month), `date` (any day of the period; default today),
    `format` (csv|xlsx for a download)."""

    rep = forms.IntegerField(label=_("Rep"), required=False, min_value=1, max_value=MAX_ID)
    period = forms.ChoiceField(label=_("Period"), choices=PERIOD_CHOICES, required=False)
    date = forms.DateField(
        label=_("Date"),
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    format = forms.ChoiceField(choices=[(f, f) for f in FORMATS], required=False)

    def clean_period(self) -> str:
        return self.cleaned_data.get("period") or Period.MONTH.value


class RecordsQueryForm(forms.Form):
    """`scope` (rep|team|org), `id` (rep or team; not for org), `kpi`, `period`, `start` (any day
    of the period), `dimension` (optional, e.g. `stage:meeting`), `page`."""

    scope = forms.ChoiceField(label=_("Scope"), choices=[(s, s) for s in SCOPES])
    id = forms.IntegerField(label=_("Id"), required=False, min_value=1, max_value=MAX_ID)
    kpi = forms.ChoiceField(label=_("KPI"), choices=[(code, code) for code in REGISTRY])
    period = forms.ChoiceField(label=_("Period"), choices=PERIOD_CHOICES)
    start = forms.DateField(label=_("Period start"), input_formats=["%Y-%m-%d"])
    dimension = forms.CharField(label=_("Dimension"), required=False, max_length=100)
    page = forms.IntegerField(required=False, min_value=1, max_value=10**9)

    def clean(self) -> dict:
        data = super().clean()
        if (
            data.get("scope") in ("rep", "team")
            and data.get("id") is None
            and "id" not in self.errors
        ):
            self.add_error("id", _("Give the id of the rep or team."))
        return data
