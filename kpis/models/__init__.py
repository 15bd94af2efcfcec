"""KPI storage: dirty cells, daily rollups, period values, targets and role presets."""

from kpis.models.cells import DirtyCell
from kpis.models.rollups import COUNTER_FIELDS, KPIValue, RepDay, RepDayDimension
from kpis.models.targets import RolePreset, Target, TargetChange

__all__ = [
    "COUNTER_FIELDS",
    "DirtyCell",
    "KPIValue",
    "RepDay",
    "RepDayDimension",
    "RolePreset",
    "Target",
    "TargetChange",
]
