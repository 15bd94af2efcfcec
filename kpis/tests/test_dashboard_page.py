"""The manager dashboard (`/dashboard/`): the numbers a manager sees for seeded KPI values and
targets, who may open which team, and a constant query count.

The fixture writes the stored rollups directly (RepDay, RepDayDimension, KPIValue; the period
sums derived from the days as the recompute does): the engine
that fills them is tested in test_daily/test_periodic; here the page must show them right.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from kpis.compute.period_rollups import period_rollups_rebuild
from kpis.models import KPIValue, RepDay, RepDayDimension, Target
from people.models import User
from people.tests.factories import ManagerFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 18)  # A Wednesday: 13 of November's 21 working days have begun.
NOV = dt.date(2026, 11, 1)
OCT = dt.date(2026, 10, 1)
JAN = dt.date(2026, 1, 1)
URL = "/dashboard/"


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: TODAY)


def _day(rep: User, day: dt.date, **counters) -> RepDay:
    stored = RepDay.objects.create(rep=rep, day=day, computed_at=timezone.now(), **counters)
    period_rollups_rebuild()
    return stored


def _dims(rep: User, day: dt.date, counter: str, **values: float) -> None:
    RepDayDimension.objects.bulk_create(
        RepDayDimension(
            rep=rep,
            day=day,
            counter=counter,
            dimension=key.replace("__", ":"),
            value=Decimal(str(value)),
            computed_at=timezone.now(),
        )
        for key, value in values.items()
    )
    period_rollups_rebuild()


def _stored(scope: str, scope_id: int, kpi: str, start: dt.date, value, num=None, den=None,
            dimension: str = "") -> None:  # fmt: skip
    KPIValue.objects.create(
        scope=scope,
        scope_id=scope_id,
        kpi=kpi,
        period="month",
        period_start=start,
        dimension=dimension,
        value=value,
        numerator=num,
        denominator=den,
        computed_at=timezone.now(),
    )


@pytest.fixture
def org():
    return build_dashboard_org()


def build_dashboard_org():
    """Two teams; the first (Stockholm, managed by `manager`) with an AE who won 300 000 in
    November, an AE who won 100 000 and an SDR; targets, deal sizes, funnel and churn."""
    team = TeamFactory(name="Team Stockholm")
    other_team = TeamFactory(name="Team Göteborg")
    manager = ManagerFactory(username="manager", first_name="Maja", team=team)
    team.manager = manager
    team.save()
    other_manager = ManagerFactory(username="othermanager", team=other_team)
    other_team.manager = other_manager
    other_team.save()
    ae = UserFactory(username="ae", first_name="Erik", last_name="Ek", role="ae", team=team)
    ae2 = UserFactory(username="ae2", first_name="Anna", last_name="Berg", role="ae", team=team)
    sdr = UserFactory(username="sdr", first_name="Sara", last_name="Sund", role="sdr", team=team)
    other = UserFactory(username="other", first_name="Olle", last_name="Ö", role="ae",
                        team=other_team)  # fmt: skip

    # November (current): the team won 3 + 1 deals worth 400 000, lost 1 + 5.
    _day(ae, dt.date(2026, 11, 3), revenue_won=300000, deals_won=3, deals_lost=1, calls_made=40)
    _day(ae2, dt.date(2026, 11, 4), revenue_won=100000, deals_won=1, deals_lost=5, calls_made=20)
    _day(sdr, dt.date(2026, 11, 5), meetings_booked=12, calls_made=60)
    # October: 200 000 from two deals.
    _day(ae, dt.date(2026, 10, 10), revenue_won=200000, deals_won=2, calls_made=100)
    # Another team's big month (never on this team's numbers).
    _day(other, dt.date(2026, 11, 6), revenue_won=999000, deals_won=9)

    # Deal size by dimension (October's is not November's).
    _dims(ae, dt.date(2026, 11, 3), "revenue_won", lead_source__website=200000,
          lead_source__referral=100000, customer_type__new=300000,
          channel__inside=300000)  # fmt: skip
    _dims(ae, dt.date(2026, 11, 3), "deals_won", lead_source__website=2, lead_source__referral=1,
          customer_type__new=2, channel__inside=3)  # fmt: skip
    _dims(ae2, dt.date(2026, 11, 4), "revenue_won", lead_source__website=100000,
          customer_type__existing=100000, channel__inside=100000)  # fmt: skip
    _dims(ae2, dt.date(2026, 11, 4), "deals_won", lead_source__website=1,
          customer_type__existing=2, channel__inside=1)  # fmt: skip
    _dims(ae, dt.date(2026, 10, 10), "revenue_won", lead_source__event=200000)
    _dims(ae, dt.date(2026, 10, 10), "deals_won", lead_source__event=1)
    # Funnel: of 4 exits from "meeting" 3 went forward; of 2 from "proposal" 1.
    _dims(ae, dt.date(2026, 11, 3), "stage_exits", stage__meeting=4, stage__proposal=2)
    _dims(ae, dt.date(2026, 11, 3), "stage_exits_forward", stage__meeting=3, stage__proposal=1)

    # Stored (non-additive) values of the team.
    _stored("team", team.pk, "churn_rate", NOV, 0.25, 1, 4)
    _stored("team", team.pk, "churn_rate", OCT, 0.2, 1, 5)
    _stored("team", team.pk, "repeat_purchase_rate", NOV, 0.5, 2, 4)
    _stored("team", team.pk, "days_in_stage", NOV, 6.5, dimension="stage:meeting")
    _stored("team", team.pk, "pipeline_value", NOV, 750000)
    _stored("team", team.pk, "pipeline_value", OCT, 800000)

    # Targets: the team's revenue target is the sum of its reps' (300 000 + 200 000); win rate
    # has a team target of its own.
    def target(kpi, value, **scope):
        Target.objects.create(kpi=kpi, period="month", value=value, valid_from=JAN, **scope)

    target("revenue_won", 300000, scope="rep", rep=ae)
    target("revenue_won", 200000, scope="rep", rep=ae2)
    target("win_rate", Decimal("0.4"), scope="team", team=team)
    target("churn_rate", Decimal("0.2"), scope="team", team=team)
    return type("Org", (), locals())


def _text(fragment: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", fragment)).replace("\xa0", " ").split())


def _tiles(html: str) -> dict[str, str]:
    """Each tile's text by its KPI name (the first words up to the value)."""
    tiles = {}
    for chunk in re.findall(r'<li class="db-tile.*?</li>', html, flags=re.S):
        name = _text(re.search(r"<h3.*?</h3>", chunk, flags=re.S).group(0))
        tiles[name] = _text(chunk)
    return tiles


