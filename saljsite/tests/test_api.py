"""What every API endpoint shares: authentication, throttled login, pagination, errors, schema."""

from __future__ import annotations

import json

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from people.models import User
from people.tests.factories import UserFactory
from saljsite.api import validation_detail
from saljsite.api.authentication import TokenAuthentication
from saljsite.tests.api_support import API, client_for

pytestmark = pytest.mark.django_db

TOKEN_URL = f"{API}/auth/token/"
PASSWORD = "pw-for-tests-1"  # UserFactory's


@pytest.fixture(autouse=True)
def _fresh_throttle():
    # The login throttle counts in the cache; every test starts with a clean count.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def rep():
    return UserFactory(username="anna")


# ---------------------------------------------------------------------------
# Authentication
# ---------------------------------------------------------------------------
def test_token_endpoint_returns_the_users_token(rep):
    response = APIClient().post(TOKEN_URL, {"username": "anna", "password": PASSWORD})

    assert response.status_code == 200
    assert response.json() == {"token": Token.objects.get(user=rep).key}


def test_the_same_token_is_returned_on_every_login(rep):
    client = APIClient()
    first = client.post(TOKEN_URL, {"username": "anna", "password": PASSWORD}).json()
    second = client.post(TOKEN_URL, {"username": "anna", "password": PASSWORD}).json()

    assert first == second


def test_bad_credentials_are_400_without_a_token(rep):
    response = APIClient().post(TOKEN_URL, {"username": "anna", "password": "wrong"})

    assert response.status_code == 400
    assert "non_field_errors" in response.json()
    assert not Token.objects.exists()


def test_missing_credentials_are_400_on_the_fields():
    response = APIClient().post(TOKEN_URL, {}, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"username", "password"}


def test_the_eleventh_login_attempt_within_a_minute_is_429(rep):
    client = APIClient()
    statuses = [
        client.post(TOKEN_URL, {"username": "anna", "password": "wrong"}).status_code
        for _ in range(11)
    ]

    assert statuses == [400] * 10 + [429]
    assert "Retry-After" in client.post(TOKEN_URL, {"username": "anna", "password": PASSWORD})


def test_the_login_throttle_counts_per_client_ip(rep):
    client = APIClient()
    for _ in range(10):
        client.post(TOKEN_URL, {"username": "anna", "password": "wrong"}, REMOTE_ADDR="10.0.0.1")

    elsewhere = client.post(
        TOKEN_URL, {"username": "anna", "password": PASSWORD}, REMOTE_ADDR="10.0.0.2"
    )

    assert elsewhere.status_code == 200


def test_token_authenticates_api_requests(rep):
    token = Token.objects.create(user=rep)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    response = client.get(f"{API}/users/")

    assert response.status_code == 200
    assert [row["username"] for row in response.json()["results"]] == ["anna"]


def test_a_token_lookup_is_one_query_and_gives_the_user_and_token_the_orm_would(
    rep, django_assert_num_queries
):
    token = Token.objects.create(user=rep)

    with django_assert_num_queries(1):
        user, found = TokenAuthentication().authenticate_credentials(token.key)

    expected = User.objects.get(pk=rep.pk)
    assert [getattr(user, f.attname) for f in User._meta.concrete_fields] == [
        getattr(expected, f.attname) for f in User._meta.concrete_fields
    ]
    assert (found.key, found.user_id, found.created) == (token.key, rep.pk, token.created)
    assert found.user is user
    assert not user._state.adding


def test_the_token_of_an_inactive_user_is_401(rep):
    token = Token.objects.create(user=rep)
    rep.is_active = False
    rep.save(update_fields=["is_active"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    assert client.get(f"{API}/users/").status_code == 401


def test_anonymous_requests_are_401_with_a_token_challenge():
    response = APIClient().get(f"{API}/activities/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_an_unknown_token_is_401():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")

    assert client.get(f"{API}/activities/").status_code == 401


def test_session_auth_reads_and_needs_the_csrf_token_to_write(rep):
    client = APIClient(enforce_csrf_checks=True)
    client.get("/accounts/login/")  # Sets the CSRF cookie, as the browser's pages do.
    csrf = client.cookies["csrftoken"].value
    client.login(username="anna", password=PASSWORD)

    assert client.get(f"{API}/users/").status_code == 200
    refused = client.post(f"{API}/activities/", {"kind": "call"}, format="json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]

    accepted = client.post(
        f"{API}/activities/", {"kind": "call"}, format="json", HTTP_X_CSRFTOKEN=csrf
    )
    assert accepted.status_code == 201, accepted.content


# ---------------------------------------------------------------------------
# Pagination and errors
# ---------------------------------------------------------------------------
def test_lists_are_paginated_with_count_next_previous_results(rep):
    client = client_for(rep)

    first = client.get(f"{API}/stages/", {"page_size": 2}).json()
    second = client.get(first["next"]).json()

    assert set(first) == {"count", "next", "previous", "results"}
    assert first["count"] == 6  # The seeded stages.
    assert len(first["results"]) == 2
    assert first["previous"] is None
    assert second["previous"] is not None
    assert second["results"][0]["slug"] != first["results"][0]["slug"]


def test_page_size_is_capped_at_1000(rep):
    from saljsite.api import Pagination

    client = client_for(rep)

    assert client.get(f"{API}/stages/", {"page_size": 5000}).status_code == 200
    assert Pagination.max_page_size == 1000


def test_a_page_past_the_end_is_404(rep):
    assert client_for(rep).get(f"{API}/stages/", {"page": 99}).status_code == 404


def test_service_errors_become_field_messages_and_non_field_errors():
    error = ValidationError({"stage": ["Unknown stage."], "__all__": ["Something else."]})

    assert validation_detail(error) == {
        "stage": ["Unknown stage."],
        "non_field_errors": ["Something else."],
    }


def test_writes_accept_json_only(rep):
    response = client_for(rep).post(f"{API}/activities/", "kind=call", content_type="text/plain")

    assert response.status_code == 415


# ---------------------------------------------------------------------------
# Schema and docs
# ---------------------------------------------------------------------------
def test_schema_is_valid_openapi_3_without_warnings_and_every_field_is_described(tmp_path):
    path = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    schema = yaml.safe_load(path.read_text())

    assert schema["openapi"].startswith("3.")
    undescribed = [
        f"{name}.{field}"
        for name, component in schema["components"]["schemas"].items()
        for field, spec in component.get("properties", {}).items()
        if not spec.get("description")
    ]
    assert undescribed == []


def test_schema_lists_every_resource():
    response = APIClient().get(f"{API}/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    paths = json.loads(response.content)["paths"]
    for resource in (
        "users", "teams", "companies", "contacts", "leads", "stages", "opportunities",
        "activities", "rep-costs", "targets",
    ):  # fmt: skip
        assert f"{API}/{resource}/" in paths
        assert any(p.startswith(f"{API}/{resource}/{{") for p in paths)
    assert f"{API}/auth/token/" in paths
    assert f"{API}/opportunities/{{id}}/move/" in paths


def test_docs_page_loads_swagger_ui_from_our_static_files_not_a_cdn():
    response = APIClient().get(f"{API}/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
