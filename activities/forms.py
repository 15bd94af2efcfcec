"""Input of the rep's activity pages: the quick log, a booking, completing one and an edit.

One form class holds every activity field; each page keeps the fields that fit its kind (a call
has an outcome and a duration, an email replied/clicked, a meeting or demo its mode).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from activities.models import Activity
from activities.selectors import format_duration
from people.models import User
from pipeline.forms import CompanyContactMixin, PersonChoiceField, hidden_choice, who_field
from pipeline.models import Company, Contact, Direction, Lead, Opportunity
from pipeline.selectors import lead_choices, opportunity_choices, people_for

KIND_FIELDS: dict[str, tuple[str, ...]] = {
    Activity.Kind.CALL: ("outcome", "duration"),
    Activity.Kind.EMAIL: ("replied", "clicked"),
    Activity.Kind.MEETING: ("mode",),
    Activity.Kind.DEMO: ("mode",),
    Activity.Kind.LUNCH: (),
}
ALL_KIND_FIELDS = frozenset(f for fields in KIND_FIELDS.values() for f in fields)
BOOKABLE_KINDS = (Activity.Kind.MEETING, Activity.Kind.DEMO, Activity.Kind.LUNCH)
LINK_FIELDS = ("who", "company", "contact", "lead", "opportunity")
# Form field -> model field, where they differ.
MODEL_FIELD = {"duration": "duration_seconds"}
SERVICE_ERROR_FIELDS = {"duration_seconds": "duration", "kind": "kind", "owner": "owner"}

_DURATION = re.compile(r"^(?:(\d{1,2}):)?(\d{1,3})[:.,\s](\d{2})$")


class DurationField(forms.Field):
    """A call's duration typed as mm:ss (also m.ss, h:mm:ss, or whole minutes); in seconds."""

    default_error_messages = {
        "invalid": _("Enter the duration as mm:ss, for example 4:30."),
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget",
            forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        )
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> int | None:
        if value in (None, ""):
            return None
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if not text:
            return None
        if text.isdigit():
            return int(text) * 60  # Whole minutes.
        match = _DURATION.match(text)
        if match is None or int(match.group(3)) >= 60:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
        if hours and minutes >= 60:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return hours * 3600 + minutes * 60 + seconds

    def prepare_value(self, value: Any) -> Any:
        return format_duration(value) if isinstance(value, int) else value


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


def _now_minute() -> dt.datetime:
    return timezone.localtime().replace(second=0, microsecond=0)


