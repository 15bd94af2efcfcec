"""The team comparison as chart data (static/js/team.js) and as CSV/XLSX rows: what is shown,
raw numbers, pay hidden as on the page."""

from __future__ import annotations

from django.utils.translation import gettext as _

from kpis.registry import Direction
from kpis.team_comparison.rows import Cell, TeamComparison
from kpis.templatetags.kpis_ui import format_kpi_value


def chart_data(comparison: TeamComparison) -> dict:
    """What static/js/team.js draws: the chart KPI per rep (table order), the median and the
    target, with each number also formatted for the locale (tooltips)."""
    kpi = comparison.chart_kpi
    ratio = kpi.is_ratio

    def plot(value) -> float | None:
        if value is None:
            return None
        return round(float(value) * 100, 2) if ratio else float(value)

    cells = [row.cell(kpi.code) for row in comparison.rows]
    values = [None if c is None or c.hidden else c.value for c in cells]
    targets = [None if c is None or c.hidden else c.target for c in cells]
    median = next((c.value for c in comparison.median_cells if c.kpi.code == kpi.code), None)
    return {
        "label": str(kpi.name),
        "unit": "%" if ratio else "",
        "labels": [row.rep.get_full_name() or row.rep.username for row in comparison.rows],
        "values": [plot(v) for v in values],
        "valueText": [format_kpi_value(v, kpi) for v in values],
        "median": plot(median),
        "medianText": format_kpi_value(median, kpi),
        "medianLabel": _("Team median"),
        "targets": [plot(t) for t in targets],
        "targetText": [format_kpi_value(t, kpi) for t in targets],
        "targetLabel": _("Target"),
        "betterHigher": kpi.direction is Direction.UP,
    }


def export_header(comparison: TeamComparison) -> list[str]:
    header = ["section", "rep", "username"]
    for kpi in comparison.kpis:
        code = kpi.code
        header += [code, f"{code}_target", f"{code}_attainment", f"{code}_status"]
    return header


FUNNEL_HEADER = [
    "section",
    "rep",
    "username",
    "stage",
    "stage_conversion",
    "exited_forward",
    "exited",
    "days_in_stage",
    "below_team",
    "p_value",
]


def _cells_out(cells: tuple[Cell, ...]) -> list:
    out: list = []
    for cell in cells:
        if cell.hidden:
            out += [None, None, None, None]
        else:
            out += [
                cell.value,
                cell.target,
                cell.attainment,
                str(cell.status) if cell.status else None,
            ]
    return out


def export_rows(comparison: TeamComparison) -> list[list]:
    """The table as shown (raw numbers, hidden pay left empty), then the funnel as a second
    section with its own header row."""
    team = comparison.team.name
    rows = [
        ["kpis", str(row.rep), row.rep.username, *_cells_out(row.cells)] for row in comparison.rows
    ]
    rows.append(["team", team, "", *_cells_out(comparison.team_cells)])
    rows.append(["median", _("Median"), "", *_cells_out(comparison.median_cells)])
    rows.append([])
    rows.append(FUNNEL_HEADER)
    subjects = [(str(row.rep), row.rep.username, row.funnel) for row in comparison.rows]
    subjects.append((team, "", comparison.team_funnel))
    for name, username, cells in subjects:
        for cell in cells:
            rows.append(
                [
                    "funnel" if username else "funnel_team",
                    name,
                    username,
                    cell.stage.slug,
                    cell.conversion,
                    cell.forward,
                    cell.exits,
                    cell.days,
                    "yes" if cell.flag else ("no" if username else None),
                    cell.flag.p_value if cell.flag else None,
                ]
            )
    return rows
