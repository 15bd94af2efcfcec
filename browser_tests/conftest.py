"""Chromium through Playwright against pytest-django's live server.

One browser per module; one page per viewport (phone 390×844, desktop 1280×800), reused by the
module's tests with its cookies cleared. `Screen` drives a page: after every navigation it checks
that the page does not scroll sideways and can save a screenshot under
`test-artifacts/screenshots/<name>-<width>.png`.
"""

from __future__ import annotations

import os
from importlib import import_module
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group, Permission

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORTS = {"phone": (390, 844), "desktop": (1280, 800)}
ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"
SCREENSHOTS = Path(settings.BASE_DIR) / "test-artifacts" / "screenshots"


@pytest.fixture(scope="module")
def browser(django_db_setup):
    from conftest import require_service

    require_service(CHROMIUM.exists(), f"needs Chromium at {CHROMIUM} for the browser tests")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread, which makes Django refuse
    # the tests' (synchronous, safe) ORM calls and database flushes while the browser is up.
    previous = os.environ.get(ASYNC_UNSAFE)
    os.environ[ASYNC_UNSAFE] = "true"
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop(ASYNC_UNSAFE, None)
        else:
            os.environ[ASYNC_UNSAFE] = previous


@pytest.fixture(scope="module")
def _pages(browser):
    pages = {}
    for name, (width, height) in VIEWPORTS.items():
        context = browser.new_context(
            viewport={"width": width, "height": height},
            locale="en-GB",
            timezone_id=settings.TIME_ZONE,
        )
        context.set_default_timeout(10_000)
        pages[name] = context.new_page()
    yield pages
    for page in pages.values():
        page.context.close()


@pytest.fixture(autouse=True)
def _migration_rows(transactional_db):
    """The rows data migrations seed (stages, the Managers group, role presets), which an earlier
    test's flush may have removed. (Not `serialized_rollback`: its snapshot clashes with the
    content types a flush of another transactional test recreates under new ids.)"""
    import_module("pipeline.migrations.0002_seed_stages_and_history_guard").seed_stages(apps, None)
    import_module("kpis.migrations.0006_role_presets").seed_role_presets(apps, None)
    managers = import_module("people.migrations.0002_managers_group").MANAGER_PERMISSIONS
    group, _ = Group.objects.get_or_create(name="Managers")
    group.permissions.set(
        Permission.objects.filter(
            content_type__app_label__in=list(managers),
            codename__in=[
                f"{action}_{model}"
                for models in managers.values()
                for model, actions in models.items()
                for action in actions
            ],
        )
    )


@pytest.fixture(params=list(VIEWPORTS), ids=list(VIEWPORTS))
def screen(request, _pages, live_server):
    page = _pages[request.param]
    page.context.clear_cookies()
    return Screen(page, live_server.url)


class Screen:
    def __init__(self, page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.width = page.viewport_size["width"]

    @property
    def phone(self) -> bool:
        return self.width < 768

    def goto(self, path: str, shot: str | None = None) -> None:
        self.page.goto(self.base_url + path)
        self.check(shot)

    def submit(self, locator, shot: str | None = None) -> None:
        """Click a submit button and wait for the next page."""
        with self.page.expect_navigation():
            locator.click()
        self.check(shot)

    def check(self, shot: str | None = None) -> None:
        """No sideways scrolling on the page now shown; a screenshot when `shot` names it."""
        self.page.wait_for_load_state("load")
        scroll_width, inner_width = self.page.evaluate(
            "[document.documentElement.scrollWidth, window.innerWidth]"
        )
        assert scroll_width <= inner_width, (
            f"{self.page.url} scrolls sideways at {self.width}px ({scroll_width} > {inner_width})"
        )
        if shot:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=SCREENSHOTS / f"{shot}-{self.width}.png", full_page=True)

    def nav(self, label: str, shot: str | None = None) -> None:
        """Follow a main navigation item (the bottom tab bar on a phone)."""
        link = self.page.get_by_role("navigation", name="Main").get_by_role("link", name=label)
        with self.page.expect_navigation():
            link.click()
        self.check(shot)

    def sign_in(self, username: str, password: str) -> None:
        self.goto("/accounts/login/")
        self.page.get_by_label("Username").fill(username)
        self.page.get_by_label("Password").fill(password)
        self.submit(self.page.get_by_role("button", name="Sign in"))

    def sign_out(self) -> None:
        self.page.locator("details.account summary").click()
        self.submit(self.page.get_by_role("button", name="Sign out"))
