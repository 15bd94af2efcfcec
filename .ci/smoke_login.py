"""Sign in to a running Saljsite as each demo user, as a new user would, and check the landing page
and the KPI pages that user may open (with the demo's numbers computed, not empty).

Usage: python .ci/smoke_login.py http://127.0.0.1:8765
"""

from __future__ import annotations

import http.cookiejar
import re
import sys
import urllib.parse
import urllib.request

DEMO_USERS = ["demo-sdr", "demo-ae", "demo-am", "demo-manager", "demo-admin"]
PASSWORD = "saljsite-demo"  # noqa: S105 - the published demo password
# The pages each user opens after signing in; reps have no dashboard (404).
PAGES = {
    "demo-sdr": ["/scorecard/", "/team/"],
    "demo-ae": ["/scorecard/", "/team/"],
    "demo-am": ["/scorecard/", "/team/"],
    "demo-manager": ["/scorecard/", "/team/", "/dashboard/"],
    "demo-admin": ["/dashboard/"],
}
EMPTY = "Nothing computed for this period yet"


def sign_in(base: str, username: str) -> None:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/accounts/login/").read().decode()
    assert 'name="password"' in page, "the login page has no password field"
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode(
        {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token, "next": "/"}
    ).encode()
    request = urllib.request.Request(f"{base}/accounts/login/", data=data)
    request.add_header("Referer", f"{base}/accounts/login/")
    response = opener.open(request)
    body = response.read().decode()
    assert urllib.parse.urlparse(response.geturl()).path == "/", (
        f"{username}: sign-in did not reach the landing page ({response.geturl()})"
    )
    assert "accounts/logout" in body, f"{username}: the landing page does not show a signed-in user"
    print(f"ok  {username} signed in")
    for path in PAGES[username]:
        request = urllib.request.Request(f"{base}{path}", headers={"Accept-Language": "en"})
        page = opener.open(request)
        text = page.read().decode()
        assert page.status == 200, f"{username}: {path} answered {page.status}"
        assert "<canvas" in text, f"{username}: {path} has no chart"
        assert EMPTY not in text, f"{username}: {path} shows no computed KPIs"
        print(f"ok  {username} {path}")


def main() -> None:
    base = sys.argv[1].rstrip("/")
    for username in DEMO_USERS:
        sign_in(base, username)


if __name__ == "__main__":
    main()
