"""Input of the pipeline pages (new deal, convert a lead, move a stage) and the company/contact
picker the activity forms share."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from people.models import User
from pipeline.models import Company, Contact, Lead, LeadSource, Opportunity, Stage
from pipeline.selectors import (
    companies_visible_to,
    company_or_contact_named,
    contacts_visible_to,
    lead_choices,
    open_stages,
    people_for,
)


def add_service_errors(
    form: forms.BaseForm, error: ValidationError, fields: dict[str, str] | None = None
) -> None:
    """Show a service's ValidationError on the form: on the field it names (renamed by `fields`)
    when the form has it, else above the form."""
    fields = {"company": "who", "contact": "who", **(fields or {})}
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for name, messages in error.message_dict.items():
        target = fields.get(name, name)
        form.add_error(target if target in form.fields else None, messages)


class PersonChoiceField(forms.ModelChoiceField):
    """People by name; the signed-in user (`me`) is marked as such."""

    me: User | None = None

    def label_from_instance(self, obj: User) -> str:
        name = obj.get_full_name() or obj.username
        if self.me is not None and obj.pk == self.me.pk:
            return _("%(name)s (you)") % {"name": name}
        return name


class MoneyField(forms.DecimalField):
    """An amount as typed in either language: "150 000", "150 000,50", "150,000.50"."""

    def to_python(self, value: Any) -> Decimal | None:
        if isinstance(value, str):
            value = re.sub(r"[\s\u00a0\u202f]", "", value)
            if "," in value and "." in value:  # "150,000.50": the comma groups thousands.
                value = value.replace(",", "")
            value = value.replace(",", ".")
        return super().to_python(value)


def money_input() -> forms.TextInput:
    return forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})


def plain_amount(amount: Decimal | None) -> Decimal | int | None:
    """An amount to put in a field: 150000 rather than 150000.00; None for nothing."""
    if not amount:
        return None
    return int(amount) if amount == amount.to_integral_value() else amount


CUSTOMER_REQUIRED = _("Pick the customer: a company or one of its contacts.")


class CompanyContactMixin:
    """A search-as-you-type "who" box filling hidden company and contact ids (static/js/search.js).

    Without JavaScript the typed name is resolved on the server: the one contact, else the one
    company, within the user's reach with exactly that name. Ids are only accepted within reach:
    a guessed id of another team's company is an invalid choice.
    """

    who_required = False
    who_types = "company,contact"

    def setup_who(self, user: User) -> None:
        self.user = user
        self.fields["company"].queryset = companies_visible_to(user)
        self.fields["contact"].queryset = contacts_visible_to(user).select_related("company")
        attrs = self.fields["who"].widget.attrs
        attrs.update(
            {
                "data-search-url": reverse_lazy("pipeline:search"),
                "data-search-types": self.who_types,
                "autocomplete": "off",
                "role": "combobox",
                "aria-autocomplete": "list",
                "aria-expanded": "false",
                "aria-describedby": "id_who_helptext",
                "data-label-company": _("Company"),
                "data-label-contact": _("Contact"),
                "data-label-none": _("No company or contact matches “%(query)s”."),
            }
        )
        self.fields["who"].required = self.who_required
        self.fields["who"].error_messages["required"] = CUSTOMER_REQUIRED

    def who_initial(self, company: Company | None, contact: Contact | None) -> None:
        if contact is not None:
            self.initial.update({"who": contact.name, "contact": contact.pk})
        if company is not None:
            self.initial.setdefault("who", company.name)
            self.initial["company"] = company.pk

    def clean_who_fields(self, data: dict[str, Any]) -> None:
        who = (data.get("who") or "").strip()
        company, contact = data.get("company"), data.get("contact")
        picked = contact or company
        if not who:
            data["company"] = data["contact"] = None
        elif picked is None or picked.name.strip().lower() != who.lower():
            # Typed (or changed) without picking a suggestion.
            found = company_or_contact_named(user=self.user, name=who)
            if found is None:
                self.add_error(
                    "who",
                    _("Pick a company or contact from the suggestions (none is named “%(name)s”).")
                    % {"name": who},
                )
                return
            data["contact"] = found if isinstance(found, Contact) else None
            data["company"] = found if isinstance(found, Company) else None
        if data.get("contact") is not None:
            # The contact decides the company (a stale company id must not contradict it).
            data["company"] = data["contact"].company
        if self.who_required and data.get("company") is None and not self.has_error("who"):
            self.add_error("who", CUSTOMER_REQUIRED)


def who_field() -> forms.CharField:
    return forms.CharField(label=_("Company or contact"), max_length=200, required=False)


def hidden_choice(model: type) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        queryset=model.objects.none(), required=False, widget=forms.HiddenInput
    )


class OpportunityForm(CompanyContactMixin, forms.Form):
    """A new deal: the customer, what it is worth, where it stands, and whose it is."""

    who_required = True
    name = forms.CharField(label=_("Name"), max_length=200)
    who = who_field()
    company = hidden_choice(Company)
    contact = hidden_choice(Contact)
    amount = MoneyField(
        label=_("Amount"),
        max_digits=14,
        decimal_places=2,
        min_value=Decimal(0),
        required=False,
        widget=money_input(),
        localize=True,
    )
    stage = forms.ModelChoiceField(label=_("Stage"), queryset=Stage.objects.none())
    kind = forms.ChoiceField(label=_("Kind"), choices=Opportunity.Kind.choices)
    channel = forms.ChoiceField(label=_("Channel"), choices=Opportunity.Channel.choices)
    lead_source = forms.ChoiceField(
        label=_("Lead source"), choices=LeadSource.choices, initial=LeadSource.OTHER
    )
    owner = PersonChoiceField(label=_("Owner"), queryset=User.objects.none())
    lead = forms.ModelChoiceField(
        label=_("From lead"), queryset=Lead.objects.none(), required=False
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setup_who(user)
        self.fields["stage"].queryset = open_stages()
        self.fields["stage"].empty_label = None
        self.fields["owner"].queryset = people_for(user)
        self.fields["owner"].empty_label = None
        self.fields["owner"].me = user
        self.initial.setdefault("owner", user.pk)
        if "lead" in self.fields:
            self.fields["lead"].queryset = lead_choices(users=[user])
            self.fields["lead"].empty_label = _("No lead")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        self.clean_who_fields(data)
        return data

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        kwargs = {
            name: data[name]
            for name in ("name", "company", "contact", "stage", "kind", "channel", "owner")
        }
        kwargs["amount"] = data.get("amount") or Decimal(0)
        for name in ("lead_source", "lead"):
            if name in self.fields:
                kwargs[name] = data.get(name)
        return kwargs


class LeadConvertForm(OpportunityForm):
    """A deal opened from a lead: its name, customer and source come from the lead."""

    def __init__(self, *args: Any, user: User, lead: Lead, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        del self.fields["lead"]
        del self.fields["lead_source"]
        self.initial.setdefault("name", lead.name)
        self.who_initial(lead.company, lead.contact)


class MoveStageForm(forms.Form):
    """Move a deal: won needs an amount above zero and lost a reason (the service says so)."""

    to_stage = forms.ModelChoiceField(
        label=_("Move to"), queryset=Stage.objects.none(), empty_label=None
    )
    amount = MoneyField(
        label=_("Amount"),
        max_digits=14,
        decimal_places=2,
        min_value=Decimal(0),
        required=False,
        widget=money_input(),
        localize=True,
        help_text=_("Needed to win the deal."),
    )
    lost_reason = forms.CharField(
        label=_("Lost reason"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Needed to lose the deal."),
    )

    def __init__(self, *args: Any, opportunity: Opportunity, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        stages = Stage.objects.exclude(pk=opportunity.stage_id).order_by("order")
        self.fields["to_stage"].queryset = stages
        # An open deal usually moves on to the next stage: offer that one first.
        if opportunity.stage.is_open:
            self.initial.setdefault(
                "to_stage", stages.filter(order__gt=opportunity.stage.order).first()
            )
        self.initial.setdefault("amount", plain_amount(opportunity.amount))
        self.initial.setdefault("lost_reason", opportunity.lost_reason)

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "to_stage": data["to_stage"],
            "amount": data.get("amount"),
            "lost_reason": data.get("lost_reason") or "",
        }
