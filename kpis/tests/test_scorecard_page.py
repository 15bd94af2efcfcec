"""The scorecard page: the numbers a rep or a manager sees, who may see them, exports, queries."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from activities.services import activity_log
from kpis.compute.run import recompute_full
from kpis.models import KPIValue, RepDay, RepPeriod
from kpis.target_services import target_set
from people.models import User
from people.tests.factories import UserFactory
from saljsite.tests.api_support import build_org

pytestmark = pytest.mark.django_db

UTC = dt.UTC
MARCH = dt.date(2025, 3, 1)
URL = reverse("kpis:scorecard")
# The recompute time every stored value gets: 06:30 UTC = 08:30 in Stockholm (summer time).
COMPUTED = dt.datetime(2025, 4, 1, 6, 30, tzinfo=UTC)


def calls(rep: User, count: int, day: dt.date, *, connected: int = 0) -> None:
    for i in range(count):
        activity_log(
            owner=rep,
            kind="call",
            occurred_at=dt.datetime(day.year, day.month, day.day, 10, tzinfo=UTC),
            outcome="connected" if i < connected else "no_answer",
        )


def stored(rep: User, code: str, value: float, start: dt.date = MARCH) -> None:
    KPIValue.objects.create(
        scope="rep", scope_id=rep.pk, kpi=code, period="month", period_start=start,
        dimension="", value=value, numerator=None, denominator=None, computed_at=COMPUTED,
    )  # fmt: skip


@pytest.fixture
def org():
    """North: Anna, Eva, Olle (AEs), Sam (SDR), manager Mia. South: Bo (AE), manager Max.

    March 2025: calls made Anna 8 (2 connected), Eva 5, Olle 12, Bo 20; February: Anna 3.
    Targets: AE role 10 calls a month; Olle's own 15. Sales cycle (days, lower is better):
    Anna 45, Eva 20, Olle 40.
    """
    org = build_org()
    org.eva = UserFactory(username="eva", first_name="Eva", role=User.Role.AE, team=org.north)
    org.olle = UserFactory(username="olle", first_name="Olle", role=User.Role.AE, team=org.north)
    calls(org.anna, 8, dt.date(2025, 3, 10), connected=2)
    calls(org.anna, 3, dt.date(2025, 2, 10))
    calls(org.eva, 5, dt.date(2025, 3, 11))
    calls(org.olle, 12, dt.date(2025, 3, 12))
    calls(org.bo, 20, dt.date(2025, 3, 12))
    recompute_full()
    RepDay.objects.update(computed_at=COMPUTED)
    RepPeriod.objects.update(computed_at=COMPUTED)
    KPIValue.objects.update(computed_at=COMPUTED)
    for rep, days in ((org.anna, 45), (org.eva, 20), (org.olle, 40)):
        stored(rep, "sales_cycle_days", days)
    target_set(kpi="calls_made", scope="role", role="ae", period="month", value=10,
               valid_from=dt.date(2025, 1, 1), changed_by=None)  # fmt: skip
    target_set(kpi="calls_made", scope="rep", rep=org.olle, period="month", value=15,
               valid_from=dt.date(2025, 1, 1), changed_by=None)  # fmt: skip
    return org


def row(html: str, code: str) -> str:
    """The table row of one KPI, tags stripped and whitespace squeezed."""
    match = re.search(rf'<tr class="sc-line" data-kpi="{code}">(.*?)</tr>', html, re.S)
    assert match, code
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def cell(html: str, code: str, name: str) -> str:
    match = re.search(rf'<tr class="sc-line" data-kpi="{code}">(.*?)</tr>', html, re.S)
    assert match, code
    found = re.search(
        rf'<t[dh][^>]*class="[^"]*sc-{name}[^"]*"[^>]*>(.*?)</t[dh]>', match.group(1), re.S
    )
    assert found, (code, name)
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split())


def page(client, user, **params) -> str:
    client.force_login(user)
    response = client.get(URL, {"period": "month", "date": "2025-03-15", **params})
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def test_rep_sees_value_target_attainment_status_median_and_rank(client, org):
    html = page(client, org.anna)
    assert cell(html, "calls_made", "value") == "8"
    assert cell(html, "calls_made", "target") == "10"
    # 8 / 10 = 80 %: close.
    assert cell(html, "calls_made", "attainment") == "80% ≈ Close"
    # The North AEs made 8, 5 and 12 calls: median 8; Anna is second.
    assert cell(html, "calls_made", "median") == "8"
    assert cell(html, "calls_made", "rank") == "2 / 3"
    assert cell(html, "calls_made", "pace") == "—"  # a past period has no pace
    # Sales cycle is better when shorter: Eva 20 and Olle 40 days beat Anna's 45.
    assert cell(html, "sales_cycle_days", "value") == "45.0 d"
    assert cell(html, "sales_cycle_days", "median") == "40.0 d"
    assert cell(html, "sales_cycle_days", "rank") == "3 / 3"
    # No target: no attainment, and the badge says so in words.
    assert cell(html, "sales_cycle_days", "attainment") == "— – No target"
    # The latest recompute of the values shown, in Stockholm time (06:30 UTC = 08:30 CEST).
    assert "Computed at 04/01/2025 8:30 a.m." in html
    assert "March 2025" in html


def test_groups_come_leading_then_lagging(client, org):
    html = page(client, org.anna)
    headings = re.findall(r"<h[23][^>]*>([^<]+)</h[23]>", html)
    assert headings[:6] == [
        "Leading indicators", "Activity", "Efficiency", "Progress", "Lagging indicators", "Results",
    ]  # fmt: skip


def test_every_value_links_to_its_records(client, org):
    html = page(client, org.anna)
    link = (
        f'href="/scorecard/records/?scope=rep&amp;id={org.anna.pk}&amp;kpi=calls_made'
        '&amp;period=month&amp;start=2025-03-01"'
    )
    assert link in html
    values = re.findall(r'<td class="num sc-value"[^>]*>\s*<a href="/scorecard/records/', html)
    assert len(values) == len(re.findall(r'<tr class="sc-line"', html)) == 15


def test_sparkline_data_holds_twelve_periods_of_the_reps_values_and_targets(client, org):
    html = page(client, org.anna)
    data = json.loads(re.search(r'id="scorecard-data"[^>]*>(.*?)</script>', html, re.S).group(1))
    assert data["periods"][0] == "2024-04-01" and data["periods"][-1] == "2025-03-01"
    calls_made = data["series"]["calls_made"]
    assert calls_made["values"][-2:] == [3.0, 8.0]
    assert calls_made["values"][:-2] == [None] * 10
    assert calls_made["targets"][-3:] == [10.0, 10.0, 10.0]
    assert calls_made["targets"][0] is None  # the target holds from January 2025
    assert len(re.findall(r'<canvas class="sparkline"', html)) == 15


def test_manager_sees_a_rep_of_their_team_with_the_reps_own_target(client, org):
    html = page(client, org.mia, rep=org.olle.pk)
    assert "Scorecard: Olle" in html
    # Olle's own target 15 beats the AE role's 10: 12 / 15 = 80 %.
    assert cell(html, "calls_made", "target") == "15"
    assert cell(html, "calls_made", "attainment") == "80% ≈ Close"
    assert cell(html, "calls_made", "rank") == "1 / 3"
    assert cell(html, "sales_cycle_days", "rank") == "2 / 3"
    # The rep picker lists the reps of Mia's team only.
    options = re.findall(
        r'<option value="(\d+)"', html.split('id="sc-rep"')[1].split("</select>")[0]
    )
    assert sorted(map(int, options)) == sorted(u.pk for u in (org.anna, org.sam, org.eva, org.olle))


def test_behind_and_met_statuses(client, org):
    html = page(client, org.mia, rep=org.eva.pk)
    assert cell(html, "calls_made", "attainment") == "50% ! Behind"
    assert cell(html, "calls_made", "rank") == "3 / 3"
    html = page(client, org.root, rep=org.bo.pk)
    assert cell(html, "calls_made", "attainment") == "200% ✓ Met"
    assert cell(html, "calls_made", "median") == "20"  # Bo is South's only AE
    assert cell(html, "calls_made", "rank") == "1 / 1"


def test_pace_and_projection_in_the_current_period(client, org, monkeypatch):
    # Wednesday 12 March 2025: 8 of March's 21 working days have begun.
    monkeypatch.setattr("kpis.views.scorecard.timezone.localdate", lambda: dt.date(2025, 3, 12))
    client.force_login(org.anna)
    html = client.get(URL).content.decode()
    # Expected so far 10 × 8 / 21 = 3.8; 8 calls are on pace; projection 8 × 21 / 8 = 21.
    assert cell(html, "calls_made", "pace") == "▲ On pace expected so far 3.8 · projection 21"
    assert cell(html, "sales_cycle_days", "pace") == "—"  # not additive
    assert "This period" not in html  # already there
    assert 'rel="next"' not in html  # no future periods


def test_previous_and_next_period_links(client, org):
    html = page(client, org.anna)
    assert f'href="?rep={org.anna.pk}&amp;period=month&amp;date=2025-02-01" rel="prev"' in html
    assert f'href="?rep={org.anna.pk}&amp;period=month&amp;date=2025-04-01" rel="next"' in html
    assert f'href="?rep={org.anna.pk}&amp;period=month">This period</a>' in html
    html = page(client, org.anna, date="2025-02-01")
    assert cell(html, "calls_made", "value") == "3"
    assert "February 2025" in html


def test_week_period(client, org):
    html = page(client, org.anna, period="week", date="2025-03-12")
    assert "w. 11 2025" in html
    assert cell(html, "calls_made", "value") == "8"
    assert cell(html, "calls_made", "target") == "—"  # the targets are monthly


@pytest.mark.parametrize(
    ("viewer", "rep"),
    [("anna", "eva"), ("anna", "bo"), ("sam", "anna"), ("mia", "bo"), ("max", "anna")],
)
def test_reps_out_of_reach_are_not_found(client, org, viewer, rep):
    client.force_login(getattr(org, viewer))
    response = client.get(URL, {"rep": getattr(org, rep).pk})
    assert response.status_code == 404


def test_unknown_rep_is_not_found(client, org):
    client.force_login(org.root)
    assert client.get(URL, {"rep": 999_999}).status_code == 404


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"period": "decade"}, "Select a valid choice"),
        ({"date": "2025-13-01"}, "Enter a valid date"),
        ({"rep": "anna"}, "Enter a whole number"),
        ({"format": "pdf"}, "Select a valid choice"),
    ],
)
def test_bad_parameters_are_a_400_page(client, org, params, message):
    client.force_login(org.anna)
    response = client.get(URL, params)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_signed_out_visitors_sign_in_first(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_manager_without_a_sales_role_opens_the_first_rep_of_their_teams(client, org):
    client.force_login(org.max)
    html = client.get(URL, {"date": "2025-03-15"}).content.decode()
    assert f"Scorecard: {org.bo}" in html
    assert cell(html, "calls_made", "value") == "20"


def test_manager_without_reps_sees_an_empty_state(client, org):
    lonely = UserFactory(username="lonely", role=User.Role.MANAGER, team=None)
    client.force_login(lonely)
    response = client.get(URL)
    assert response.status_code == 200
    assert "No scorecard to show" in response.content.decode()


def test_csv_export_is_the_scorecard_as_shown(client, org):
    client.force_login(org.anna)
    response = client.get(URL, {"period": "month", "date": "2025-03-15", "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        'attachment; filename="scorecard-anna-month-2025-03-01.csv"'
    )
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [
        "kpi", "name", "category", "value", "target", "attainment", "status", "team_median", "rank",
    ]  # fmt: skip
    by_code = {r[0]: r for r in rows[1:]}
    assert len(by_code) == 15
    _code, name, category, value, target, reached, status, median, rank = by_code["calls_made"]
    assert (name, category, status, rank) == ("Calls made", "activity", "close", "2 / 3")
    assert (float(value), float(target), float(reached), float(median)) == (8, 10, 0.8, 8)
    assert by_code["sales_cycle_days"][6:] == ["", "40.0", "3 / 3"]


def test_xlsx_export_opens_in_openpyxl(client, org):
    client.force_login(org.mia)
    response = client.get(
        URL, {"rep": org.olle.pk, "period": "month", "date": "2025-03-15", "format": "xlsx"}
    )
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "kpi" and len(rows) == 16
    calls_made = next(r for r in rows if r[0] == "calls_made")
    assert calls_made[3:] == (12, 15, 0.8, "close", 8, "1 / 3")  # North AEs: 8, 5, 12


def _more_aes(org, count: int) -> None:
    for i in range(count):
        rep = UserFactory(username=f"extra{i}", role=User.Role.AE, team=org.north)
        calls(rep, 2 + i, dt.date(2025, 3, 3 + i % 20))
        stored(rep, "sales_cycle_days", 10 + i)
    recompute_full()


@pytest.mark.parametrize(("extra", "rank"), [(0, "2 / 3"), (12, "7 / 15")])
def test_query_count_does_not_grow_with_team_or_history(
    client, org, django_assert_max_num_queries, extra, rank
):
    # Extra AEs make 2, 3 … 13 calls: with 12 of them, Olle and the five with 9–13 beat Anna's 8.
    _more_aes(org, extra)
    calls(org.anna, 2, dt.date(2024, 6, 10))
    recompute_full()
    client.force_login(org.mia)
    client.get(URL)  # warm the session and content types
    with django_assert_max_num_queries(12):
        response = client.get(URL, {"rep": org.anna.pk, "date": "2025-03-15"})
    assert response.status_code == 200
    assert cell(response.content.decode(), "calls_made", "rank") == rank
