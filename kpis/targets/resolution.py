"""Targets in force for reps, teams and the organisation (KPIS.md "Targets, attainment, pace").

Resolution rules:
- A target applies to a period when it is in force on the period's first day:
  `valid_from <= first day <= valid_to` (an empty `valid_to` is open-ended). A target that starts
  mid-period first applies to the next period.
- A rep's target: the most specific scope wins, rep > team > role > everyone, using the rep's
  *current* team and role; among targets of the same scope the latest `valid_from` wins (and, for
  two with the same `valid_from`, the one saved last, i.e. the highest id).
- A team's target: for an additive KPI the sum of its members' targets (members are users with that
  team and a sales role; each resolved as above, so a team-scope target of an additive KPI is a
  per-member target); None when no member has one. For other KPIs the team-scope target of that
  team; role and everyone targets do not apply to a team.
- The organisation's target: for an additive KPI the sum over every sales rep's target (None when
  none has one); for other KPIs the everyone-scope target.

The batch selectors load the candidate targets of the codes and period type in one query and
resolve in Python, so their query count does not grow with the number of reps, teams or periods.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import NamedTuple, Protocol

from django.db.models import Q, QuerySet

from kpis.models import Target
from kpis.registry import REGISTRY, Period
from people.models import Team, User

SALES_ROLES: tuple[str, ...] = ("sdr", "ae", "am")

RepKey = tuple[int, str, dt.date]
TeamKey = tuple[int, str, dt.date]
OrgKey = tuple[str, dt.date]
_Subject = tuple[str, int | str | None]


class RepLike(Protocol):
    """What resolving a rep's target reads of them (a `User`, or a page's lighter row)."""

    pk: int
    team_id: int | None
    role: str


# ---------------------------------------------------------------------------
# Resolution
# ---------------------------------------------------------------------------
class _Candidate(NamedTuple):
    value: Decimal
    valid_from: dt.date
    valid_to: dt.date | None
    pk: int


class _TargetIndex:
    """Candidate targets by (KPI code, subject), newest `valid_from` first.

    Built from plain rows, not model instances, and each resolution memoised: a page resolves
    the same (code, day, team, role) for many reps.
    """

    def __init__(self, rows: Iterable[tuple]) -> None:
        by_subject: dict[tuple[str, _Subject], list[_Candidate]] = defaultdict(list)
        self._own: dict[str, set[int]] = defaultdict(set)
        self._teams: dict[str, set[int]] = defaultdict(set)
        for pk, kpi, scope, rep_id, team_id, role, value, valid_from, valid_to in rows:
            subject = _subject(scope, rep_id, team_id, role)
            by_subject[(kpi, subject)].append(_Candidate(value, valid_from, valid_to, pk))
            if subject[0] == "rep":
                self._own[kpi].add(rep_id)
            elif subject[0] == "team":
                self._teams[kpi].add(team_id)
        for candidates in by_subject.values():
            candidates.sort(key=lambda t: (t.valid_from, t.pk), reverse=True)
        self._by_subject = dict(by_subject)
        self._codes = {code for code, _subject in self._by_subject}
        self._resolved: dict[tuple, Decimal | None] = {}

    def has_code(self, code: str) -> bool:
        """Whether any candidate target is for `code` (else no subject has one)."""
        return code in self._codes

    def in_force(self, code: str, subject: _Subject, day: dt.date) -> _Candidate | None:
        for target in self._by_subject.get((code, subject), ()):
            if target.valid_from <= day and (target.valid_to is None or day <= target.valid_to):
                return target
        return None

    def for_rep(
        self, code: str, day: dt.date, *, rep_id: int | None, team_id: int | None, role: str
    ) -> Decimal | None:
        """The rep's target: rep > team > role > everyone (`rep_id` None: no rep-scope one)."""
        if rep_id is not None and rep_id not in self._own.get(code, ()):
            rep_id = None  # No target of the rep's own: resolves as their team and role do.
        key = (code, day, rep_id, team_id, role)
        if key in self._resolved:
            return self._resolved[key]
        subjects: list[_Subject] = [("rep", rep_id)] if rep_id is not None else []
        if team_id is not None:
            subjects.append(("team", team_id))
        if role:
            subjects.append(("role", role))
        subjects.append(("all", None))
        value = None
        for subject in subjects:
            target = self.in_force(code, subject, day)
            if target is not None:
                value = target.value
                break
        self._resolved[key] = value
        return value

    def sum_for_reps(self, code: str, day: dt.date, reps: _Reps) -> Decimal | None:
        """Σ of the reps' targets (`for_rep` of each); None when none has one.

        Reps without a target of their own resolve alike: per (team, role) where their team has
        a team-scope candidate, else per role. Each group is resolved once and counted by its
        size (the same sum; an organisation of 240 reps is a handful of groups).
        """
        teams = self._teams.get(code, set()) & reps.team_roles.keys()
        counts: Counter[tuple[int | None, str]] = Counter(
            {(None, role): count for role, count in reps.roles.items()}
        )
        for team_id in teams:
            for role, count in reps.team_roles[team_id].items():
                counts[(None, role)] -= count
                counts[(team_id, role)] += count
        total = Decimal(0)
        found = False
        for rep_id in self._own.get(code, set()) & reps.by_id.keys():
            team_id, role = reps.by_id[rep_id]
            counts[(team_id if team_id in teams else None, role)] -= 1
            value = self.for_rep(code, day, rep_id=rep_id, team_id=team_id, role=role)
            if value is not None:
                total += value
                found = True
        for (team_id, role), count in counts.items():
            if not count:
                continue
            value = self.for_rep(code, day, rep_id=None, team_id=team_id, role=role)
            if value is not None:
                total += value * count
                found = True
        return total if found else None


