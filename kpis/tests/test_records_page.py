"""The drill-down page: the records behind a number, who may open them, bad input, queries."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from activities.models import Activity
from activities.services import activity_log
from kpis.compute.run import recompute_full
from people.models import User
from people.tests.factories import UserFactory
from saljsite.tests.api_support import build_org

pytestmark = pytest.mark.django_db

UTC = dt.UTC
URL = reverse("kpis:records")


def calls(rep: User, count: int, day: dt.date, *, connected: int = 0) -> None:
    for i in range(count):
        activity_log(
            owner=rep,
            kind="call",
            occurred_at=dt.datetime(day.year, day.month, day.day, 10, i % 50, tzinfo=UTC),
            outcome="connected" if i < connected else "no_answer",
            duration_seconds=240 if i < connected else 0,
        )


@pytest.fixture
def org():
    """March 2025 calls: Anna 8 (2 connected), Eva 5 (North), Bo 20 (South)."""
    org = build_org()
    org.eva = UserFactory(username="eva", role=User.Role.AE, team=org.north)
    calls(org.anna, 8, dt.date(2025, 3, 10), connected=2)
    calls(org.eva, 5, dt.date(2025, 3, 11))
    calls(org.bo, 20, dt.date(2025, 3, 12))
    recompute_full()
    return org


def get(client, user, **params):
    client.force_login(user)
    params = {"kpi": "calls_made", "period": "month", "start": "2025-03-01", **params}
    return client.get(URL, params)


def rows(html: str) -> list[str]:
    body = html.split('<table class="rec-table">')[1].split("</table>")[0]
    body = body.split("<tbody>")[1]
    return [
        " ".join(re.sub(r"<[^>]+>", " ", r).split())
        for r in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def summary(html: str, name: str) -> str:
    return re.search(rf'<dd class="rec-{name}">(.*?)</dd>', html).group(1)


def test_rep_sees_their_calls_and_as_many_rows_as_the_number(client, org):
    response = get(client, org.anna, scope="rep", id=org.anna.pk)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Calls made</h1>" in html
    assert f"{org.anna} · March 2025" in html
    assert summary(html, "value") == "8"
    assert summary(html, "count") == "8"
    assert len(rows(html)) == 8
    # Her own calls link to their page.
    assert len(re.findall(r'href="/activities/\d+/"', html)) == 8
    assert "counted" not in html  # not a ratio


def test_ratio_marks_the_rows_in_the_numerator(client, org):
    response = get(client, org.anna, scope="team", id=org.north.pk, kpi="call_connect_rate")
    html = response.content.decode()
    # North: 13 calls, 2 connected → 2 / 13 = 15 %.
    assert summary(html, "value") == "15%"
    assert (summary(html, "numerator"), summary(html, "denominator")) == ("2", "13")
    lines = rows(html)
    assert len(lines) == 13
    assert sum(line.endswith("✓ counted") for line in lines) == 2
    assert sum(line.endswith("not counted") for line in lines) == 11
    assert all("Connected" in line for line in lines if line.endswith("✓ counted"))


def test_team_rows_link_only_to_what_the_viewer_may_open(client, org):
    html = get(client, org.anna, scope="team", id=org.north.pk).content.decode()
    assert summary(html, "value") == "13"
    # Anna opens her own 8 calls, not Eva's 5.
    assert len(re.findall(r'href="/activities/\d+/"', html)) == 8
    html = get(client, org.mia, scope="team", id=org.north.pk).content.decode()
    assert len(re.findall(r'href="/activities/\d+/"', html)) == 13


def test_manager_and_superuser_see_the_organisation(client, org):
    for user in (org.mia, org.root):
        html = get(client, user, scope="org").content.decode()
        assert "The whole organisation" in html
        assert summary(html, "value") == "33"
        assert len(rows(html)) == 33


def test_opportunity_records(client, org):
    from pipeline.services import opportunity_create
    from pipeline.tests.factories import CompanyFactory

    opportunity_create(
        name="Licensavtal", company=CompanyFactory(name="Kaffe AB", owner=org.anna),
        owner=org.anna, created_by=org.anna, amount=50_000,
        created_at=dt.datetime(2025, 3, 5, 9, tzinfo=UTC),
    )  # fmt: skip
    recompute_full()
    html = get(client, org.anna, scope="rep", id=org.anna.pk, kpi="opportunities_created")
    html = html.content.decode()
    assert summary(html, "value") == "1"
    [line] = rows(html)
    assert line.startswith(f"Licensavtal {org.anna} Kaffe AB")
    assert "Kaffe AB" in line and "50,000" in line
    assert 'href="/pipeline/' in html


@pytest.mark.parametrize(
    ("viewer", "params"),
    [
        ("anna", {"scope": "rep", "id": "eva"}),  # a teammate's rep-scope records
        ("anna", {"scope": "rep", "id": "bo"}),
        ("anna", {"scope": "team", "id": "south"}),
        ("anna", {"scope": "org"}),
        ("mia", {"scope": "team", "id": "south"}),
        ("mia", {"scope": "rep", "id": "bo"}),
        ("max", {"scope": "rep", "id": "anna"}),
        ("root", {"scope": "rep", "id": 999_999}),
        ("root", {"scope": "team", "id": 999_999}),
    ],
)
def test_out_of_reach_is_not_found(client, org, viewer, params):
    if isinstance(params.get("id"), str):
        params = params | {"id": getattr(org, params["id"]).pk}
    assert get(client, getattr(org, viewer), **params).status_code == 404


@pytest.mark.parametrize(
    ("viewer", "params"),
    [
        ("anna", {"scope": "rep", "id": "anna"}),
        ("anna", {"scope": "team", "id": "north"}),
        ("mia", {"scope": "rep", "id": "anna"}),
        ("mia", {"scope": "team", "id": "north"}),
        ("root", {"scope": "team", "id": "south"}),
    ],
)
def test_within_reach_is_shown(client, org, viewer, params):
    params = params | {"id": getattr(org, params["id"]).pk}
    assert get(client, getattr(org, viewer), **params).status_code == 200


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"scope": "galaxy"}, "Select a valid choice"),
        ({"scope": "rep"}, "Give the id of the rep or team."),
        ({"scope": "org", "kpi": "cups_of_coffee"}, "Select a valid choice"),
        ({"scope": "org", "start": "March"}, "Enter a valid date"),
        ({"scope": "org", "period": "decade"}, "Select a valid choice"),
        ({"scope": "org", "kpi": "days_in_stage"}, "days_in_stage exists only per dimension"),
        ({"scope": "org", "dimension": "stage:meeting"}, "Unknown dimension"),
        ({"scope": "org", "kpi": "cost_to_revenue", "period": "week"}, "not defined for week"),
    ],
)
def test_bad_parameters_are_a_400_page(client, org, params, message):
    response = get(client, org.mia, **params)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_dimension_records(client, org):
    response = get(client, org.mia, scope="org", kpi="days_in_stage", dimension="stage:meeting")
    assert response.status_code == 200
    assert "No records behind this number." in response.content.decode()


def test_fifty_rows_a_page(client, org):
    calls(org.anna, 52, dt.date(2025, 3, 20))
    recompute_full()
    html = get(client, org.anna, scope="rep", id=org.anna.pk).content.decode()
    assert summary(html, "value") == "60" and summary(html, "count") == "60"
    assert len(rows(html)) == 50
    assert "page 1 of 2" in html
    html = get(client, org.anna, scope="rep", id=org.anna.pk, page=2).content.decode()
    assert len(rows(html)) == 10


def test_a_page_past_the_last_shows_the_last_page_with_the_whole_count(client, org):
    calls(org.anna, 52, dt.date(2025, 3, 20))
    recompute_full()
    html = get(client, org.anna, scope="rep", id=org.anna.pk, page=7).content.decode()
    assert summary(html, "count") == "60"
    assert len(rows(html)) == 10
    assert "page 2 of 2" in html
    first = get(client, org.anna, scope="rep", id=org.anna.pk).content.decode()
    assert set(rows(first)).isdisjoint(rows(html))  # Newest first, each row on one page.


@pytest.mark.parametrize("extra", [0, 30])
def test_query_count_does_not_grow_with_rows(client, org, django_assert_max_num_queries, extra):
    for i in range(extra // 10):
        calls(UserFactory(username=f"x{i}", team=org.north), 10, dt.date(2025, 3, 14), connected=3)
    recompute_full()
    client.force_login(org.mia)
    client.get(URL, {"scope": "org", "kpi": "calls_made", "period": "month", "start": "2025-03-01"})
    params = {"scope": "team", "id": org.north.pk, "kpi": "call_connect_rate", "period": "month"}
    with django_assert_max_num_queries(9):
        response = client.get(URL, params | {"start": "2025-03-01"})
    assert response.status_code == 200
    assert len(rows(response.content.decode())) == 13 + extra


def test_team_pages_list_every_members_rows_newest_first_across_pages(client, org):
    # 60 North calls over two members and days, interleaved in time; Bo's South calls apart.
    calls(org.anna, 30, dt.date(2025, 3, 20), connected=5)
    calls(org.eva, 17, dt.date(2025, 3, 20))
    recompute_full()
    first = get(client, org.mia, scope="team", id=org.north.pk).content.decode()
    second = get(client, org.mia, scope="team", id=org.north.pk, page=2).content.decode()
    assert summary(first, "count") == "60" and "page 1 of 2" in first
    assert len(rows(first)) == 50 and len(rows(second)) == 10
    assert str(org.bo) not in first + second
    listed = [int(pk) for pk in re.findall(r'href="/activities/(\d+)/"', first + second)]
    north = Activity.objects.filter(owner__team=org.north, occurred_day__month=3)
    assert listed == list(north.order_by("-occurred_at", "-pk").values_list("pk", flat=True))


@pytest.mark.postgres  # LATERAL: PostgreSQL only
@pytest.mark.parametrize(
    ("code", "dimension"),
    [
        ("calls_made", ""),
        ("call_connect_rate", ""),
        ("meetings_booked", ""),  # The booker's team.
        ("opportunities_created", ""),
    ],
)
def test_member_by_member_ids_are_the_ids_of_the_whole_team_query(
    org, postgres_only, code, dimension
):
    from django.db.models import Count, Window

    from kpis.drilldown import records_split
    from kpis.scorecard_records import _ids_by_member, _ordered

    calls(org.anna, 30, dt.date(2025, 3, 20), connected=5)
    calls(org.eva, 17, dt.date(2025, 3, 20), connected=4)
    bookings = [(org.bo, org.anna), (org.anna, org.eva), (org.eva, org.bo)]
    for i, (owner, booker) in enumerate(bookings):
        at = dt.datetime(2025, 3, 5 + i, 9, tzinfo=UTC)
        held = at + dt.timedelta(days=1)
        activity_log(owner=owner, kind="meeting", mode="digital", occurred_at=held,
                     booked_by=booker, booked_at=at)  # fmt: skip
    rows_, _numerator = records_split(
        code=code,
        scope="team",
        scope_id=org.north.pk,
        period="month",
        period_start=dt.date(2025, 3, 1),
        dimension=dimension,
    )
    ordered = _ordered(rows_, code)
    for bottom in (0, 7, 55):
        whole = ordered.annotate(total_=Window(Count("pk"))).values_list("pk", "total_")
        by_member = _ids_by_member(ordered, org.north.pk, bottom)
        if code == "opportunities_created":  # Ordered by an expression: the whole query.
            assert by_member is None
        else:
            assert by_member == list(whole[bottom : bottom + 50])
            assert by_member or bottom > 3
