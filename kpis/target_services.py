"""Writes of targets; every change is logged as a `TargetChange` with before and after."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kpis.models import Target, TargetChange
from kpis.targets import SALES_ROLES, target_duplicates
from people.models import Team, User

_VALUE_QUANTUM = Decimal(1).scaleb(-Target._meta.get_field("value").decimal_places)


def target_snapshot(target: Target) -> dict[str, Any]:
    """The JSON form of a target stored in `TargetChange.before` / `after`."""
    return {
        "kpi": target.kpi,
        "scope": target.scope,
        "rep": target.rep_id,
        "team": target.team_id,
        "role": target.role,
        "period": target.period,
        # Quantized like the column, so 10 and 10.0000 are the same value.
        "value": str(Decimal(target.value).quantize(_VALUE_QUANTUM)),
        "valid_from": target.valid_from.isoformat() if target.valid_from else None,
        "valid_to": target.valid_to.isoformat() if target.valid_to else None,
    }


@transaction.atomic
def target_set(
    *,
    kpi: str,
    scope: str,
    period: str,
    value: Decimal | int | str,
    valid_from: dt.date,
    valid_to: dt.date | None = None,
    rep: User | None = None,
    team: Team | None = None,
    role: str = "",
    changed_by: User | None,
) -> Target:
    """Create the target, or update value and end of the one with the same KPI, scope, subject,
    period type and `valid_from`; validated, logged, in one transaction. A no-op is not logged."""
    candidate = Target(
        kpi=kpi,
        scope=scope,
        rep=rep,
        team=team,
        role=role or "",
        period=period,
        value=Decimal(str(value)),
        valid_from=valid_from,
        valid_to=valid_to,
    )
    existing = target_duplicates(target=candidate).select_for_update().order_by("-pk").first()
    if existing is None:
        candidate.full_clean()
        candidate.save()
        TargetChange.objects.create(
            target_id_ref=candidate.pk,
            action=TargetChange.Action.CREATED,
            changed_by=changed_by,
            before=None,
            after=target_snapshot(candidate),
        )
        return candidate
    before = target_snapshot(existing)
    existing.value = candidate.value
    existing.valid_to = valid_to
    existing.full_clean()
    if target_snapshot(existing) == before:
        return existing
    existing.save()
    TargetChange.objects.create(
        target_id_ref=existing.pk,
        action=TargetChange.Action.CHANGED,
        changed_by=changed_by,
        before=before,
        after=target_snapshot(existing),
    )
    return existing


@transaction.atomic
def target_update(*, target: Target, changed_by: User | None) -> Target:
    """Save the fields the caller changed on a stored `target` (e.g. in the admin); logged.

    The before-image is read from the database, so `target` may already carry the new values.
    Refused when another target has the same KPI, scope, subject, period type and start.
    """
    current = Target.objects.select_for_update().get(pk=target.pk)
    before = target_snapshot(current)
    target.full_clean()
    if target_duplicates(target=target).exists():
        raise ValidationError(
            _("Another target for this KPI, subject, period and start date already exists.")
        )
    if target_snapshot(target) == before:
        return target
    target.save()
    TargetChange.objects.create(
        target_id_ref=target.pk,
        action=TargetChange.Action.CHANGED,
        changed_by=changed_by,
        before=before,
        after=target_snapshot(target),
    )
    return target


@transaction.atomic
def targets_delete(*, targets: Iterable[Target], changed_by: User | None) -> int:
    """Delete targets, logging each one's last state; returns how many were deleted."""
    ids = [t.pk for t in targets]
    current = list(Target.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    if not current:
        return 0
    TargetChange.objects.bulk_create(
        [
            TargetChange(
                target_id_ref=t.pk,
                action=TargetChange.Action.DELETED,
                changed_by=changed_by,
                before=target_snapshot(t),
                after=None,
            )
            for t in current
        ]
    )
    Target.objects.filter(pk__in=[t.pk for t in current]).delete()
    return len(current)


def target_delete(*, target: Target, changed_by: User | None) -> None:
    """Delete one target and log its last state."""
    targets_delete(targets=[target], changed_by=changed_by)


@transaction.atomic
def targets_set_for_group(
    *,
    kpi: str,
    period: str,
    value: Decimal | int | str,
    valid_from: dt.date,
    valid_to: dt.date | None = None,
    team: Team | None = None,
    role: str | None = None,
    changed_by: User | None,
) -> list[Target]:
    """Give every sales rep of a team, of a role, or of a role within a team the same rep-scope
    target (creating or updating as `target_set` does), in one transaction with bulk writes."""
    if team is None and not role:
        raise ValidationError(_("Choose a team, a role, or both."))
    if role and role not in SALES_ROLES:
        raise ValidationError(_("Choose a sales role."))
    reps = User.objects.filter(role__in=SALES_ROLES).order_by("pk")
    if team is not None:
        reps = reps.filter(team=team)
    if role:
        reps = reps.filter(role=role)
    rep_ids = list(reps.values_list("pk", flat=True))
    if not rep_ids:
        raise ValidationError(_("There are no sales reps in that group."))

    value = Decimal(str(value))
    # Every target differs only by rep, so validating one validates all of them.
    Target(
        kpi=kpi,
        scope=Target.Scope.REP,
        rep_id=rep_ids[0],
        period=period,
        value=value,
        valid_from=valid_from,
        valid_to=valid_to,
    ).full_clean()

    existing: dict[int, Target] = {}
    for target in (
        Target.objects.select_for_update()
        .filter(
            kpi=kpi,
            scope=Target.Scope.REP,
            rep_id__in=rep_ids,
            period=period,
            valid_from=valid_from,
        )
        .order_by("pk")
    ):
        existing[target.rep_id] = target  # the last saved one, as target_set picks

    now = timezone.now()
    changes: list[TargetChange] = []
    to_update: list[Target] = []
    for target in existing.values():
        before = target_snapshot(target)
        target.value, target.valid_to = value, valid_to
        if target_snapshot(target) != before:
            target.updated_at = now  # bulk_update skips auto_now
            to_update.append(target)
            changes.append(
                TargetChange(
                    target_id_ref=target.pk,
                    action=TargetChange.Action.CHANGED,
                    changed_by=changed_by,
                    before=before,
                    after=target_snapshot(target),
                )
            )
    if to_update:
        Target.objects.bulk_update(to_update, ["value", "valid_to", "updated_at"])

    created = Target.objects.bulk_create(
        [
            Target(
                kpi=kpi,
                scope=Target.Scope.REP,
                rep_id=rep_id,
                period=period,
                value=value,
                valid_from=valid_from,
                valid_to=valid_to,
            )
            for rep_id in rep_ids
            if rep_id not in existing
        ]
    )
    changes.extend(
        TargetChange(
            target_id_ref=target.pk,
            action=TargetChange.Action.CREATED,
            changed_by=changed_by,
            before=None,
            after=target_snapshot(target),
        )
        for target in created
    )
    TargetChange.objects.bulk_create(changes)
    return sorted([*existing.values(), *created], key=lambda t: t.rep_id)
