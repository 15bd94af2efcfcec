"""The team table's cells as HTML, built in Python once per cell.

A team of 30 reps has ~500 value and funnel cells; through `{% include %}` and a dozen template
lookups, filters and translations each, they cost more than everything else on the page. These
functions write the same markup the cell templates did (escaped the same way), with the fixed
translations looked up once per page.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from kpis.team_comparison.rows import Cell, FunnelCell
from kpis.templatetags.kpis_ui import format_kpi_value, format_percent


@dataclass(frozen=True)
class _Words:
    """The fixed words of the cells in the active language, escaped for an attribute or text."""

    pay_title: str
    pay_hidden: str
    records_title: str
    status_title: str
    entries_title: str
    sample_title: str
    median: str
    exits_title: str
    flag_title: str
    flag: str

    @classmethod
    def active(cls) -> _Words:
        return cls(
            pay_title=escape(gettext("Pay-derived: only the team manager sees it")),
            pay_hidden=escape(gettext("Hidden: pay-derived")),
            records_title=escape(gettext("Show the records behind this number")),
            status_title=gettext("%(status)s: %(attainment)s of the target %(target)s"),
            entries_title=escape(gettext("Show the stage entries behind this number")),
            sample_title=escape(gettext("exited forward / exited")),
            median=escape(gettext("median")),
            exits_title=escape(gettext("Show the stage exits behind this number")),
            flag_title=gettext(
                "One-sided two-proportion z-test against the rest of the team: p = %(p)s"
            ),
            flag=escape(gettext("significantly below team")),
        )


def _cell(cell: Cell, words: _Words) -> str:
    tone = cell.tone
    out = [
        f'<td class="num tc-cell{f" tone-{escape(tone)}" if tone else ""}" '
        f'data-label="{escape(cell.kpi.name)}">'
    ]
    if cell.hidden:
        out.append(
            f'<span class="tc-hidden" title="{words.pay_title}" aria-hidden="true">•••</span>'
            f'<span class="sr-only">{words.pay_hidden}</span>'
        )
    else:
        value = escape(format_kpi_value(cell.value, cell.kpi))
        if cell.records_url:
            out.append(
                f'<a class="tc-v" href="{escape(cell.records_url)}" '
                f'title="{words.records_title}">{value}</a>'
            )
        else:
            out.append(f'<span class="tc-v">{value}</span>')
        if cell.status:
            text = escape(cell.status_text)
            title = words.status_title % {
                "status": text,
                "attainment": escape(format_percent(cell.attainment)),
                "target": escape(format_kpi_value(cell.target, cell.kpi)),
            }
            out.append(
                f' <span class="tc-mark tc-status status-{escape(cell.status)}" title="{title}">'
                f'<span aria-hidden="true">{escape(cell.status_icon)}</span> '
                f'<span class="tc-word">{text}</span></span>'
            )
        elif cell.versus_median:
            said = escape(cell.median_text)
            better = cell.better_word
            word = f' <span class="tc-word" aria-hidden="true">{escape(better)}</span>'
            out.append(
                f' <span class="tc-mark tc-median-mark" title="{said}">'
                f'<span aria-hidden="true">{escape(cell.median_icon)}</span>'
                f'{word if better else ""}<span class="sr-only">{said}</span></span>'
            )
    out.append("</td>\n")
    return "".join(out)


def _funnel_cell(cell: FunnelCell, words: _Words) -> str:
    flagged = " tc-flagged" if cell.flag else ""
    out = [f'<td class="tc-fcell{flagged}" data-label="{escape(cell.stage)}">\n  ']
    if cell.exits is None and cell.days is None:
        out.append('<span class="muted">—</span>')
    else:
        conversion = escape(format_percent(cell.conversion))
        out.append('\n  <span class="tc-conv">')
        if cell.conversion_url:
            out.append(
                f'<a href="{escape(cell.conversion_url)}" title="{words.entries_title}">'
                f"{conversion}</a>"
            )
        else:
            out.append(conversion)
        if cell.sample:
            out.append(
                f' <span class="muted small" title="{words.sample_title}">'
                f"({escape(cell.sample)})</span>"
            )
        out.append("</span>\n  ")
        if cell.days is not None:
            days = escape(format_kpi_value(cell.days, "days_in_stage"))
            if cell.days_url:
                days = f'<a href="{escape(cell.days_url)}" title="{words.exits_title}">{days}</a>'
            out.append(f'<span class="tc-days small">{words.median} {days}</span>')
        out.append("\n  ")
        if cell.flag:
            p_text = escape(cell.p_text)
            title = words.flag_title % {"p": p_text}
            out.append(
                f'<span class="tc-flag" title="{title}"><span aria-hidden="true">⚑</span> '
                f'{words.flag}</span> <span class="tc-p muted small">(p = {p_text})</span>'
            )
        out.append("\n  ")
    out.append("\n</td>\n")
    return "".join(out)


def cells_html(cells: tuple[Cell, ...], words: _Words | None = None) -> SafeString:
    """A row's value cells (`<td>` each), as `kpis/team.html` shows them."""
    words = words or _Words.active()
    return mark_safe("".join(_cell(cell, words) for cell in cells))  # noqa: S308  (escaped above)


def funnel_cells_html(cells: tuple[FunnelCell, ...], words: _Words | None = None) -> SafeString:
    """A row's funnel cells (`<td>` each), as `kpis/team.html` shows them."""
    words = words or _Words.active()
    return mark_safe("".join(_funnel_cell(cell, words) for cell in cells))  # noqa: S308


def words() -> _Words:
    """The cells' fixed words in the active language (pass them to every row of a page)."""
    return _Words.active()
