"""Sign in and out, password change and reset, and the navigation of the workspace."""

from __future__ import annotations

import re
from types import ModuleType

import pytest
from django.http import HttpResponse
from django.urls import include, path, reverse

from people.templatetags.saljsite_ui import waited
from people.tests.factories import ManagerFactory, UserFactory
from people.tests.workspace import PASSWORD
from saljsite import urls as site_urls

pytestmark = pytest.mark.django_db


@pytest.fixture
def rep():
    return UserFactory(username="anna", first_name="Anna", email="anna@example.com", role="sdr")


def test_signing_in_lands_on_my_day(client, rep):
    response = client.post(
        reverse("login"), {"username": "anna", "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("home")
    assert "Hello, Anna" in response.content.decode()


def test_a_wrong_password_says_so_and_keeps_the_username(client, rep):
    response = client.post(reverse("login"), {"username": "anna", "password": "nope"})
    html = response.content.decode()
    assert "didn&#x27;t match" in html or "didn't match" in html
    assert 'value="anna"' in html


def test_signing_out_returns_to_sign_in(client, rep):
    client.force_login(rep)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response.url == reverse("login")
    assert client.get(reverse("home")).status_code == 302


def test_password_change(client, rep):
    client.force_login(rep)
    assert client.get(reverse("people:password_change")).status_code == 200
    response = client.post(
        reverse("people:password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-Sales-pw-77",
            "new_password2": "a-new-Sales-pw-77",
        },
    )
    assert response.status_code == 302
    assert response.url == reverse("people:password_change_done")
    rep.refresh_from_db()
    assert rep.check_password("a-new-Sales-pw-77")


def test_password_change_shows_errors_on_the_fields(client, rep):
    client.force_login(rep)
    response = client.post(
        reverse("people:password_change"),
        {"old_password": "wrong", "new_password1": "x", "new_password2": "y"},
    )
    assert response.status_code == 200
    assert "old_password" in response.context["form"].errors
    assert 'aria-invalid="true"' in response.content.decode()


def test_password_reset_mails_a_link_that_sets_a_new_password(client, rep, mailoutbox):
    response = client.post(reverse("people:password_reset"), {"email": "anna@example.com"})
    assert response.status_code == 302
    assert response.url == reverse("people:password_reset_done")
    (mail,) = mailoutbox
    assert mail.to == ["anna@example.com"]
    assert mail.subject == "Reset your Saljsite password"
    link = re.search(r"https?://testserver(/accounts/reset/\S+/)", mail.body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.context["validlink"]
    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "Brand-new-pw-2026", "new_password2": "Brand-new-pw-2026"},
    )
    assert response.status_code == 302
    assert response.url == reverse("people:password_reset_complete")
    rep.refresh_from_db()
    assert rep.check_password("Brand-new-pw-2026")


# ---------------------------------------------------------------------------
# Navigation
# ---------------------------------------------------------------------------
def _nav(html: str) -> list[str]:
    nav = re.search(r'<nav class="tabs"[^>]*>(.*?)</nav>', html, re.S).group(1)
    return re.findall(r"<span>([^<]+)</span></a>", nav)


def _account_menu(html: str) -> str:
    return re.search(r'<div class="account-menu">(.*?)</div>', html, re.S).group(1)


def _current(html: str) -> list[str]:
    return re.findall(r'aria-current="page">.*?<span>([^<]+)</span>', html, re.S)


def _urlconf(*extra) -> ModuleType:
    """The site's URLs without any KPI pages, plus `extra`."""
    module = ModuleType("workspace_test_urls")
    module.urlpatterns = [
        *(p for p in site_urls.urlpatterns if getattr(p, "namespace", None) != "kpis"),
        *extra,
    ]
    return module


def _page(request):
    return HttpResponse("KPI page")


KPI_URLS = (
    [path("scorecard/", _page, name="scorecard"), path("team/", _page, name="team")],
    "kpis",
)


def test_a_rep_sees_the_workspace_sections_and_no_admin(client, rep, settings):
    settings.ROOT_URLCONF = _urlconf()
    client.force_login(rep)
    html = client.get(reverse("home")).content.decode()
    assert _nav(html) == ["My day", "Log", "Leads", "Pipeline"]
    assert _current(html) == ["My day"]


def test_scorecard_and_team_appear_once_the_kpi_pages_exist(client, rep, settings):
    settings.ROOT_URLCONF = _urlconf(path("kpis/", include(KPI_URLS)))
    client.force_login(rep)
    html = client.get(reverse("pipeline:board")).content.decode()
    assert _nav(html) == ["My day", "Log", "Leads", "Pipeline", "Scorecard", "Team"]
    assert _current(html) == ["Pipeline"]


def test_managers_find_the_admin_in_the_account_menu(client, rep, settings):
    settings.ROOT_URLCONF = _urlconf()
    client.force_login(ManagerFactory())
    html = client.get(reverse("activities:log")).content.decode()
    assert _nav(html) == ["My day", "Log", "Leads", "Pipeline"]
    assert _current(html) == ["Log"]
    assert f'href="{reverse("admin:index")}"' in _account_menu(html)
    client.force_login(rep)
    html = client.get(reverse("activities:log")).content.decode()
    assert reverse("admin:index") not in html


def test_the_navigation_and_pages_speak_swedish(client, rep):
    client.force_login(rep)
    html = client.get(reverse("pipeline:leads"), HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert _nav(html)[:4] == ["Min dag", "Logga", "Leads", "Pipeline"]
    assert "Väntar på första svar" in html


def test_waiting_times_read_as_minutes_hours_and_days():
    assert waited(59) == "0 min"
    assert waited(42 * 60 + 5) == "42 min"
    assert waited(3 * 3600 + 5 * 60) == "3 h 5 min"
    assert waited(2 * 86400 + 4 * 3600) == "2 d 4 h"