class _Reps:
    """Reps as id → (team id, role), and how many there are per team and role, and per role."""

    def __init__(self, rows: Iterable[tuple[int, int | None, str]]) -> None:
        self.by_id = {rep_id: (team_id, role) for rep_id, team_id, role in rows}
        self.team_roles: dict[int | None, Counter[str]] = defaultdict(Counter)
        for team_id, role in self.by_id.values():
            self.team_roles[team_id][role] += 1
        self.roles = Counter(role for _team_id, role in self.by_id.values())


def _subject(scope: str, rep_id: int | None, team_id: int | None, role: str) -> _Subject:
    if scope == Target.Scope.REP:
        return ("rep", rep_id)
    if scope == Target.Scope.TEAM:
        return ("team", team_id)
    if scope == Target.Scope.ROLE:
        return ("role", role)
    return ("all", None)


def _load_index(
    *, codes: Sequence[str], period: Period | str, period_starts: Sequence[dt.date]
) -> _TargetIndex:
    """One query: every target of these codes and period type that may be in force on a start."""
    targets = Target.objects.filter(
        Q(valid_to__isnull=True) | Q(valid_to__gte=min(period_starts)),
        kpi__in=list(codes),
        period=Period(period),
        valid_from__lte=max(period_starts),
    ).values_list("id", "kpi", "scope", "rep_id", "team_id", "role", "value", "valid_from",
                  "valid_to")  # fmt: skip
    return _TargetIndex(targets.order_by())


def targets_for_reps(
    *,
    reps: Iterable[RepLike],
    codes: Sequence[str],
    period: Period | str,
    period_starts: Sequence[dt.date],
) -> dict[RepKey, Decimal | None]:
    """Each rep's target per (rep id, code, period start): rep > team > role > everyone; 1 query.

    The rep's current `team_id` and `role` decide which team and role targets apply.
    """
    reps = list(reps)
    if not reps or not codes or not period_starts:
        return {}
    index = _load_index(codes=codes, period=period, period_starts=period_starts)
    # Each rep's fields read once (a page's own rep is `request.user`, a lazy object).
    subjects = [(rep.pk, rep.team_id, rep.role) for rep in reps]
    return {
        (rep_id, code, start): index.for_rep(code, start, rep_id=rep_id, team_id=team_id, role=role)
        for rep_id, team_id, role in subjects
        for code in codes
        for start in period_starts
    }


