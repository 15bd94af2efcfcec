"""The team comparison (`/team/`): a team's reps of one role side by side on that role's KPIs.

`team_comparison` hands the page (and its CSV/XLSX export) fully prepared rows: each rep's value
per KPI with target, attainment and status, or, without a target, where it stands against the
team median (direction-aware); the team's own value (Σnum / Σden read at team scope, never a mean
of the reps); the median of the reps; the funnel per open stage with a flag where a rep converts
significantly worse than the rest of the team (`kpis.funnel`). A constant number of queries.

Pay: `cost_to_revenue` is derived from what reps are paid. Only the team's manager (and a
superuser) sees it for everyone; a rep sees their own and nobody else's, nor the team's or the
median (they would reveal the others' pay).

Modules: `rows` (what is shown: cells, rows, columns, the page), `selectors` (the reads),
`exports` (chart data and CSV/XLSX rows).
"""

from __future__ import annotations

from kpis.team_comparison.exports import FUNNEL_HEADER, chart_data, export_header, export_rows
from kpis.team_comparison.rows import (
    PAY_DERIVED,
    Cell,
    Column,
    FunnelCell,
    RepRow,
    TeamComparison,
    best_first,
)
from kpis.team_comparison.selectors import (
    FUNNEL_CODES,
    default_role,
    team_choices,
    team_comparison,
    team_role_counts,
)

__all__ = [
    "FUNNEL_CODES",
    "FUNNEL_HEADER",
    "PAY_DERIVED",
    "Cell",
    "Column",
    "FunnelCell",
    "RepRow",
    "TeamComparison",
    "best_first",
    "chart_data",
    "default_role",
    "export_header",
    "export_rows",
    "team_choices",
    "team_comparison",
    "team_role_counts",
]
