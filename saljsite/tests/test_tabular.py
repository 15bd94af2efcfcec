"""CSV and XLSX downloads carry the same rows."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from saljsite.tabular import tabular_response

HEADER = ["rep", "kpi", "value", "day"]
ROWS = [
    ["Åsa Öberg", "calls_made", Decimal("12"), dt.date(2026, 11, 23)],
    ["Bo", "win_rate", None, None],
]


def test_csv_is_utf8_with_a_bom_for_excel_and_empty_cells_for_missing_values():
    response = tabular_response(fmt="csv", filename="team", header=HEADER, rows=ROWS)
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    assert response["Content-Disposition"] == 'attachment; filename="team.csv"'
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows == [
        HEADER,
        ["Åsa Öberg", "calls_made", "12", "2026-11-23"],
        ["Bo", "win_rate", "", ""],
    ]


def test_xlsx_opens_with_the_same_rows():
    response = tabular_response(fmt="xlsx", filename="team", header=HEADER, rows=ROWS)
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[0] == HEADER
    assert values[1][:3] == ["Åsa Öberg", "calls_made", 12]
    assert values[1][3].date() == dt.date(2026, 11, 23)
    assert values[2] == ["Bo", "win_rate", None, None]


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="unknown export format"):
        tabular_response(fmt="pdf", filename="x", header=HEADER, rows=ROWS)
