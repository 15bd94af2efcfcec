"""KPI storage: dirty cells, daily rollups, period values, targets and role presets."""

from kpis.models.calls import CallDay, CallTeam
from kpis.models.cells import DirtyCell, Source
from kpis.models.rollups import (
    COUNTER_FIELDS,
    KPIValue,
    RepDay,
    RepDayDimension,
    RepPeriod,
    RepPeriodDimension,
)
from kpis.models.targets import RolePreset, Target, TargetChange

__all__ = [
    "COUNTER_FIELDS",
    "CallDay",
    "CallTeam",
    "DirtyCell",
    "KPIValue",
    "RepDay",
    "RepDayDimension",
    "RepPeriod",
    "RepPeriodDimension",
    "RolePreset",
    "Source",
    "Target",
    "TargetChange",
]
