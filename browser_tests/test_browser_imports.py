"""The admin's import page in Chromium, on a phone (390×844) and a desktop (1280×800): upload,
dry-run report with the bad rows, commit, result; no sideways scrolling; screenshots under
test-artifacts/screenshots/imports-*.png."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from playwright.sync_api import expect

from activities.models import Activity
from people.tests.workspace import PASSWORD
from pipeline.tests import imports_helpers

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

world = imports_helpers.world  # the two teams of the import tests (a fixture)
GOOD = (
    "external_id;kind;owner;occurred_at;outcome;duration_seconds\r\n"
    "A-1;call;sam.sdr;2026-03-02 09:30;connected;1 200\r\n"
    "A-2;call;alex.ae;2026-03-02 10:30;no_answer;\r\n"
)
BAD = GOOD + "A-3;fax;olle.other;igår;;\r\n"


@pytest.fixture
def manager(world, settings, tmp_path):
    settings.SALJSITE_IMPORT_DIR = tmp_path / "imports"
    user = world["manager"]
    # The browser conftest resets the Managers group to the people app's list: add ours.
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["add_importjob", "view_importjob"])
    )
    return user


def _sign_in(screen) -> None:
    screen.goto("/admin/login/")
    screen.page.get_by_label("Username").fill("maja.manager")
    screen.page.get_by_label("Password").fill(PASSWORD)
    screen.submit(screen.page.get_by_role("button", name="Log in"))


def _upload(screen, tmp_path, content: str, shot: str | None = None) -> None:
    page = screen.page
    screen.goto("/admin/pipeline/importjob/add/", shot=shot)
    page.get_by_label("What the file holds").select_option("activities")
    path = tmp_path / "calls.csv"
    path.write_bytes(content.encode("cp1252"))
    page.locator("#id_file").set_input_files(str(path))
    screen.submit(page.get_by_role("button", name="Check the file"))


def test_a_manager_checks_and_imports_a_file(screen, manager, tmp_path):
    page = screen.page
    _sign_in(screen)
    _upload(screen, tmp_path, BAD, shot="imports-upload")
    expect(page.get_by_role("heading", name="Dry run: ✖ errors found, nothing can be imported"))
    errors = page.locator("#import-errors tbody tr")
    expect(errors).to_have_count(3)
    expect(errors.first).to_contain_text("4")
    screen.check("imports-errors")
    expect(page.get_by_role("button", name="Import")).to_have_count(0)

    _upload(screen, tmp_path, GOOD)
    expect(page.locator("[data-role=created]").first).to_have_text("2")
    screen.check("imports-dry-run")
    screen.submit(page.get_by_role("button", name="Import"), shot="imports-done")
    expect(page.get_by_role("heading", name="✔ Imported")).to_be_visible()
    assert Activity.objects.get(external_id="A-1").duration_seconds == 1200