def _get(client, user, **params):
    client.force_login(user)
    return client.get(URL, params)


def test_tiles_show_team_value_target_attainment_status_pace_and_change(client, org):
    response = _get(client, org.manager)  # A manager of one team sees that team by default.
    assert response.status_code == 200
    html = response.content.decode()
    assert "Dashboard: Team Stockholm" in _text(html)
    tiles = _tiles(html)
    # 400 000 of a 500 000 target: 80 % = close. 13 of 21 working days: expected 309 524, so on
    # pace, projected 400 000 × 21 / 13 = 646 154. Up 200 000 from October.
    assert tiles["Revenue won"] == (
        "Revenue won SEK 400,000 Target SEK 500,000 80% ≈ Close ▲ Up SEK 200,000 vs previous "
        "✓ On pace · proj. SEK 646,154"
    )
    # 4 won of 10 closed = 40 %, not the mean of the reps' 75 % and 17 %; October was 2 of 2.
    assert tiles["Win rate"] == "Win rate 40% Target 40% 100% ✓ Met ▼ Down 60 pp vs previous"
    assert tiles["Deals won"] == "Deals won 4 – No target ▲ Up 2 vs previous"
    assert tiles["Average deal size"].startswith("Average deal size SEK 100,000 – No target")
    assert tiles["Calls made"] == "Calls made 120 – No target ▲ Up 20 vs previous"
    assert tiles["Meetings booked"].startswith("Meetings booked 12 ")
    # A stock at period end: 750 000 now, 800 000 at the end of October.
    assert tiles["Pipeline value"] == (
        "Pipeline value SEK 750,000 – No target ▼ Down SEK 50,000 vs previous"
    )
    # Churn is better down: 25 % against a 20 % target is 80 %, close; up 5 points is worse.
    assert tiles["Churn rate"] == "Churn rate 25% Target 20% 80% ≈ Close ▲ Up 5.0 pp vs previous"
    assert 'class="db-change worse"' in re.search(
        r'<li class="db-tile[^"]*">\s*<h3[^>]*>.{0,200}Churn rate.*?</li>', html, flags=re.S
    ).group(0)
    assert tiles["Repeat purchase rate"].startswith("Repeat purchase rate 50% – No target")
    # Every tile opens the records behind its value.
    records = reverse("kpis:records")
    assert (
        f'href="{records}?scope=team&amp;id={org.team.pk}&amp;kpi=revenue_won&amp;period=month'
        '&amp;start=2026-11-01"'
    ) in html


