"""The scorecard and its drill-down in Chromium, on a phone (390×844) and a desktop (1280×800).

Checks that the sparklines are drawn, that nothing scrolls sideways (`Screen.check`), that a value
leads to its records and that the period form works without scripts; saves screenshots.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from activities.services import activity_log
from browser_tests.conftest import SCREENSHOTS
from kpis.compute.run import recompute_full
from kpis.periods import last_periods
from kpis.target_services import target_set
from people.tests.workspace import PASSWORD, build_org

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Canvases Chart.js has drawn, and whether any of their pixels is not blank.
DRAWN = """() => [...document.querySelectorAll('canvas.sparkline')].map(c => {
  const chart = Chart.getChart(c);
  const pixels = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  return [chart !== undefined, pixels.some(v => v !== 0), c.width > 0];
})"""


@pytest.fixture
def org():
    """Erik and Anna (AEs) with calls on the 10th of each of the last 6 months (more each month),
    and an AE target of 20 calls a month."""
    org = build_org()
    today = timezone.localdate()
    for n, span in enumerate(last_periods("month", today, 6)):
        day = span.start + dt.timedelta(days=min(9, (today - span.start).days))
        for rep, count in ((org.ae, 10 + 3 * n), (org.ae2, 14 + n)):
            for i in range(count):
                activity_log(
                    owner=rep, kind="call", outcome="connected" if i % 3 == 0 else "no_answer",
                    occurred_at=dt.datetime.combine(day, dt.time(10, i), tzinfo=dt.UTC),
                )  # fmt: skip
    target_set(kpi="calls_made", scope="role", role="ae", period="month", value=20,
               valid_from=today - dt.timedelta(days=400), changed_by=None)  # fmt: skip
    recompute_full()
    return org


def assert_sparklines_drawn(page) -> None:
    page.wait_for_function("() => typeof Chart !== 'undefined'")
    drawn = page.evaluate(DRAWN)
    assert len(drawn) == 15  # the AE preset
    assert all(chart and width for chart, _pixels, width in drawn), drawn
    assert sum(pixels for _chart, pixels, _width in drawn) >= 1, drawn


def test_rep_scorecard_and_drill_down(screen, org):
    page = screen.page
    screen.sign_in("ae", PASSWORD)
    screen.nav("Scorecard", shot="scorecard")
    page.screenshot(path=SCREENSHOTS / f"scorecard-top-{screen.width}.png")  # the first screen
    expect(page.get_by_role("heading", name="Scorecard", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Leading indicators")).to_be_visible()
    expect(page.get_by_text(re.compile(r"Computed at"))).to_be_visible()
    assert_sparklines_drawn(page)
    row = page.locator('tr[data-kpi="calls_made"]')
    expect(row.locator(".sc-target")).to_contain_text("20")
    expect(row.locator(".status")).to_be_visible()
    # Each card stays within the screen: no sideways scroll (checked by Screen), and on a phone
    # the header row is hidden in favour of per-value labels.
    if screen.phone:
        expect(page.locator(".sc-table thead").first).not_to_be_in_viewport()
    value = row.locator(".sc-value a")
    shown = value.inner_text()
    with page.expect_navigation():
        value.click()
    screen.check(shot="records")
    expect(page.get_by_role("heading", name="Calls made")).to_be_visible()
    expect(page.locator(".rec-value")).to_have_text(shown)
    expect(page.locator(".rec-table tbody tr")).to_have_count(int(shown))


def test_manager_picks_a_rep_and_a_period_without_scripts(screen, org):
    page = screen.page
    screen.sign_in("manager", PASSWORD)
    screen.goto("/scorecard/")
    page.get_by_label("Rep", exact=True).select_option(label="Anna Berg (Team Stockholm)")
    page.get_by_label("Period", exact=True).select_option("week")
    screen.submit(page.get_by_role("button", name="Show"), shot="scorecard-manager")
    expect(page.get_by_role("heading", name="Scorecard: Anna Berg")).to_be_visible()
    expect(page.get_by_text(re.compile(r"^w\. \d+ \d{4}"))).to_be_visible()
    assert_sparklines_drawn(page)
    # Back one week by keyboard.
    previous = page.get_by_role("link", name="← Previous")
    previous.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    screen.check()
    expect(page.get_by_role("link", name="This period")).to_be_visible()
