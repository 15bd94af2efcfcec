"""Run an import: read the file, validate every row, then write all of it or nothing.

`run_import(kind=, path=, user=, commit=False)` returns an `ImportReport`: counts of rows created,
updated and unchanged, and every bad row's line, column and reason. A dry run (the default) does
the whole import inside a transaction and rolls it back, so what it reports is exactly what a
commit would do; a commit is rolled back as a whole as soon as one row is bad.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils.translation import gettext as _

from pipeline.imports.formats import site_zone
from pipeline.imports.readers import FileError, read_table

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from people.models import User

MAX_ERRORS = 1000  # Reported in full; past this only counted (the file is rejected either way).

Progress = Callable[[int, float], None]  # (rows read, fraction of the file read)


@dataclass
class RowError:
    line: int
    column: str
    message: str


@dataclass
class ImportReport:
    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    error_count: int = 0
    errors: list[RowError] = field(default_factory=list)
    committed: bool = False

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def add_error(self, line: int, column: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(RowError(line, column, str(message)))

    def count(self, outcome: str, n: int = 1) -> None:
        setattr(self, outcome, getattr(self, outcome) + n)

    def summary(self) -> str:
        counts = _("%(created)s created, %(updated)s updated, %(unchanged)s unchanged") % {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
        }
        if self.error_count:
            counts += "; " + _("%(count)s error(s): nothing written") % {"count": self.error_count}
        return counts

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImportReport:
        data = {k: v for k, v in data.items() if k != "ok"}
        data["errors"] = [RowError(**e) for e in data.get("errors", [])]
        return cls(**data)


class Context:
    """Who imports (their reach decides which users, teams and rows they may write) and how."""

    def __init__(
        self, *, user: User | None, commit: bool, progress: Progress | None = None
    ) -> None:
        from people.models import Team, User

        self.user = user
        self.commit = commit
        self.progress = progress or (lambda rows, fraction: None)
        self.zone: ZoneInfo = site_zone()
        # No user: the command line, with an administrator's reach.
        self.is_superuser = user is None or bool(user.is_superuser)
        if self.is_superuser:
            self.allowed_user_ids: frozenset[int] | None = None
            self.managed_team_ids: frozenset[int] | None = None
        else:
            teams = (
                frozenset(Team.objects.filter(manager=user).values_list("pk", flat=True))
                if user.role == User.Role.MANAGER
                else frozenset()
            )
            self.managed_team_ids = teams
            members = set(User.objects.filter(team__in=teams).values_list("pk", flat=True))
            self.allowed_user_ids = frozenset(members | {user.pk})

    def may_act_for(self, user_id: int | None) -> bool:
        """A manager imports for the members of the teams they manage (and themselves)."""
        return user_id is None or self.allowed_user_ids is None or user_id in self.allowed_user_ids

    def may_use_team(self, team_id: int | None) -> bool:
        return team_id is None or self.managed_team_ids is None or team_id in self.managed_team_ids


class _Rollback(Exception):
    pass


def check_header(kind, header: list[str], report: ImportReport) -> list[int | None] | None:
    """Map the kind's columns to positions in the header; report unknown or missing columns."""
    names = [name.strip().lower() for name in header]
    known = {column.name for column in kind.columns}
    for name in names:
        if name and name not in known:
            report.add_error(1, name, _("Unknown column (see the template for this kind)."))
    seen: set[str] = set()
    for name in names:
        if name in seen and name:
            report.add_error(1, name, _("The column appears twice."))
        seen.add(name)
    positions = [names.index(c.name) if c.name in names else None for c in kind.columns]
    for column, position in zip(kind.columns, positions, strict=True):
        if position is None and column.required:
            report.add_error(1, column.name, _("A required column is missing."))
    return positions if report.ok else None


def run_import(
    *,
    kind: str,
    path: str | Path,
    user: User | None,
    commit: bool = False,
    fmt: str = "",
    encoding: str = "",
    delimiter: str = "",
    progress: Progress | None = None,
) -> ImportReport:
    """Validate a file of `kind` rows as `user` would import it; with `commit`, write it (all or
    nothing, in one transaction); without, roll everything back and only report."""
    from pipeline.imports.kinds import KINDS

    spec = KINDS[kind]
    report = ImportReport(kind=kind)
    ctx = Context(user=user, commit=commit, progress=progress)
    try:
        table = read_table(Path(path), fmt=fmt, encoding=encoding, delimiter=delimiter)
        positions = check_header(spec, table.header, report)
        if positions is None:
            return report
        with transaction.atomic():
            spec.run(ctx, table, positions, report)
            if not report.ok or not commit:
                raise _Rollback
            report.committed = True
    except _Rollback:
        pass
    except FileError as error:
        report.add_error(0, "", str(error))
    if not report.ok:
        report.committed = False
    report.errors.sort(key=lambda e: e.line)  # Stable: a row's errors keep their order.
    return report