def test_leaderboard_ranks_the_teams_reps_with_their_status(client, org):
    html = _get(client, org.manager).content.decode()
    board = re.search(r'<ol class="db-leaderboard">.*?</ol>', html, flags=re.S).group(0)
    rows = [_text(li) for li in re.findall(r"<li>.*?</li>", board, flags=re.S)]
    assert rows == [
        "1 Erik Ek SEK 300,000 ✓ Met",
        "2 Anna Berg SEK 100,000 ! Behind",
        "3 Sara Sund SEK 0",  # Active, nothing won.
    ]
    assert f"?rep={org.ae.pk}&amp;period=month&amp;date=2026-11-01" in board
    assert f"?scope=rep&amp;id={org.ae.pk}&amp;kpi=revenue_won&amp;period=month" in board


def test_leaderboard_by_another_kpi_and_lower_is_better(client, org):
    html = _get(client, org.manager, rank="calls_made").content.decode()
    board = re.search(r'<ol class="db-leaderboard">.*?</ol>', html, flags=re.S).group(0)
    names = [_text(li).split(" ")[1] for li in re.findall(r"<li>.*?</li>", board, flags=re.S)]
    assert names == ["Sara", "Erik", "Anna"]  # 60, 40, 20 calls.


def test_deal_size_by_lead_source_customer_type_and_channel(client, org):
    html = _get(client, org.manager).content.decode()
    deals = _text(re.search(r'<section class="card db-deals".*?</section>', html, re.S).group(0))
    assert "Deals won in November 2026." in deals
    # November only (October's event deal is not in it): website 300 000 / 3, referral
    # 100 000 / 1 (a tie: more deals first).
    assert (
        "By lead source Group Average deal size Deals won "
        "Website SEK 100,000 3 deals Referral SEK 100,000 1 deal "
        "New or existing customer"
    ) in deals
    assert "New customer SEK 150,000 2 deals Existing customer SEK 50,000 2 deals" in deals
    assert "Inside sales SEK 100,000 4 deals" in deals


def test_funnel_shows_conversion_and_days_per_open_stage(client, org):
    html = _get(client, org.manager).content.decode()
    funnel = re.search(r'<section class="card db-funnel".*?</section>', html, re.S).group(0)
    rows = [_text(tr) for tr in re.findall(r"<tr>.*?</tr>", funnel, flags=re.S)][1:]
    assert rows == [
        "Qualification — — —",
        "Meeting 75% 4 6.5 d",
        "Proposal 50% 2 —",
        "Negotiation — — —",
    ]


def test_trend_has_twelve_months_with_the_target_line(client, org):
    response = _get(client, org.manager)
    data = response.context["chart_data"]["trend"]
    assert len(data["labels"]) == 12
    assert data["labels"][-2:] == ["Oct", "Nov"]
    assert data["values"][-2:] == [200000.0, 400000.0]
    assert data["values"][:10] == [None] * 10
    assert data["targets"][-1] == 500000.0
    assert data["valueText"][-1] == "SEK\xa0400,000"
    assert 'id="dashboard-data"' in response.content.decode()


def test_weeks_trend_over_twelve_iso_weeks(client, org):
    response = _get(client, org.manager, period="week")
    assert "Revenue won, last 12 weeks" in _text(response.content.decode())
    data = response.context["chart_data"]["trend"]
    assert data["labels"][0] == "w. 36" and data["labels"][-1] == "w. 47"
    # Week 45 (2–8 November) holds the team's 400 000.
    assert data["values"][-3:] == [400000.0, None, None]
    tiles = _tiles(response.content.decode())
    assert tiles["Revenue won"].startswith("Revenue won — ")


def test_manager_of_two_teams_starts_on_the_organisation(client, org):
    TeamFactory(name="Team Malmö", manager=org.manager)
    html = _get(client, org.manager).content.decode()
    assert "Dashboard: Organisation" in _text(html)
    assert "Dashboard: Team Malmö" in _text(
        _get(
            client, org.manager, team=org.manager.managed_teams.get(name="Team Malmö").pk
        ).content.decode()
    )


def test_previous_month_has_no_pace_and_links_back(client, org):
    html = _get(client, org.manager, date="2026-10-15").content.decode()
    tiles = _tiles(html)
    assert tiles["Revenue won"] == (
        "Revenue won SEK 200,000 Target SEK 500,000 40% ! Behind No earlier value"
    )
    assert "This period" in html


