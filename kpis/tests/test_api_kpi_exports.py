"""CSV and XLSX downloads of `/kpi-values/` (`?format=csv|xlsx`): every matching row, the JSON
answer's columns, the same filters and permissions."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from kpis.compute.run import recompute_full
from kpis.tests.test_api_kpis import VALUES_URL, calls, month_target
from saljsite.tabular import XLSX_TYPE
from saljsite.tests.api_support import API, build_org, client_for

pytestmark = pytest.mark.django_db

HEADER = [
    "kpi", "scope", "rep", "team", "period", "period_start", "dimension",
    "value", "numerator", "denominator", "target", "attainment", "status",
]  # fmt: skip
# Two months of the North team's reps: more rows than the page asked for (page_size=1).
QUERY = {
    "kpi": "calls_made",
    "scope": "rep",
    "start": "2025-03-01",
    "end": "2025-04-30",
    "dimension": "",
    "page_size": 1,
}


@pytest.fixture
def org():
    """Anna 8 calls in March, 3 in April (target 10 a month); Sam 4 in March; Bo (South) 5."""
    org = build_org()
    calls(org.anna, 8, dt.date(2025, 3, 10), connected=2)
    calls(org.anna, 3, dt.date(2025, 4, 2))
    calls(org.sam, 4, dt.date(2025, 3, 10))
    calls(org.bo, 5, dt.date(2025, 3, 10))
    month_target(rep=org.anna, value=10)
    recompute_full()
    return org


def csv_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")  # Excel reads the BOM as UTF-8.
    return list(csv.reader(io.StringIO(text[1:])))


def test_the_csv_holds_every_matching_row_not_a_page(org):
    response = client_for(org.mia).get(VALUES_URL, {**QUERY, "team": org.north.pk, "format": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="kpi-values-rep-month-2025-03-01-2025-04-30.csv"'
    )
    anna, sam, north = str(org.anna.pk), str(org.sam.pk), str(org.north.pk)
    # Anna: 8 of 10 = 80 % (close) in March, 3 of 10 = 30 % (behind) in April; Sam: no target,
    # no April calls (a row whose value is empty). Reps in id order (Anna before Sam).
    assert csv_rows(response) == [
        HEADER,
        ["calls_made", "rep", anna, north, "month", "2025-03-01", "", "8.0", "8.0", "", "10.0",
         "0.8", "close"],
        ["calls_made", "rep", anna, north, "month", "2025-04-01", "", "3.0", "3.0", "", "10.0",
         "0.3", "behind"],
        ["calls_made", "rep", sam, north, "month", "2025-03-01", "", "4.0", "4.0", "", "", "",
         ""],
        ["calls_made", "rep", sam, north, "month", "2025-04-01", "", "", "", "", "", "", ""],
    ]  # fmt: skip


def test_the_csv_has_the_rows_of_the_json_answer(org):
    client = client_for(org.mia)
    query = {**QUERY, "team": org.north.pk, "page_size": 1000}

    json_rows = client.get(VALUES_URL, query).data["results"]
    exported = csv_rows(client.get(VALUES_URL, {**query, "format": "csv"}))

    def cell(value) -> str:
        return "" if value is None else str(value)

    assert exported[1:] == [[cell(row[name]) for name in HEADER] for row in json_rows]


def test_the_xlsx_opens_with_typed_cells(org):
    response = client_for(org.anna).get(
        VALUES_URL,
        {**QUERY, "rep": org.anna.pk, "end": "2025-03-31", "format": "xlsx"},
    )

    assert response.status_code == 200
    assert response["Content-Type"] == XLSX_TYPE
    assert response["Content-Disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0] == HEADER
    assert rows[1:] == [
        ["calls_made", "rep", org.anna.pk, org.north.pk, "month", dt.datetime(2025, 3, 1),
         None, 8, 8, None, 10, 0.8, "close"],
    ]  # fmt: skip


def test_accept_text_csv_downloads_the_csv_too(org):
    response = client_for(org.anna).get(
        VALUES_URL,
        {**QUERY, "rep": org.anna.pk, "end": "2025-03-31"},
        HTTP_ACCEPT="text/csv",
    )

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert len(csv_rows(response)) == 2


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_another_teams_reps_are_not_in_the_download(org, fmt):
    response = client_for(org.anna).get(VALUES_URL, {**QUERY, "team": org.south.pk, "format": fmt})

    assert response.status_code == 200
    if fmt == "csv":
        assert csv_rows(response) == [HEADER]
    else:
        sheet = load_workbook(io.BytesIO(response.content)).active
        assert [list(row) for row in sheet.iter_rows(values_only=True)] == [HEADER]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_anonymous_is_401_and_a_bad_query_is_400_both_as_json(org, fmt):
    anonymous = client_for().get(VALUES_URL, {**QUERY, "team": org.north.pk, "format": fmt})
    invalid = client_for(org.mia).get(VALUES_URL, {"kpi": "nonsense", "format": fmt})

    assert anonymous.status_code == 401
    assert anonymous["Content-Type"] == "application/json"
    assert invalid.status_code == 400
    assert invalid["Content-Type"] == "application/json"
    assert set(invalid.json()) >= {"kpi", "scope"}


def test_the_download_makes_the_same_queries_for_few_and_many_rows(
    org, django_assert_max_num_queries
):
    client = client_for(org.mia)
    counts = []
    for end in ("2025-03-31", "2025-12-31"):
        with django_assert_max_num_queries(8) as captured:
            response = client.get(
                VALUES_URL, {**QUERY, "team": org.north.pk, "end": end, "format": "csv"}
            )
        assert len(csv_rows(response)) > 1
        counts.append(len(captured))

    assert counts[0] == counts[1]


def test_the_schema_documents_the_formats():
    schema = client_for().get(f"{API}/schema/", {"format": "json"}).json()

    operation = schema["paths"]["/api/v1/kpi-values/"]["get"]
    (fmt,) = [p for p in operation["parameters"] if p["name"] == "format"]
    assert sorted(fmt["schema"]["enum"]) == ["csv", "json", "xlsx"]
    assert fmt["description"]
    assert set(operation["responses"]["200"]["content"]) == {
        "application/json",
        "text/csv",
        XLSX_TYPE,
    }
    assert "?format=csv" in operation["description"]
