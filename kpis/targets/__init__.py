"""Targets in force (`resolution`: rep > team > role > everyone, team and organisation sums) and
a value's attainment, status and pace against them (`attainment`), as KPIS.md "Targets,
attainment, pace" defines them. Callers import from `kpis.targets`."""

from kpis.targets.attainment import (
    CLOSE_AT,
    MET_AT,
    Number,
    Pace,
    Status,
    attainment,
    attainment_status,
    pace,
)
from kpis.targets.resolution import (
    SALES_ROLES,
    OrgKey,
    RepKey,
    RepLike,
    TeamKey,
    target_duplicates,
    target_for_org,
    target_for_rep,
    targets_for_reps,
    targets_for_teams,
)

__all__ = [
    "CLOSE_AT",
    "MET_AT",
    "SALES_ROLES",
    "Number",
    "OrgKey",
    "Pace",
    "RepKey",
    "RepLike",
    "Status",
    "TeamKey",
    "attainment",
    "attainment_status",
    "pace",
    "target_duplicates",
    "target_for_org",
    "target_for_rep",
    "targets_for_reps",
    "targets_for_teams",
]
