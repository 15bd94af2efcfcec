"""Shared admin plumbing: row scoping for managers and forms whose writes are service calls."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ValidationError
from django.db import models, transaction
from django.db.models import Q

from pipeline.querysets import visible_owner_q

if TYPE_CHECKING:
    from django.http import HttpRequest

    from people.models import User


# ---------------------------------------------------------------------------
# Scoping
# ---------------------------------------------------------------------------
def visible_user_q(user: User) -> Q:
    """Users a staff user may read and pick: `visible_owner_q`'s reach, applied to users."""
    if user.is_superuser:
        return Q()
    if user.role == "manager":
        return Q(team__manager=user) | Q(pk=user.pk)
    if user.team_id:
        return Q(team_id=user.team_id) | Q(pk=user.pk)
    return Q(pk=user.pk)


class ScopedAdminMixin:
    """Restrict a ModelAdmin to the rows the signed-in staff user may see.

    A superuser sees everything; a manager the rows of the reps in the teams they manage plus their
    own. Everything in the admin reads through `get_queryset` (changelist, change and delete pages,
    actions, autocomplete), so an out-of-scope object behaves like a missing one. Foreign-key
    choices pointing at a scoped model use the target admin's scope, so a manager cannot hand a row
    to a rep of another team.
    """

    # Lookup path from the row to the user who owns it; None means "not scoped".
    scope_owner_field: str | None = None
    # Rows without an owner (an unowned company, an unassigned lead) are everyone's to pick up.
    scope_include_unowned: bool = False

    def scope_q(self, user: User) -> Q:
        if self.scope_owner_field is None:
            return Q()
        q = visible_owner_q(user, self.scope_owner_field)
        if self.scope_include_unowned:
            q |= Q(**{f"{self.scope_owner_field}__isnull": True})
        return q

    def scope_queryset(self, request: HttpRequest, queryset: models.QuerySet) -> models.QuerySet:
        if request.user.is_superuser:
            return queryset
        return queryset.filter(self.scope_q(request.user))

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        return self.scope_queryset(request, super().get_queryset(request))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related_model = db_field.remote_field.model
        if "queryset" not in kwargs and self.admin_site.is_registered(related_model):
            related_admin = self.admin_site.get_model_admin(related_model)
            if isinstance(related_admin, ScopedAdminMixin):
                kwargs["queryset"] = related_admin.scope_queryset(
                    request, related_model._default_manager.all()
                )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None and not request.user.is_superuser:
            _keep_current_choices(form, obj)
        return form


def _keep_current_choices(form: type[forms.ModelForm], obj: models.Model) -> None:
    """Let an edited row keep a link that is out of the editor's scope.

    A meeting an SDR of another team booked for one of the manager's reps must stay editable: its
    `booked_by` stays a valid choice, but no new out-of-scope user can be picked.
    """
    for name, field in form.base_fields.items():
        if not isinstance(field, forms.ModelChoiceField):
            continue
        try:
            model_field = obj._meta.get_field(name)
        except FieldDoesNotExist:  # A declared form field with no model field behind it.
            continue
        if not isinstance(model_field, models.ForeignKey):
            continue
        current = getattr(obj, model_field.attname)
        if current is None:
            continue
        queryset = field.queryset
        current_row = {model_field.remote_field.field_name: current}
        field.queryset = queryset | queryset.model._default_manager.filter(**current_row)


# ---------------------------------------------------------------------------
# Forms whose write is a service call
# ---------------------------------------------------------------------------
class _Rehearsal(Exception):  # A control-flow signal, not an error.
    """Raised to roll back a rehearsed service call."""


class ServiceModelForm(forms.ModelForm):
    """A ModelForm whose write is one service call (or a few, in one transaction).

    Design: the services are the single place that validates and writes, so the form asks them.
    During validation (`_post_clean`), `write()` is *rehearsed* inside a savepoint that is always
    rolled back; a `ValidationError` from the service becomes a form error, and nothing is written.
    The real write happens in `ServiceAdminMixin.save_model`, i.e. only after the form and every
    inline formset validated, which is where Django's admin expects writes. The admin runs
    validation and save in one transaction (`changeform_view` is atomic), so row locks taken by
    the rehearsal (`select_for_update`) are held until the real call, which therefore sees the same
    state; should it still fail, the request errors and the transaction commits nothing.
    The cost is running the service twice per save: fine for an admin form.
    """

    # Set per request by ServiceAdminMixin.get_form (the acting user: created_by, changed_by).
    request_user: User | None = None

    @property
    def adding(self) -> bool:
        return self.instance._state.adding

    def write(self) -> models.Model:
        """Call the service(s) with the cleaned data and return the saved object."""
        raise NotImplementedError

    def changes(self, editable: Iterable[str]) -> dict[str, Any]:
        """The cleaned values of the changed fields among `editable`."""
        return {
            name: self.cleaned_data[name]
            for name in self.changed_data
            if name in editable and name in self.cleaned_data
        }

    def _post_clean(self) -> None:
        super()._post_clean()  # Field-level and model checks first: clearer messages.
        if self._errors:
            return
        try:
            with transaction.atomic():
                self.write()
                raise _Rehearsal
        except _Rehearsal:
            pass
        except ValidationError as error:
            self._add_service_errors(error)

    def _add_service_errors(self, error: ValidationError) -> None:
        # A service may name a field the form does not show (`at`, a read-only field): such an
        # error is shown above the form rather than dropped (add_error would raise on it).
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for name, errors in error.error_dict.items():
            target = name if name in self.fields else None
            if name != NON_FIELD_ERRORS and target is None:
                label = _field_label(self._meta.model, name)
                errors = [
                    ValidationError(f"{label}: {message}")
                    for message in ValidationError(errors).messages
                ]
            self.add_error(target, errors)


def _field_label(model: type[models.Model], name: str) -> str:
    try:
        return str(model._meta.get_field(name).verbose_name).capitalize()
    except FieldDoesNotExist:  # A service-only parameter such as `at`.
        return name


class ServiceAdminMixin:
    """Save through `form.write()` (see ServiceModelForm) instead of `obj.save()`."""

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        # modelform_factory builds a fresh class on every call: this never leaks across requests.
        form.request_user = request.user
        return form

    def save_model(self, request, obj, form, change) -> None:
        saved = form.write()
        _adopt(obj, saved)


def _adopt(obj: models.Model, saved: models.Model) -> None:
    """Copy the saved row's state onto the admin's `obj` (redirects and log entries use it)."""
    if obj is saved:
        return
    for field in obj._meta.concrete_fields:
        setattr(obj, field.attname, getattr(saved, field.attname))
    obj._state.adding = False
    obj._state.db = saved._state.db
