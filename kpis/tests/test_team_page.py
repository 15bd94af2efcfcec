"""The team comparison (`/team/`): the numbers a rep and a manager see for seeded KPI values and
targets, the order, the funnel flag, who may open which team, exports, and the query count.

The fixture writes the stored rollups directly (RepDay, RepDayDimension, KPIValue; the period
sums derived from the days as the recompute does): the engine
that fills them is tested in test_daily/test_periodic; here the page must show them right.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from decimal import Decimal
from html import unescape

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from kpis.compute.period_rollups import period_rollups_rebuild
from kpis.models import KPIValue, RepDay, RepDayDimension, RolePreset, Target
from people.tests.factories import ManagerFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 18)
NOV = dt.date(2026, 11, 1)
JAN = dt.date(2026, 1, 1)
URL = "/team/"
CODES = ["calls_made", "win_rate", "revenue_won", "sales_cycle_days", "cost_to_revenue"]


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: TODAY)


def _day(rep, day: dt.date, **counters) -> None:
    RepDay.objects.create(rep=rep, day=day, computed_at=timezone.now(), **counters)
    period_rollups_rebuild()


def _dims(rep, day: dt.date, counter: str, **values: float) -> None:
    RepDayDimension.objects.bulk_create(
        RepDayDimension(rep=rep, day=day, counter=counter, dimension=key.replace("__", ":"),
                        value=Decimal(str(value)), computed_at=timezone.now())
        for key, value in values.items()
    )  # fmt: skip
    period_rollups_rebuild()


def _stored(scope: str, scope_id: int, kpi: str, value, dimension: str = "") -> None:
    KPIValue.objects.create(scope=scope, scope_id=scope_id, kpi=kpi, period="month",
                            period_start=NOV, dimension=dimension, value=value,
                            computed_at=timezone.now())  # fmt: skip


def build_team_org():
    """North (manager Mia): AEs Anna, Eva, Olle and SDR Sam. South (manager Max): AE Bo.

    November 2026, AEs: calls made Anna 10, Eva 20, Olle 30 (Sam 40); deals won/lost Anna 1/3,
    Eva 3/1, Olle 1/0 (win rate 25 %, 75 %, 100 %: median 75 %, mean 66.7 %; the team 5/9 =
    55.6 %); revenue won 100 000, 300 000, 50 000; cost 20 000, 30 000, 10 000 (cost to revenue
    20 %, 10 %, 20 %). Sales cycle (no target; lower is better): 45, 20, 40 days, median 40.
    Targets: AEs 20 calls a month, Olle his own 35. Funnel "meeting": forward/exited Anna 2/10,
    Eva 6/10, Olle 6/10 (Anna vs the rest 2/10 vs 12/20: p = 0.019, flagged); "proposal": Anna
    2/9 (too few exits to judge), Eva 6/10, Olle 6/10.
    """
    RolePreset.objects.filter(role="ae").delete()
    RolePreset.objects.bulk_create(
        RolePreset(role="ae", kpi=code, order=i) for i, code in enumerate(CODES)
    )
    north, south = TeamFactory(name="North"), TeamFactory(name="South")
    mia = ManagerFactory(username="mia", first_name="Mia", last_name="M", team=north)
    max_ = ManagerFactory(username="max", first_name="Max", last_name="M", team=south)
    anna = UserFactory(username="anna", first_name="Anna", last_name="A", role="ae", team=north)
    eva = UserFactory(username="eva", first_name="Eva", last_name="E", role="ae", team=north)
    olle = UserFactory(username="olle", first_name="Olle", last_name="O", role="ae", team=north)
    sam = UserFactory(username="sam", first_name="Sam", last_name="S", role="sdr", team=north)
    bo = UserFactory(username="bo", first_name="Bo", last_name="B", role="ae", team=south)
    root = UserFactory(username="root", role="manager", team=None, is_superuser=True)
    nov3 = dt.date(2026, 11, 3)
    _day(anna, nov3, calls_made=10, deals_won=1, deals_lost=3, revenue_won=100000, cost=20000)
    _day(eva, nov3, calls_made=20, deals_won=3, deals_lost=1, revenue_won=300000, cost=30000)
    _day(olle, nov3, calls_made=30, deals_won=1, deals_lost=0, revenue_won=50000, cost=10000)
    _day(sam, nov3, calls_made=40)
    _day(bo, nov3, calls_made=99, deals_won=9, revenue_won=900000)
    _dims(anna, nov3, "stage_exits", stage__meeting=10, stage__proposal=9)
    _dims(anna, nov3, "stage_exits_forward", stage__meeting=2, stage__proposal=2)
    for rep in (eva, olle):
        _dims(rep, nov3, "stage_exits", stage__meeting=10, stage__proposal=10)
        _dims(rep, nov3, "stage_exits_forward", stage__meeting=6, stage__proposal=6)
    for rep, days in ((anna, 45), (eva, 20), (olle, 40)):
        _stored("rep", rep.pk, "sales_cycle_days", days)
    _stored("team", north.pk, "sales_cycle_days", 30)
    _stored("rep", anna.pk, "days_in_stage", 12.5, "stage:meeting")
    _stored("team", north.pk, "days_in_stage", 8, "stage:meeting")
    Target.objects.create(kpi="calls_made", period="month", value=20, valid_from=JAN,
                          scope="role", role="ae")  # fmt: skip
    Target.objects.create(kpi="calls_made", period="month", value=35, valid_from=JAN,
                          scope="rep", rep=olle)  # fmt: skip
    return type("Org", (), locals())


@pytest.fixture
def org():
    return build_team_org()


def _text(fragment: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", fragment)).replace("\xa0", " ").split())


def _section(html: str, title_id: str) -> str:
    return re.search(rf'aria-labelledby="{title_id}".*?</section>', html, flags=re.S).group(0)


def _table(html: str, title_id: str = "tc-table-title") -> dict[str, dict[str, str]]:
    """Row name → {column label → cell text} of a table, in the order shown."""
    rows = {}
    for row in re.findall(r'<tr class="tc-row.*?</tr>', _section(html, title_id), flags=re.S):
        name = _text(re.search(r"<th.*?</th>", row, flags=re.S).group(0))
        rows[name] = {
            unescape(label): _text(cell)
            for label, cell in re.findall(r'data-label="([^"]*)"[^>]*>(.*?)</td>', row, re.S)
        }
    return rows


def _cell_class(html: str, rep: str, label: str) -> str:
    row = re.search(rf'<tr class="tc-row[^"]*" data-rep="{rep}">.*?</tr>', html, re.S).group(0)
    return re.search(rf'<td class="([^"]*)" data-label="{label}"', row).group(1)


def test_manager_sees_values_targets_status_team_and_median(client, org):
    client.force_login(org.mia)
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    table = _table(html)
    # Default order: calls made, best (most) first.
    assert list(table) == ["Olle O", "Eva E", "Anna A", "Team all members", "Median of the reps"]
    assert table["Anna A"]["Calls made"] == "10 ! Behind"
    assert table["Eva E"]["Calls made"] == "20 ✓ Met"
    assert table["Olle O"]["Calls made"] == "30 ≈ Close"  # 30 of his own 35: 86 %.
    # The team's value counts every member (Sam's 40 calls too); its target sums the AEs'.
    assert table["Team all members"]["Calls made"] == "100 ✓ Met"  # 100 of 20+20+35: 133 %.
    assert table["Median of the reps"]["Calls made"] == "20"
    # Win rate: the team's is 5 won / 9 closed, not the mean of the reps (66.7 %).
    assert table["Anna A"]["Win rate"].startswith("25%")
    assert table["Team all members"]["Win rate"] == "56%"
    assert table["Median of the reps"]["Win rate"] == "75%"
    # Without a target: against the median (40 days), lower being better.
    assert table["Anna A"]["Sales cycle"] == "45.0 d ▲ worse above the team median, worse"
    assert table["Eva E"]["Sales cycle"] == "20.0 d ▼ better below the team median, better"
    assert table["Olle O"]["Sales cycle"] == "40.0 d = at the team median"
    assert "tone-worse" in _cell_class(html, "anna", "Sales cycle")
    assert "tone-better" in _cell_class(html, "eva", "Sales cycle")
    assert "tone-behind" in _cell_class(html, "anna", "Calls made")
    # The manager sees pay-derived numbers of everyone.
    assert table["Anna A"]["Cost to revenue"].startswith("20%")
    assert table["Eva E"]["Cost to revenue"].startswith("10%")
    assert table["Team all members"]["Cost to revenue"] == "13%"  # 60 000 / 450 000.
    assert "November 2026" in _text(html)


def test_every_value_links_to_its_records(client, org):
    client.force_login(org.mia)
    html = client.get(URL).content.decode()
    assert (
        f'href="/scorecard/records/?scope=rep&amp;id={org.anna.pk}&amp;kpi=calls_made'
        '&amp;period=month&amp;start=2026-11-01"' in html
    )
    assert (
        f'href="/scorecard/records/?scope=team&amp;id={org.north.pk}&amp;kpi=win_rate'
        '&amp;period=month&amp;start=2026-11-01"' in html
    )
    assert (
        f"scope=rep&amp;id={org.anna.pk}&amp;kpi=stage_conversion&amp;period=month"
        "&amp;start=2026-11-01&amp;dimension=stage%3Ameeting" in html
    )


def test_sort_by_a_kpi_both_ways_and_aria_sort(client, org):
    client.force_login(org.mia)
    html = client.get(URL, {"sort": "win_rate"}).content.decode()
    assert list(_table(html))[:3] == ["Anna A", "Eva E", "Olle O"]
    assert 'aria-sort="ascending"' in html
    html = client.get(URL, {"sort": "-win_rate"}).content.decode()
    assert list(_table(html))[:3] == ["Olle O", "Eva E", "Anna A"]
    assert 'aria-sort="descending"' in html
    # Lower is better: a click on "Sales cycle" asks for the shortest first.
    assert "sort=sales_cycle_days" in html and "sort=-sales_cycle_days" not in html
    html = client.get(URL, {"sort": "sales_cycle_days"}).content.decode()
    assert list(_table(html))[:3] == ["Eva E", "Olle O", "Anna A"]
    # An unknown code (e.g. another role's KPI) falls back to the default order.
    html = client.get(URL, {"sort": "meetings_booked"}).content.decode()
    assert list(_table(html))[:3] == ["Olle O", "Eva E", "Anna A"]


def test_funnel_flags_a_rep_significantly_below_the_team(client, org):
    client.force_login(org.mia)
    html = client.get(URL).content.decode()
    funnel = _table(html, "tc-funnel-title")
    assert funnel["Anna A"]["Meeting"] == (
        "20% (2/10) median 12.5 d ⚑ significantly below team (p = 0.019)"
    )
    # 2 of 9 is as bad a share, but 9 exits are under the minimum sample: no flag.
    assert funnel["Anna A"]["Proposal"] == "22% (2/9)"
    assert funnel["Eva E"]["Meeting"] == "60% (6/10)"
    assert funnel["Team all members"]["Meeting"] == "47% (14/30) median 8.0 d"
    assert funnel["Team all members"]["Qualification"] == "—"
    assert "one-sided two-proportion z-test" in _text(html)


def test_a_rep_sees_their_team_but_not_others_pay(client, org):
    client.force_login(org.anna)
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    table = _table(html)
    assert table["Anna A you"]["Cost to revenue"].startswith("20%")
    assert table["Eva E"]["Cost to revenue"] == "••• Hidden: pay-derived"
    assert table["Team all members"]["Cost to revenue"] == "••• Hidden: pay-derived"
    assert table["Median of the reps"]["Cost to revenue"] == "••• Hidden: pay-derived"
    assert table["Eva E"]["Calls made"] == "20 ✓ Met"
    # Nobody's pay in the chart choices, the sort, or the export.
    assert 'value="cost_to_revenue"' not in html
    assert 'value="-cost_to_revenue"' not in html
    assert "sort=cost_to_revenue" not in html and "sort=-cost_to_revenue" not in html
    html = client.get(URL, {"sort": "-cost_to_revenue"}).content.decode()
    assert list(_table(html))[:3] == ["Olle O", "Eva E", "Anna A you"]
    # A rep drills into their own numbers and the team's, not a teammate's.
    assert f"scope=rep&amp;id={org.anna.pk}&amp;" in html
    assert f"scope=rep&amp;id={org.eva.pk}&amp;" not in html
    assert f"scope=team&amp;id={org.north.pk}&amp;" in html


def test_a_rep_cannot_open_another_team(client, org):
    client.force_login(org.anna)
    assert client.get(URL, {"team": org.south.pk}).status_code == 404
    assert client.get(URL, {"team": org.north.pk}).status_code == 200


def test_a_manager_opens_only_the_teams_they_manage(client, org):
    client.force_login(org.max_)
    html = client.get(URL).content.decode()
    assert "Team comparison: South" in html
    assert next(iter(_table(html))) == "Bo B"
    assert client.get(URL, {"team": org.north.pk}).status_code == 404
    # A superuser picks any team.
    client.force_login(org.root)
    html = client.get(URL, {"team": org.north.pk}).content.decode()
    assert "Team comparison: North" in html and '<select id="tc-team"' in html


def test_a_user_without_a_team_gets_404(client, org):
    loner = UserFactory(username="loner", role="ae", team=None)
    client.force_login(loner)
    assert client.get(URL).status_code == 404


def test_role_switch_and_default_role(client, org):
    client.force_login(org.mia)
    html = client.get(URL).content.decode()
    assert "Account executive (3)" in html  # The most common role in North.
    html = client.get(URL, {"role": "sdr"}).content.decode()
    assert next(iter(_table(html))) == "Sam S"


def test_bad_parameters_are_a_400(client, org):
    client.force_login(org.mia)
    assert client.get(URL, {"period": "decade"}).status_code == 400
    assert client.get(URL, {"date": "yesterday"}).status_code == 400


def test_chart_data_and_text_alternative(client, org):
    client.force_login(org.mia)
    html = client.get(URL, {"kpi": "win_rate"}).content.decode()
    data = json.loads(
        unescape(re.search(r'id="team-data"[^>]*>(.*?)</script>', html, re.S).group(1))
    )
    assert data["labels"] == ["Olle O", "Eva E", "Anna A"]
    assert data["values"] == [100.0, 75.0, 25.0]
    assert data["median"] == 75.0
    caption = _text(re.search(r"<figcaption.*?</figcaption>", html, re.S).group(0))
    assert caption == "Team median: 75%. Olle O: 100% · Eva E: 75% · Anna A: 25%"


def test_period_navigation(client, org):
    client.force_login(org.mia)
    html = client.get(URL, {"period": "month", "date": "2026-10-15"}).content.decode()
    assert "October 2026" in _text(html)
    assert "date=2026-09-01" in html  # Previous.
    assert "date=2026-11-01" in html  # Next (not in the future).
    table = _table(html)
    assert table["Anna A"]["Calls made"] == "—"


def test_csv_export_has_codes_raw_numbers_and_the_funnel(client, org):
    client.force_login(org.mia)
    response = client.get(URL, {"format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    assert header[:7] == ["section", "rep", "username", "calls_made", "calls_made_target",
                          "calls_made_attainment", "calls_made_status"]  # fmt: skip
    by_user = {row[2]: dict(zip(header, row, strict=False)) for row in rows[1:4]}
    assert list(by_user) == ["olle", "eva", "anna"]
    assert by_user["anna"]["calls_made"] == "10.0"
    assert Decimal(by_user["anna"]["calls_made_target"]) == 20
    assert by_user["anna"]["calls_made_attainment"] == "0.5"
    assert by_user["anna"]["calls_made_status"] == "behind"
    assert by_user["anna"]["win_rate"] == "0.25"
    team = dict(zip(header, rows[4], strict=False))
    assert team["section"] == "team" and float(team["win_rate"]) == pytest.approx(5 / 9)
    assert rows[5][0] == "median" and dict(zip(header, rows[5], strict=False))["win_rate"] == "0.75"
    funnel_at = rows.index(["section", "rep", "username", "stage", "stage_conversion",
                            "exited_forward", "exited", "days_in_stage", "below_team",
                            "p_value"])  # fmt: skip
    funnel = [row for row in rows[funnel_at + 1 :] if row[2] == "anna"]
    meeting = next(row for row in funnel if row[3] == "meeting")
    assert meeting[4:9] == ["0.2", "2.0", "10.0", "12.5", "yes"]
    assert float(meeting[9]) == pytest.approx(0.0192, abs=1e-4)
    proposal = next(row for row in funnel if row[3] == "proposal")
    assert proposal[8] == "no"


def test_rep_export_leaves_others_pay_empty(client, org):
    client.force_login(org.eva)
    response = client.get(URL, {"format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    header = rows[0]
    by_user = {row[2]: dict(zip(header, row, strict=False)) for row in rows[1:4]}
    assert by_user["eva"]["cost_to_revenue"] == "0.1"
    assert by_user["anna"]["cost_to_revenue"] == ""
    assert dict(zip(header, rows[4], strict=False))["cost_to_revenue"] == ""


def test_xlsx_export_opens(client, org):
    client.force_login(org.mia)
    response = client.get(URL, {"format": "xlsx", "sort": "win_rate"})
    assert response["Content-Disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("section", "rep", "username", "calls_made")
    assert [row[2] for row in rows[1:4]] == ["anna", "eva", "olle"]
    assert rows[1][3] == 10


def _grow(org, size: int) -> None:
    """`size` more AEs in North, each with a day of numbers, a funnel and a stored median."""
    for i in range(size):
        rep = UserFactory(username=f"extra{i}", first_name=f"X{i:02}", role="ae", team=org.north)
        _day(rep, dt.date(2026, 11, 4), calls_made=i, deals_won=1, deals_lost=1)
        _dims(rep, dt.date(2026, 11, 4), "stage_exits", stage__meeting=10)
        _dims(rep, dt.date(2026, 11, 4), "stage_exits_forward", stage__meeting=5)
        _stored("rep", rep.pk, "sales_cycle_days", 30 + i)


@pytest.mark.parametrize("size", [0, 25])
def test_query_count_does_not_grow_with_reps(client, org, size, django_assert_max_num_queries):
    _grow(org, size)
    client.force_login(org.mia)
    with django_assert_max_num_queries(18):
        response = client.get(URL)
    assert response.status_code == 200
    assert len(_table(response.content.decode())) == 3 + size + 2
    with django_assert_max_num_queries(18):
        assert client.get(URL, {"format": "xlsx"}).status_code == 200


def test_a_team_without_reps_of_the_role_says_so(client, org):
    empty = TeamFactory(name="Empty")
    ManagerFactory(username="eve", team=empty)
    client.force_login(org.root)
    response = client.get(URL, {"team": empty.pk})
    assert response.status_code == 200
    text = _text(response.content.decode())
    assert "The team has no active reps with the role “Account executive”." in text


def test_numbers_follow_the_swedish_locale(client, org):
    client.force_login(org.mia)
    html = client.get(URL, {"kpi": "win_rate"}, HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert '<html lang="sv"' in html
    table = _table(html, "tc-table-title")
    anna = next(row for name, row in table.items() if name.startswith("Anna"))
    assert any(value.startswith("25 %") for value in anna.values())
    assert any(value.startswith("45,0") for value in anna.values())


def test_default_role_is_the_most_common_with_ties_in_role_order():
    from kpis.team_comparison import default_role

    assert default_role({"sdr": 1, "ae": 3, "am": 2}, "manager") == "ae"
    assert default_role({"am": 2, "sdr": 2}, "manager") == "sdr"
    assert default_role({}, "am") == "am"
    assert default_role({}, "manager") == "ae"


def test_best_first_follows_the_direction():
    from kpis.registry import REGISTRY
    from kpis.team_comparison import best_first

    assert best_first(REGISTRY["calls_made"]) == "-calls_made"
    assert best_first(REGISTRY["sales_cycle_days"]) == "sales_cycle_days"
