"""The rep workspace in Chromium, on a phone (390×844) and a desktop (1280×800).

Each scenario asserts what the user sees; every page visited is checked for sideways scrolling
(`Screen.check`) and the main pages are saved as screenshots under test-artifacts/screenshots/.
"""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from activities.models import Activity
from people.tests.workspace import PASSWORD, build_org
from pipeline.models import Lead, Opportunity

pytestmark = [
    pytest.mark.browser,
    # The live server reads what the test writes (conftest restores the seeded stages).
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def org():
    return build_org()


def test_sign_in(screen, org):
    page = screen.page
    screen.goto("/", shot="sign-in")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Username").fill("ae")
    page.get_by_label("Password").fill("not the password")
    screen.submit(page.get_by_role("button", name="Sign in"))
    expect(page.get_by_role("alert")).to_contain_text("didn't match")
    expect(page.get_by_label("Username")).to_have_value("ae")

    page.get_by_label("Password").fill(PASSWORD)
    screen.submit(page.get_by_role("button", name="Sign in"), shot="my-day")
    expect(page.get_by_role("heading", name="Hello, Erik")).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_visible()
    expect(nav.get_by_role("link", name="My day")).to_have_attribute("aria-current", "page")
    expect(nav.get_by_role("link", name="Admin")).to_have_count(0)


def test_log_a_call_with_outcome_and_duration(screen, org):
    page = screen.page
    screen.sign_in("ae", PASSWORD)
    screen.nav("Log", shot="log-call")  # Tap 1: the call form, with now/outbound/done set.
    expect(page.get_by_role("link", name="Call")).to_have_attribute("aria-current", "page")
    page.get_by_text("Connected", exact=True).click()  # Tap 2.
    page.get_by_label("Duration (mm:ss)").fill("4:30")
    who = page.get_by_role("combobox", name="Company or contact")
    who.fill("kar")
    expect(page.get_by_role("option", name=re.compile("Karin Lind"))).to_be_visible()
    who.press("ArrowDown")
    who.press("Enter")
    expect(who).to_have_value("Karin Lind")
    screen.submit(page.get_by_role("button", name="Save", exact=True))  # Tap 3.

    expect(page.get_by_text("Call logged.")).to_be_visible()
    logged = page.locator("#done-heading + .items .item")
    expect(logged).to_have_count(1)
    expect(logged).to_contain_text("Karin Lind")
    expect(logged).to_contain_text("Connected · 4:30")
    expect(page.locator('[data-kpi="calls_made"] .count')).to_have_text("1")
    call = Activity.objects.get(owner=org.ae)
    assert (call.outcome, call.duration_seconds, call.contact) == ("connected", 270, org.contact)


def test_book_a_meeting_for_another_rep_who_completes_it(screen, org):
    page = screen.page
    screen.sign_in("sdr", PASSWORD)
    screen.goto("/activities/book/", shot="book")
    page.get_by_label("For").select_option(label="Erik Ek")
    when = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("When").fill(when)
    page.get_by_text("Remote", exact=True).click()
    page.get_by_role("combobox", name="Company or contact").fill("Acme")
    page.get_by_role("option", name=re.compile("^Company Acme Verkstad AB")).click()
    page.get_by_label("Subject").fill("Behovsanalys")
    screen.submit(page.get_by_role("button", name="Book", exact=True))
    expect(page.get_by_text("Meeting booked for Erik Ek.")).to_be_visible()
    screen.goto("/activities/week/", shot="week")
    expect(page.locator("#booked-heading + .items")).to_contain_text("Behovsanalys")
    screen.sign_out()

    screen.sign_in("ae", PASSWORD)
    due = page.locator("#due-heading + .items .item")
    expect(due).to_have_count(1)
    expect(due).to_contain_text("Behovsanalys")
    expect(due).to_contain_text("booked by Sara Svensson")
    with page.expect_navigation():
        due.get_by_role("link", name=re.compile("Done")).click()
    screen.check(shot="complete")
    page.get_by_text("In person", exact=True).click()
    page.get_by_label("Notes").fill("Offert nästa vecka")
    screen.submit(page.get_by_role("button", name="Mark as done"))

    expect(page.get_by_text("Meeting marked as done.")).to_be_visible()
    expect(page.get_by_text("Nothing planned is due today.")).to_be_visible()
    expect(page.locator("#done-heading + .items")).to_contain_text("Behovsanalys")
    meeting = Activity.objects.get(subject="Behovsanalys")
    assert (meeting.owner, meeting.booked_by, meeting.status, meeting.mode) == (
        org.ae,
        org.sdr,
        "completed",
        "physical",
    )


def test_respond_to_a_lead(screen, org):
    page = screen.page
    screen.sign_in("sdr", PASSWORD)
    screen.nav("Leads", shot="leads")
    lead = page.locator(f'[data-lead="{org.lead.pk}"]')
    clock = lead.locator(".clock")
    expect(clock).to_have_text(re.compile(r"^4[2-3] min$"))
    # The clock is live: static/js/clock.js rewrites it from the ISO start time.
    page.evaluate("document.querySelector('.clock').textContent = ''")
    expect(clock).to_have_text(re.compile(r"^4[2-3] min$"), timeout=7000)
    screen.submit(lead.get_by_role("button", name=re.compile("^Called")))

    expect(page.get_by_text("Call logged for Webbförfrågan Acme.")).to_be_visible()
    expect(page.get_by_text("No lead is waiting. Well done!")).to_be_visible()
    expect(page.locator("#answered-heading + .items")).to_contain_text("Answered in 4")
    assert Lead.objects.get(pk=org.lead.pk).status == "contacted"
    assert Activity.objects.get(lead=org.lead).kind == "call"


def test_create_an_opportunity_and_move_it_to_won(screen, org):
    page = screen.page
    screen.sign_in("ae", PASSWORD)
    screen.nav("Pipeline", shot="pipeline")
    with page.expect_navigation():
        page.get_by_role("link", name="New opportunity").click()
    screen.check(shot="opportunity-new")
    page.get_by_label("Name").fill("Delta lagersystem")
    page.get_by_role("combobox", name="Company or contact").fill("delta")
    page.get_by_role("option", name=re.compile("^Company Delta Logistik AB")).click()
    screen.submit(page.get_by_role("button", name="Create opportunity"))
    expect(page.get_by_text("Opportunity created.")).to_be_visible()
    expect(page.get_by_role("heading", name="Delta lagersystem")).to_be_visible()

    # Won needs an amount: the service's error shows on the form.
    move_to = page.get_by_label("Move to")
    move_to.select_option(label="Lost")
    expect(page.get_by_label("Lost reason")).to_be_visible()
    move_to.select_option(label="Won")
    expect(page.get_by_label("Lost reason")).to_be_hidden()
    screen.submit(page.get_by_role("button", name="Move", exact=True))
    expect(page.get_by_text("A won deal needs an amount above zero.")).to_be_visible()
    expect(page.get_by_label("Move to")).to_have_value(str(_stage_id("won")))

    page.get_by_label("Amount").fill("250 000")
    screen.submit(page.get_by_role("button", name="Move", exact=True), shot="opportunity")
    expect(page.get_by_text("Moved to Won.")).to_be_visible()
    expect(page.locator(".page-head .amount")).to_have_text(re.compile(r"SEK\s250,000"))
    expect(page.locator(".history")).to_contain_text("Qualification → Won")
    opp = Opportunity.objects.get(name="Delta lagersystem")
    assert (opp.stage.slug, opp.company, opp.owner) == ("won", org.shared_company, org.ae)


def _stage_id(slug: str) -> int:
    from pipeline.models import Stage

    return Stage.objects.get(slug=slug).pk


def test_an_invalid_form_shows_the_error_and_keeps_the_input(screen, org):
    page = screen.page
    screen.sign_in("ae", PASSWORD)
    screen.goto("/activities/log/?kind=call")
    page.get_by_text("No answer", exact=True).click()
    page.get_by_label("Duration (mm:ss)").fill("4:75")
    page.get_by_label("Subject").fill("Samtal med Karin")
    page.get_by_label("Notes").fill("Ring igen på fredag")
    screen.submit(page.get_by_role("button", name="Save", exact=True), shot="log-error")

    expect(page.get_by_role("alert")).to_contain_text("Please correct the marked fields.")
    duration = page.get_by_label("Duration (mm:ss)")
    expect(page.get_by_text("Enter the duration as mm:ss, for example 4:30.")).to_be_visible()
    expect(duration).to_have_value("4:75")
    expect(duration).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Subject")).to_have_value("Samtal med Karin")
    expect(page.get_by_label("Notes")).to_have_value("Ring igen på fredag")
    expect(page.get_by_label("No answer")).to_be_checked()
    assert not Activity.objects.exists()


def test_switch_language(screen, org):
    page = screen.page
    screen.sign_in("sdr", PASSWORD)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_label("Language").select_option("sv")
    screen.submit(page.get_by_role("button", name="Change"), shot="my-day-sv")
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    expect(page.get_by_role("heading", name="Hej Sara")).to_be_visible()
    nav = page.get_by_role("navigation", name="Huvudmeny")
    expect(nav.get_by_role("link", name="Min dag")).to_have_attribute("aria-current", "page")
    with page.expect_navigation():
        nav.get_by_role("link", name="Logga").click()
    screen.check(shot="log-sv")
    expect(page.get_by_role("heading", name="Logga aktivitet")).to_be_visible()

    page.get_by_label("Språk").select_option("en")
    screen.submit(page.get_by_role("button", name="Ändra"))
    expect(page.get_by_role("heading", name="Log activity")).to_be_visible()