class ActivityForm(CompanyContactMixin, forms.Form):
    """Every field of an activity a rep types; `keep` names the ones a page shows."""

    kind = forms.ChoiceField(
        label=_("Kind"), choices=Activity.Kind.choices, widget=forms.RadioSelect
    )
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[
            (Activity.Status.COMPLETED, _("Done")),
            (Activity.Status.PLANNED, _("Planned")),
        ],
        initial=Activity.Status.COMPLETED,
        widget=forms.RadioSelect,
    )
    owner = PersonChoiceField(label=_("For"), queryset=User.objects.none(), empty_label=None)
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        choices=Activity.Outcome.choices,
        required=False,
        widget=forms.RadioSelect,
    )
    duration = DurationField(label=_("Duration (mm:ss)"), required=False)
    replied = forms.BooleanField(label=_("Replied"), required=False)
    clicked = forms.BooleanField(label=_("Link clicked"), required=False)
    mode = forms.ChoiceField(
        label=_("Where"),
        choices=Activity.Mode.choices,
        required=False,
        widget=forms.RadioSelect,
    )
    who = who_field()
    company = hidden_choice(Company)
    contact = hidden_choice(Contact)
    occurred_at = forms.DateTimeField(label=_("When"), widget=DateTimeLocalInput())
    direction = forms.ChoiceField(
        label=_("Direction"),
        choices=Direction.choices,
        initial=Direction.OUTBOUND,
        widget=forms.RadioSelect,
    )
    lead = forms.ModelChoiceField(
        label=_("Lead"), queryset=Lead.objects.none(), required=False, empty_label=_("No lead")
    )
    opportunity = forms.ModelChoiceField(
        label=_("Opportunity"),
        queryset=Opportunity.objects.none(),
        required=False,
        empty_label=_("No opportunity"),
    )
    subject = forms.CharField(label=_("Subject"), max_length=200, required=False)
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(
        self,
        *args: Any,
        user: User,
        kind: str,
        keep: tuple[str, ...],
        activity: Activity | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.kind_value = kind
        wanted = set(keep) - (ALL_KIND_FIELDS - set(KIND_FIELDS.get(kind, ())))
        for name in list(self.fields):
            if name not in wanted:
                del self.fields[name]
        if "who" in self.fields:
            self.setup_who(user)
        owners = [user] if activity is None else [user, activity.owner]
        if "lead" in self.fields:
            self.fields["lead"].queryset = lead_choices(
                users=owners, current_id=activity.lead_id if activity else None
            )
        if "opportunity" in self.fields:
            self.fields["opportunity"].queryset = opportunity_choices(
                users=owners, current_id=activity.opportunity_id if activity else None
            )
        if "owner" in self.fields:
            self.fields["owner"].queryset = people_for(user)
            self.fields["owner"].me = user
        if "kind" in self.fields:
            self.fields["kind"].choices = [
                (value, label) for value, label in Activity.Kind.choices if value in BOOKABLE_KINDS
            ]
        if activity is not None:
            self.initial_from(activity)

    def initial_from(self, activity: Activity) -> None:
        for name in self.fields:
            if name in ("who", "company", "contact"):
                continue
            value = getattr(activity, MODEL_FIELD.get(name, name))
            self.initial[name] = getattr(value, "pk", value)
        if "who" in self.fields:
            self.who_initial(activity.company, activity.contact)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if "who" in self.fields:
            self.clean_who_fields(data)
        if data.get("kind") == Activity.Kind.LUNCH:
            data["mode"] = ""  # Lunches have no in person / remote.
        return data

    def service_kwargs(self) -> dict[str, Any]:
        """The cleaned input as the activity services take it."""
        return {
            MODEL_FIELD.get(name, name): value
            for name, value in self.cleaned_data.items()
            if name != "who" and name in self.fields
        }

    def changed_kwargs(self, activity: Activity) -> dict[str, Any]:
        """Only the fields whose value differs from the activity's (an edit records these)."""
        changes = {}
        for name, value in self.service_kwargs().items():
            current = getattr(activity, name)
            if isinstance(current, dt.datetime):
                current = current.replace(second=0, microsecond=0)  # The input has minutes.
            if getattr(current, "pk", current) != getattr(value, "pk", value):
                changes[name] = value
        return changes

    # Sections the templates render, in order; fields the page dropped are skipped.
    def fields_named(self, *names: str) -> list[forms.BoundField]:
        return [self[name] for name in names if name in self.fields]

    @property
    def kind_section(self) -> list[forms.BoundField]:
        return self.fields_named("outcome", "duration", "replied", "clicked", "mode")

    @property
    def more_section(self) -> list[forms.BoundField]:
        return self.fields_named("occurred_at", "status", "direction", "lead", "opportunity")

    @property
    def more_open(self) -> bool:
        """Show the details opened when they hold an error or a link the rep did not type."""
        return any(f.errors for f in self.more_section) or bool(
            self.initial.get("lead") or self.initial.get("opportunity")
        )


QUICK_LOG_FIELDS = (
    "outcome",
    "duration",
    "replied",
    "clicked",
    "mode",
    "who",
    "company",
    "contact",
    "subject",
    "notes",
    "occurred_at",
    "status",
    "direction",
    "lead",
    "opportunity",
)
BOOKING_FIELDS = (
    "kind",
    "owner",
    "occurred_at",
    "mode",
    "who",
    "company",
    "contact",
    "subject",
    "notes",
    "lead",
    "opportunity",
)
COMPLETE_FIELDS = ("outcome", "duration", "replied", "clicked", "mode", "occurred_at", "notes")
EDIT_FIELDS = tuple(f for f in QUICK_LOG_FIELDS if f != "status")


def quick_log_form(*args: Any, user: User, kind: str, **kwargs: Any) -> ActivityForm:
    """Log what was just done: now, outbound, done, the rep as owner."""
    form = ActivityForm(*args, user=user, kind=kind, keep=QUICK_LOG_FIELDS, **kwargs)
    form.initial.setdefault("occurred_at", _now_minute())
    return form


def booking_form(*args: Any, user: User, **kwargs: Any) -> ActivityForm:
    """Book a meeting, demo or lunch for oneself or a teammate (an SDR books for an AE)."""
    # The kind is chosen on the form: keep the meeting's fields (a lunch drops its mode on clean).
    form = ActivityForm(*args, user=user, kind=Activity.Kind.MEETING, keep=BOOKING_FIELDS, **kwargs)
    form.fields["occurred_at"].help_text = _("When the meeting takes place.")
    form.initial.setdefault("kind", Activity.Kind.MEETING)
    form.initial.setdefault("owner", user.pk)
    tomorrow_nine = (_now_minute() + dt.timedelta(days=1)).replace(hour=9, minute=0)
    form.initial.setdefault("occurred_at", tomorrow_nine)
    return form


def complete_form(*args: Any, user: User, activity: Activity, **kwargs: Any) -> ActivityForm:
    """What happened at a planned activity: when it took place and how it went."""
    form = ActivityForm(*args, user=user, kind=activity.kind, keep=COMPLETE_FIELDS, **kwargs)
    form.initial.setdefault("occurred_at", activity.occurred_at)
    form.initial.setdefault("mode", activity.mode)
    form.initial.setdefault("notes", activity.notes)
    return form


def edit_form(*args: Any, user: User, activity: Activity, **kwargs: Any) -> ActivityForm:
    """Correct a logged activity (its kind stays: delete it and log another instead)."""
    return ActivityForm(
        *args, user=user, kind=activity.kind, keep=EDIT_FIELDS, activity=activity, **kwargs
    )