def targets_for_teams(
    *,
    teams: Iterable[Team | int],
    codes: Sequence[str],
    period: Period | str,
    period_starts: Sequence[dt.date],
) -> dict[TeamKey, Decimal | None]:
    """Each team's target per (team id, code, period start); at most 2 queries.

    Additive KPIs: the sum of the members' targets (None when none has one). Other KPIs: the
    team-scope target of that team.
    """
    team_ids = [team.pk if isinstance(team, Team) else team for team in teams]
    if not team_ids or not codes or not period_starts:
        return {}
    index = _load_index(codes=codes, period=period, period_starts=period_starts)
    rows: dict[int, list[tuple[int, int | None, str]]] = defaultdict(list)
    if any(REGISTRY[code].additive for code in codes):
        found = User.objects.filter(team_id__in=team_ids, role__in=SALES_ROLES).values_list(
            "id", "team_id", "role"
        )
        for rep_id, team_id, role in found.order_by():
            rows[team_id].append((rep_id, team_id, role))
    members = {team_id: _Reps(rows[team_id]) for team_id in team_ids}
    result: dict[TeamKey, Decimal | None] = {}
    for team_id in team_ids:
        for code in codes:
            for start in period_starts:
                if not index.has_code(code):
                    value = None  # No target of this KPI for anyone: skip resolving each rep.
                elif REGISTRY[code].additive:
                    value = index.sum_for_reps(code, start, members[team_id])
                else:
                    target = index.in_force(code, ("team", team_id), start)
                    value = target.value if target is not None else None
                result[(team_id, code, start)] = value
    return result


def target_for_org(
    *, codes: Sequence[str], period: Period | str, period_starts: Sequence[dt.date]
) -> dict[OrgKey, Decimal | None]:
    """The organisation's target per (code, period start); at most 2 queries.

    Additive KPIs: the sum over every sales rep's target (None when none has one). Other KPIs: the
    everyone-scope target.
    """
    if not codes or not period_starts:
        return {}
    index = _load_index(codes=codes, period=period, period_starts=period_starts)
    reps = _Reps(())
    if any(REGISTRY[code].additive for code in codes):
        found = User.objects.filter(role__in=SALES_ROLES).values_list("id", "team_id", "role")
        reps = _Reps(found.order_by())
    result: dict[OrgKey, Decimal | None] = {}
    for code in codes:
        for start in period_starts:
            if not index.has_code(code):
                value = None  # No target of this KPI for anyone: skip resolving each rep.
            elif REGISTRY[code].additive:
                value = index.sum_for_reps(code, start, reps)
            else:
                target = index.in_force(code, ("all", None), start)
                value = target.value if target is not None else None
            result[(code, start)] = value
    return result


def target_duplicates(*, target: Target) -> QuerySet[Target]:
    """Other stored targets with the same KPI, scope, subject, period type and `valid_from`."""
    return Target.objects.filter(
        kpi=target.kpi,
        scope=target.scope,
        rep_id=target.rep_id,
        team_id=target.team_id,
        role=target.role,
        period=target.period,
        valid_from=target.valid_from,
    ).exclude(pk=target.pk)


def target_for_rep(
    *, rep: User, code: str, period: Period | str, period_start: dt.date
) -> Decimal | None:
    """One rep's target for one KPI and period (see `targets_for_reps`)."""
    return targets_for_reps(reps=[rep], codes=[code], period=period, period_starts=[period_start])[
        (rep.pk, code, period_start)
    ]
