"""The manager dashboard in Chromium at 390×844 and 1280×800: the charts are drawn, nothing
scrolls sideways, the tiles and the trend fit a desktop screen, and screenshots are saved under
test-artifacts/screenshots/dashboard-*.png."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from browser_tests.conftest import SCREENSHOTS
from kpis.periods import last_periods
from kpis.tests.test_dashboard_page import TODAY, _day, build_dashboard_org
from people.tests.workspace import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DRAWN = """(id) => {
  const canvas = document.getElementById(id);
  if (!canvas || !canvas.width || !canvas.height) return false;
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) return true;
  return false;
}"""


@pytest.fixture
def org(monkeypatch):
    # The live server runs in this process: it sees the same "today" as the fixture's data.
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: TODAY)
    org = build_dashboard_org()
    # A year of history for the trend: the AE's revenue grows month by month.
    for index, span in enumerate(last_periods("month", TODAY, 12)[:-2]):
        _day(org.ae, span.start + dt.timedelta(days=3), revenue_won=50000 + 15000 * index,
             deals_won=1 + index % 3, deals_lost=2, calls_made=80 + 5 * index)  # fmt: skip
    return org


def _wait_for_charts(page) -> None:
    for chart in ("db-trend-chart", "db-funnel-chart"):
        page.wait_for_function(DRAWN, arg=chart)


def test_dashboard_draws_its_charts_and_fits_the_screen(screen, org):
    page = screen.page
    screen.sign_in("manager", PASSWORD)
    screen.nav("Dashboard")
    expect(page.get_by_role("heading", name="Dashboard: Team Stockholm")).to_be_visible()
    _wait_for_charts(page)
    screen.check(shot="dashboard")
    # What the first screen shows, without scrolling.
    page.screenshot(path=SCREENSHOTS / f"dashboard-first-screen-{screen.width}.png")
    tiles = page.locator(".db-tile")
    expect(tiles.first).to_contain_text("Revenue won")
    expect(tiles.first).to_contain_text("SEK 400,000")
    expect(tiles.first).to_contain_text("Close")
    boxes = [tiles.nth(i).bounding_box() for i in range(2)]
    if screen.phone:
        # Two tiles side by side.
        assert abs(boxes[0]["y"] - boxes[1]["y"]) < 1
        assert boxes[1]["x"] + boxes[1]["width"] <= screen.width
        width = page.evaluate("document.getElementById('db-trend-chart').clientWidth")
        assert 300 <= width <= screen.width
        # The bottom tab bar still holds every item without overflowing.
        nav = page.get_by_role("navigation", name="Main")
        assert page.evaluate("(nav) => nav.scrollWidth <= nav.clientWidth", nav.element_handle())
    else:
        trend = page.locator("#db-trend-chart").bounding_box()
        assert trend["y"] + trend["height"] <= 800, "the trend must fit a 1280×800 screen"
        assert tiles.nth(11).bounding_box()["y"] + tiles.nth(11).bounding_box()["height"] <= 800
    # The text alternative holds the same numbers.
    page.locator(".db-trend details summary").click()
    expect(page.locator(".db-trend table")).to_contain_text("SEK 400,000")


def test_choosing_the_trend_kpi_and_the_leaderboard_kpi(screen, org):
    page = screen.page
    screen.sign_in("manager", PASSWORD)
    screen.goto("/dashboard/")
    trend = page.locator(".db-trend")
    trend.get_by_label("Trend of").select_option("calls_made")
    screen.submit(trend.get_by_role("button", name="Show"))
    expect(page.get_by_role("heading", name="Calls made, last 12 months")).to_be_visible()
    leaders = page.locator(".db-leaders")
    leaders.get_by_label("Rank by").select_option("calls_made")
    screen.submit(leaders.get_by_role("button", name="Show"))
    # Both choices are kept.
    expect(page.get_by_label("Trend of")).to_have_value("calls_made")
    first = page.locator(".db-leaderboard li").first
    expect(first).to_contain_text("Sara Sund")
    _wait_for_charts(page)
    # The leaderboard links to the rep's scorecard.
    expect(first.get_by_role("link", name="Sara Sund")).to_have_attribute(
        "href", f"/scorecard/?rep={org.sdr.pk}&period=month&date=2026-11-01"
    )
    screen.goto("/dashboard/?team=", shot="dashboard-organisation")
    expect(page.get_by_role("heading", name="Dashboard: Organisation")).to_be_visible()


def test_every_tab_label_shows_in_full_in_swedish(screen, org):
    """A manager has seven tabs; on a phone the longest Swedish label ("Resultatkort") must not be
    cut off."""
    page = screen.page
    screen.sign_in("manager", PASSWORD)
    screen.goto("/")
    page.get_by_label("Language").select_option("sv")
    screen.submit(page.get_by_role("button", name="Change"))
    nav = page.get_by_role("navigation", name="Huvudmeny")
    expect(nav.get_by_role("link", name="Resultatkort")).to_be_visible()
    labels = nav.locator(".tab span")
    assert labels.count() == 7
    cut = labels.evaluate_all(
        "spans => spans.filter(s => s.scrollWidth > s.clientWidth).map(s => s.textContent)"
    )
    assert cut == []
    assert page.evaluate("(nav) => nav.scrollWidth <= nav.clientWidth", nav.element_handle())