def test_organisation_for_a_superuser_ranks_every_rep(client, org):
    admin = UserFactory(username="root", role="manager", is_superuser=True, is_staff=True)
    html = _get(client, admin, team="").content.decode()
    assert "Dashboard: Organisation" in _text(html)
    assert _tiles(html)["Revenue won"].startswith("Revenue won SEK 1,399,000 Target SEK 500,000")
    board = _text(re.search(r'<ol class="db-leaderboard">.*?</ol>', html, re.S).group(0))
    assert board.startswith("1 Olle Ö Team Göteborg SEK 999,000")


def test_manager_organisation_leaderboard_holds_only_their_reps(client, org):
    html = _get(client, org.manager, team="").content.decode()
    board = _text(re.search(r'<ol class="db-leaderboard">.*?</ol>', html, re.S).group(0))
    assert "Olle" not in board
    assert board.startswith("1 Erik Ek")


@pytest.mark.parametrize("role", ["ae", "sdr", "am"])
def test_reps_get_404(client, org, role):
    rep = org.ae if role == "ae" else org.sdr if role == "sdr" else UserFactory(role="am")
    assert _get(client, rep).status_code == 404


def test_manager_cannot_open_a_team_they_do_not_manage(client, org):
    assert _get(client, org.manager, team=org.other_team.pk).status_code == 404
    assert _get(client, org.manager, team=999999).status_code == 404
    assert _get(client, org.other_manager, team=org.other_team.pk).status_code == 200


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_bad_parameters_are_a_400_that_says_why(client, org):
    response = _get(client, org.manager, period="decade", trend="nope")
    assert response.status_code == 400
    text = _text(response.content.decode())
    assert "Period: Select a valid choice." in text
    assert "Trend of: Select a valid choice." in text


def test_nav_shows_dashboard_to_managers_only(client, org):
    html = _get(client, org.manager).content.decode()
    assert re.search(r'href="/dashboard/" aria-current="page"', html)
    client.force_login(org.ae)
    assert 'href="/dashboard/"' not in client.get("/").content.decode()


def _grow(org, size: int) -> None:
    team = org.team
    for i in range(size):
        rep = UserFactory(username=f"rep{i}", role="ae", team=team)
        for month in (9, 10, 11):
            _day(rep, dt.date(2026, month, 2), revenue_won=1000 * i, deals_won=1, calls_made=i)
            _dims(rep, dt.date(2026, month, 2), "deals_won", lead_source__website=1,
                  channel__online=1)  # fmt: skip
        Target.objects.create(kpi="revenue_won", scope="rep", rep=rep, period="month",
                              value=5000, valid_from=JAN)  # fmt: skip


@pytest.mark.parametrize("size", [0, 25])
def test_query_count_does_not_grow_with_reps(client, org, size, django_assert_max_num_queries):
    _grow(org, size)
    client.force_login(org.manager)
    with django_assert_max_num_queries(16):
        response = client.get(URL, {"rank": "win_rate", "trend": "churn_rate"})
    assert response.status_code == 200
    with django_assert_max_num_queries(16):
        assert client.get(URL, {"team": ""}).status_code == 200


def test_swedish_numbers_and_words(client, org, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "sv"
    html = _get(client, org.manager).content.decode()
    # The KPI names are the integrator's to translate; the numbers are the locale's already.
    revenue = next(text for text in _tiles(html).values() if "400 000 SEK" in text)
    assert "Target 500 000 SEK 80 %" in revenue or "500 000 SEK 80 %" in revenue
    assert "646 154 SEK" in revenue
    assert 'lang="sv"' in html


def test_computed_at_is_the_latest_recompute_of_the_periods_values(client, org):
    at = lambda hour: dt.datetime(2026, 11, 18, hour, 30, tzinfo=dt.UTC)  # noqa: E731
    RepDay.objects.update(computed_at=at(1))
    RepDayDimension.objects.update(computed_at=at(1))
    KPIValue.objects.update(computed_at=at(1))
    period_rollups_rebuild()
    # The team's November churn was recomputed later; October's values and the other team's
    # days, recomputed later still, are not on this page.
    KPIValue.objects.filter(
        kpi="churn_rate", period_start=NOV, scope="team", scope_id=org.team.pk
    ).update(computed_at=at(5))
    KPIValue.objects.filter(period_start=OCT).update(computed_at=at(7))
    RepDay.objects.filter(rep=org.other).update(computed_at=at(9))
    period_rollups_rebuild()

    html = _get(client, org.manager).content.decode()
    # 05:30 UTC is 06:30 in Stockholm.
    assert "Computed at 11/18/2026 6:30 a.m." in _text(html)

    # A month nothing was computed for says so.
    html = _get(client, org.manager, date="2026-08-01").content.decode()
    assert "Nothing computed for this period yet." in _text(html)
    assert "Computed at" not in html
