"""A manager's full team export, in the import formats: one CSV per kind, zipped.

Every file re-imports onto the rows it came from: each exported row is written with the columns
of its kind's import format, references by external id, users by username, times in ISO 8601
with their offset, numbers with a decimal point. Rows created in Saljsite have no external id of
another system; the export gives them a stable one first (`saljsite-<kind>-<id>`, in the same
transaction), so importing the exported files changes nothing — and a changed cell updates its
row.

Reach: a manager exports the rows of the members of the teams they manage (and their own) —
activities, leads, opportunities and their stage history, rep costs, rep and team targets —
and the companies and contacts those rows use or the members own; a superuser exports
everything.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import CharField, Exists, F, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Cast, Concat

from activities.models import Activity
from kpis.models import Target
from pipeline.imports.engine import Context
from pipeline.imports.formats import site_zone
from pipeline.imports.kinds import KINDS
from pipeline.models import Company, Contact, Lead, Opportunity, RepCost, StageChange

if TYPE_CHECKING:
    from people.models import User

KEY_PREFIX = {Company: "co", Contact: "ct", Lead: "ld", Opportunity: "op", Activity: "ac"}


class _Scope:
    """The querysets of one export."""

    def __init__(self, user: User) -> None:
        ctx = Context(user=user, commit=False)
        self.all = ctx.is_superuser
        self.user_ids = ctx.allowed_user_ids
        self.team_ids = ctx.managed_team_ids

    def _owned(self, qs: QuerySet, field: str) -> QuerySet:
        return qs if self.all else qs.filter(**{f"{field}__in": self.user_ids})

    def activities(self) -> QuerySet:
        return self._owned(Activity.objects.all(), "owner_id")

    def opportunities(self) -> QuerySet:
        return self._owned(Opportunity.objects.all(), "owner_id")

    def leads(self) -> QuerySet:
        return self._owned(Lead.objects.all(), "assigned_to_id")

    def companies(self) -> QuerySet:
        if self.all:
            return Company.objects.all()
        used = (
            Q(owner_id__in=self.user_ids)
            | Q(pk__in=self.opportunities().values("company_id"))
            | Q(pk__in=self.leads().filter(company__isnull=False).values("company_id"))
            | Q(pk__in=self.activities().filter(company__isnull=False).values("company_id"))
        )
        return Company.objects.filter(used)

    def contacts(self) -> QuerySet:
        return Contact.objects.filter(company__in=self.companies())

    def stage_changes(self) -> QuerySet:
        # The opening entry of each deal is the opportunity row's `stage` column.
        return StageChange.objects.filter(
            opportunity__in=self.opportunities(), from_stage__isnull=False
        )

    def rep_costs(self) -> QuerySet:
        return self._owned(RepCost.objects.all(), "rep_id")

    def targets(self) -> QuerySet:
        if self.all:
            return Target.objects.all()
        return Target.objects.filter(
            Q(scope=Target.Scope.REP, rep_id__in=self.user_ids)
            | Q(scope=Target.Scope.TEAM, team_id__in=self.team_ids)
        )


def _assign_keys(scope: _Scope) -> None:
    """Give the exported rows without an external id a stable one (`saljsite-<kind>-<id>`)."""
    for model, queryset in (
        (Company, scope.companies()),
        (Contact, scope.contacts()),
        (Lead, scope.leads()),
        (Opportunity, scope.opportunities()),
        (Activity, scope.activities()),
    ):
        key = Concat(
            Value(f"saljsite-{KEY_PREFIX[model]}-"),
            Cast("pk", output_field=CharField(max_length=20)),
        )
        taken = model.objects.filter(external_id=OuterRef("new_key"))
        model.objects.filter(pk__in=queryset.filter(external_id="").values("pk")).annotate(
            new_key=key
        ).filter(~Exists(taken)).update(external_id=key)


def _text(value: Any, zone) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dt.datetime):
        return value.astimezone(zone).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _rows(scope: _Scope, kind: str) -> Iterator[list[Any]]:
    """The rows of one kind, as import cells (in the kind's column order)."""
    if kind == "companies":
        qs = scope.companies().values_list("external_id", "name", "org_number", "owner__username")
    elif kind == "contacts":
        qs = scope.contacts().values_list(
            "external_id",
            "company__external_id",
            "name",
            "title",
            "email",
            "phone",
            "is_decision_maker",
        )
    elif kind == "leads":
        qs = scope.leads().values_list(
            "external_id",
            "name",
            "source",
            "direction",
            "received_at",
            "assigned_to__username",
            "company__external_id",
            "contact__external_id",
            "status",
            "notes",
        )
    elif kind == "opportunities":
        opening = StageChange.objects.filter(
            opportunity=OuterRef("pk"), from_stage__isnull=True
        ).order_by("changed_at", "id")
        qs = (
            scope.opportunities()
            .annotate(opening_stage=opening.values("to_stage__slug")[:1])
            .values_list(
                "external_id",
                "name",
                "company__external_id",
                "owner__username",
                "created_by__username",
                "kind",
                "lead_source",
                "channel",
                "amount",
                "opening_stage",
                "lead__external_id",
                "contact__external_id",
                "created_at",
            )
        )
    elif kind == "stage-history":
        qs = (
            scope.stage_changes()
            .annotate(lost=F("opportunity__lost_reason"))
            .order_by("opportunity_id", "changed_at", "id")
            .values_list(
                "opportunity__external_id",
                "to_stage__slug",
                "changed_at",
                "changed_by__username",
                "opportunity__amount",
                "to_stage__outcome",
                "lost",
            )
        )
        for opp, stage, at, by, amount, outcome, lost in qs.iterator(chunk_size=2000):
            yield [
                opp,
                stage,
                at,
                by,
                amount if outcome == "won" else None,
                lost if outcome == "lost" else "",
            ]
        return
    elif kind == "activities":
        qs = (
            scope.activities()
            .order_by("pk")
            .values_list(
                "external_id",
                "kind",
                "status",
                "owner__username",
                "occurred_at",
                "booked_by__username",
                "booked_at",
                "direction",
                "outcome",
                "duration_seconds",
                "replied",
                "clicked",
                "mode",
                "company__external_id",
                "contact__external_id",
                "lead__external_id",
                "opportunity__external_id",
                "subject",
                "notes",
            )
        )
    elif kind == "rep-costs":
        qs = scope.rep_costs().values_list("rep__username", "month", "kind", "amount")
    elif kind == "targets":
        qs = scope.targets().values_list(
            "kpi",
            "scope",
            "rep__username",
            "team__name",
            "role",
            "period",
            "value",
            "valid_from",
            "valid_to",
        )
    else:
        raise KeyError(kind)
    yield from qs.iterator(chunk_size=2000)


def team_export_zip(*, user: User) -> tempfile.SpooledTemporaryFile:
    """Every kind the user may export, as `<kind>.csv` files (UTF-8 with BOM, `,`) in a ZIP;
    the file is positioned at its start."""
    zone = site_zone()
    scope = _Scope(user)
    out = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)  # noqa: SIM115 (returned)
    with transaction.atomic(), zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        _assign_keys(scope)
        for slug, kind in KINDS.items():
            with archive.open(f"{slug}.csv", "w") as raw:
                text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
                writer = csv.writer(text)
                writer.writerow([c.name for c in kind.columns])
                for row in _rows(scope, slug):
                    writer.writerow([_text(value, zone) for value in row])
                text.flush()
                text.detach()
    out.seek(0)
    return out
