"""Bad input answers a clear 4xx naming what is wrong, never 500 (config/input.py, config/api.py).

PostgreSQL refuses NUL in text and Python's JSON decoder recurses per level of nesting:
both are refused before any app sees the input, for the API, the signed webhook and forms.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import get_resolver

from tests.engage.conftest import channel, payload, signed_post
from tests.factories import DepartmentFactory, UserFactory

pytestmark = pytest.mark.django_db
__all__ = ["channel"]  # the fixture, shared with tests/engage

DEEP = ("[" * 10_000 + "]" * 10_000).encode()


def _json_endpoints() -> list[str]:
    """Every API path without parameters (those with one are fuzzed by schemathesis)."""
    paths = []
    for pattern in get_resolver().url_patterns:
        if str(pattern.pattern) != "api/v1/":
            continue
        for inner in pattern.url_patterns:
            for leaf in getattr(inner, "url_patterns", [inner]):
                route = str(leaf.pattern)
                if "<" not in route and route not in ("schema/", "docs/"):
                    paths.append(f"/api/v1/{route}")
    return paths


# --- NUL ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        payload(text="a\x00b"),
        payload(external_id="a\x00b"),
        payload(author={"handle": "@a\x00b", "name": "x"}),
        payload(author={"handle": "@a", "name": "x\x00"}),
        payload(url="https://example.com/\x00"),
    ],
)
def test_nul_in_any_webhook_field_is_400_naming_it(channel, body):
    field = next(
        key
        for key, value in {**body, **{f"author.{k}": v for k, v in body["author"].items()}}.items()
        if isinstance(value, str) and "\x00" in value
    )
    response = signed_post(Client(), channel.url, channel.secret, json.dumps(body).encode())
    assert response.status_code == 400
    assert field in response.json(), response.json()


@pytest.mark.parametrize("param", ["topic", "department", "status", "q", "page"])
def test_nul_in_a_query_string_filter_is_400_naming_it(api, admin_user, param):
    response = api(admin_user).get(f"/api/v1/queries/?{param}=a%00b")
    assert response.status_code == 400
    assert response.json() == {param: ["Null characters are not allowed."]}


def test_nul_in_a_page_query_string_is_400(client, admin_user):
    client.force_login(admin_user)
    response = client.get("/deliveries/?status=a%00b")
    assert response.status_code == 400
    assert b"status" in response.content


def test_nul_in_user_and_topic_fields_is_400_naming_the_field(api, admin_user):
    department = DepartmentFactory(slug="sales")
    person = UserFactory(department=department)
    client = api(admin_user)
    new_user = {"email": "n@example.com", "name": "N", "department": "a\x00b"}
    answers = [
        ("department", client.post("/api/v1/users/", new_user, format="json")),
        ("department", client.patch(f"/api/v1/users/{person.pk}/", {"department": "a\x00b"}, format="json")),
        ("name", client.patch(f"/api/v1/users/{person.pk}/", {"name": "x\x00"}, format="json")),
        (
            "department",
            client.post("/api/v1/topics/", {"slug": "t", "name": "T", "department": "a\x00b"}, format="json"),
        ),
        (
            "keywords[1]",
            client.post("/api/v1/topics/", {"slug": "t", "name": "T", "keywords": ["ok", "\x00"]}, format="json"),
        ),
    ]
    for field, response in answers:
        assert response.status_code == 400, (field, response.content)
        assert field in response.json(), (field, response.json())


def test_nul_in_a_json_key_is_400(api, admin_user):
    response = api(admin_user).post("/api/v1/topics/", {"slug": "t", "name": "T", "a\x00": 1}, format="json")
    assert response.status_code == 400
    assert response.json() == {"a\\u0000": ["Null characters are not allowed."]}


def test_nul_in_a_form_field_is_400_naming_it(client, admin_user):
    client.force_login(admin_user)
    response = client.post("/channels/", {"slug": "ok", "name": "a\x00b", "kind": "forum"})
    assert response.status_code == 400
    assert b"name" in response.content


# --- Nesting --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/auth/token/", "/api/v1/auth/password-reset/"])
def test_json_nested_10000_deep_is_400_on_the_unauthenticated_endpoints(path):
    response = Client().post(path, data=DEEP, content_type="application/json")
    assert response.status_code == 400
    assert "nested" in response.json()["non_field_errors"][0]


def test_json_nested_10000_deep_is_400_on_every_json_endpoint(api, admin_user):
    client = api(admin_user)
    paths = _json_endpoints()
    assert len(paths) > 15  # precondition: the walk found the API
    refused = 0
    for path in paths:
        for method in (client.post, client.put, client.patch):
            response = method(path, data=DEEP, content_type="application/json")
            assert response.status_code < 500, (path, method, response.status_code)
            assert response["Content-Type"] == "application/json", path
            refused += response.status_code == 400
    assert refused >= 10  # the others take no body (405, or an action that reads none)


def test_json_nested_10000_deep_is_400_on_the_webhook(channel):
    response = signed_post(Client(), channel.url, channel.secret, b'{"a":' * 5000 + b"1" + b"}" * 5000)
    assert response.status_code == 400


def test_nesting_within_the_limit_is_accepted(api, admin_user):
    nested: list[object] = []
    for _ in range(30):
        nested = [nested]
    response = api(admin_user).post("/api/v1/topics/", {"slug": "t", "name": "T", "keywords": nested}, format="json")
    assert response.status_code == 400  # the serializer's own answer: keywords are strings
    assert "keywords" in response.json()


# --- Size and unknown paths -----------------------------------------------------------------------


def test_a_json_body_over_the_upload_limit_is_413_in_json(api, admin_user, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = json.dumps({"slug": "t", "name": "x" * 2000}).encode()
    response = api(admin_user).post("/api/v1/topics/", data=body, content_type="application/json")
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert "KiB" in response.json()["detail"]


@pytest.mark.parametrize(
    "path", ["/api/v1/answers/null%2Cnull/", "/api/v1/queries/abc/", "/api/v1/nothing-here/", "/api/v2/"]
)
def test_malformed_ids_and_unknown_api_paths_are_json_404(api, admin_user, path):
    response = api(admin_user).get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_an_unknown_page_is_still_the_html_404(client, admin_user):
    client.force_login(admin_user)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
