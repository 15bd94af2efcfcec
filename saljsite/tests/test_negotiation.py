"""Content negotiation (`saljsite.api.negotiation`): DRF's answers, the common case shortcut."""

from __future__ import annotations

import itertools

import pytest
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from activities.models import Activity
from people.tests.factories import UserFactory
from saljsite.api.negotiation import ContentNegotiation
from saljsite.api.renderers import CSVRenderer, XLSXRenderer
from saljsite.tests.api_support import API, client_for

ACCEPT = [
    None,
    "*/*",
    " */*",
    "application/json",
    "application/json; indent=4",
    "application/*",
    "text/csv",
    "text/csv, */*;q=0.1",
    "text/html",
    "",
]
RENDERERS = [
    (JSONRenderer,),
    (JSONRenderer, CSVRenderer, XLSXRenderer),
    (CSVRenderer, JSONRenderer),
]
FORMATS = [(None, None), ("json", None), ("csv", None), ("xml", None), (None, "csv")]


def answer(negotiation, accept, renderers, query_format, suffix):
    extra = {} if accept is None else {"HTTP_ACCEPT": accept}
    query = {"format": query_format} if query_format else {}
    request = Request(APIRequestFactory().get("/x/", query, **extra))
    try:
        renderer, media_type = negotiation.select_renderer(
            request, [cls() for cls in renderers], suffix
        )
    except Exception as error:  # The outcome compared: which exception, if any.
        return type(error)
    return type(renderer), media_type


@pytest.mark.parametrize(
    ("accept", "renderers", "formats"), list(itertools.product(ACCEPT, RENDERERS, FORMATS))
)
def test_the_answer_is_drfs(accept, renderers, formats):
    assert answer(ContentNegotiation(), accept, renderers, *formats) == answer(
        DefaultContentNegotiation(), accept, renderers, *formats
    )


@pytest.mark.django_db
def test_the_api_answers_a_request_accepting_anything_without_parsing_the_header(monkeypatch):
    def parse(*args, **kwargs):
        raise AssertionError("the Accept header was parsed")

    monkeypatch.setattr(DefaultContentNegotiation, "_get_parsed_accept_list", parse)
    client = client_for(UserFactory())

    for accept in (None, "*/*", "application/json"):
        extra = {} if accept is None else {"HTTP_ACCEPT": accept}
        response = client.post(f"{API}/activities/", {"kind": "call"}, format="json", **extra)
        assert response.status_code == 201
        assert response["Content-Type"] == "application/json"


@pytest.mark.django_db
def test_a_create_with_an_unacceptable_accept_header_is_406_and_stores_nothing():
    response = client_for(UserFactory()).post(
        f"{API}/activities/", {"kind": "call"}, format="json", HTTP_ACCEPT="text/html"
    )

    assert response.status_code == 406
    assert not Activity.objects.exists()


@pytest.mark.django_db
def test_a_create_accepting_indented_json_gets_it():
    response = client_for(UserFactory()).post(
        f"{API}/activities/",
        {"kind": "call"},
        format="json",
        HTTP_ACCEPT="application/json; indent=2",
    )

    assert response.status_code == 201
    assert response.content.startswith(b'{\n  "id": ')
