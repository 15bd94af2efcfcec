"""API views of the KPI app: targets, the registry, KPI values, scorecards and recompute runs.

One module per resource: `targets`, `registry`, `values`, `scorecards`, `recompute`; each says
who reads and writes what. Callers (saljsite/api/urls.py) import from `kpis.api`.
"""

from kpis.api.recompute import RecomputeStateView, RecomputeView
from kpis.api.registry import LANGUAGES, KPIViewSet
from kpis.api.scorecards import ScorecardView
from kpis.api.targets import TargetFilter, TargetViewSet
from kpis.api.values import EXPORT_COLUMNS, MAX_ROWS, KPIValueView

__all__ = [
    "EXPORT_COLUMNS",
    "LANGUAGES",
    "MAX_ROWS",
    "KPIValueView",
    "KPIViewSet",
    "RecomputeStateView",
    "RecomputeView",
    "ScorecardView",
    "TargetFilter",
    "TargetViewSet",
]
