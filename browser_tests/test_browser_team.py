"""The team comparison in Chromium, on a phone (390×844) and a desktop (1280×800): the table
(cards on a phone), the bar chart drawn, the funnel flag, sorting by keyboard or select, no
sideways scrolling; screenshots under test-artifacts/screenshots/team-*.png."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from kpis.tests.test_team_page import build_team_org
from people.tests.workspace import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGE = "/team/?date=2026-11-18"

CHART_DRAWN = """() => {
  const canvas = document.getElementById("tc-chart");
  if (!canvas || typeof Chart === "undefined" || !Chart.getChart(canvas)) return false;
  if (canvas.width === 0 || canvas.height === 0) return false;
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) return true;
  return false;
}"""


@pytest.fixture
def org():
    return build_team_org()


def _rep_names(page) -> list[str]:
    return [
        re.sub(r"\s+you$", "", name.strip())
        for name in page.locator(
            "section[aria-labelledby='tc-table-title'] tbody th[scope=row]"
        ).all_inner_texts()
    ]


def test_manager_compares_the_team(screen, org):
    page = screen.page
    screen.sign_in("mia", PASSWORD)
    screen.goto(PAGE, shot="team-manager")
    expect(page.get_by_role("heading", name="Team comparison: North")).to_be_visible()
    page.wait_for_function(CHART_DRAWN)
    box = page.locator("#tc-chart").bounding_box()
    assert 0 < box["width"] <= screen.width
    assert _rep_names(page) == ["Olle O", "Eva E", "Anna A"]
    expect(page.locator(".tc-flag")).to_have_count(1)
    expect(page.locator(".tc-flag")).to_contain_text("significantly below team")

    row_display = page.locator("tr[data-rep='anna']").first.evaluate(
        "row => getComputedStyle(row).display"
    )
    if screen.phone:
        # Cards: no column headers; the values carry their labels, the sort is a select.
        assert row_display == "grid"
        row = page.locator("tr[data-rep='anna']").first
        expect(row.locator("td[data-label='Calls made']")).to_contain_text("Behind")
        # From the keyboard (or a script) a select waits for the Show button.
        page.get_by_label("Sort by").select_option("sales_cycle_days")
        screen.submit(page.locator(".tc-filters").get_by_role("button", name="Show"), "team-sorted")
    else:
        assert row_display == "table-row"
        expect(page.locator(".tc-table thead").first).to_be_visible()
        # Sales cycle: lower is better, so a click sorts the shortest first.
        link = page.get_by_role("link", name=re.compile(r"^Sales cycle"))
        link.focus()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        screen.check("team-sorted")
        expect(page.locator("th[aria-sort='ascending']")).to_contain_text("Sales cycle")
    assert _rep_names(page) == ["Eva E", "Olle O", "Anna A"]
    page.wait_for_function(CHART_DRAWN)


def test_chart_kpi_select_redraws(screen, org):
    page = screen.page
    screen.sign_in("mia", PASSWORD)
    screen.goto(PAGE)
    # Picked with a pointer, the select applies at once.
    select = page.get_by_label("KPI in the chart")
    select.dispatch_event("pointerdown")
    with page.expect_navigation():
        select.select_option("sales_cycle_days")
    screen.check("team-chart")
    expect(page.get_by_role("heading", name="Sales cycle per rep")).to_be_visible()
    page.wait_for_function(CHART_DRAWN)
    expect(page.locator("figcaption")).to_contain_text("Team median: 40.0 d.")


def test_rep_sees_own_team_without_others_pay(screen, org):
    page = screen.page
    screen.sign_in("anna", PASSWORD)
    screen.goto(PAGE, shot="team-rep")
    expect(page.get_by_role("heading", name="Team comparison: North")).to_be_visible()
    page.wait_for_function(CHART_DRAWN)
    eva = page.locator("tr[data-rep='eva'] td[data-label='Cost to revenue']").first
    expect(eva).to_contain_text("Hidden")
    expect(page.locator("#tc-team")).to_have_count(0)


def test_the_full_account_executive_preset_fits(screen, org):
    """The default AE scorecard has 15 KPIs: a table at 1280 px without a scrollbar of its own."""
    from kpis.models import RolePreset

    RolePreset.objects.filter(role="ae").delete()  # Back to the registry's preset.
    page = screen.page
    screen.sign_in("mia", PASSWORD)
    screen.goto(PAGE, shot="team-ae-preset")
    page.wait_for_function(CHART_DRAWN)
    expect(page.locator(".tc-table").first.locator("thead th")).to_have_count(16)
    if not screen.phone:
        overflow = page.locator(".tc-wrap").first.evaluate("el => el.scrollWidth - el.clientWidth")
        assert overflow <= 0
