"""The served OpenAPI schema tells the truth about the lists and the errors (config/schema.py).

schemathesis (``make fuzz``, run by CI) checks every operation's responses against it;
these tests pin the parts found wrong before: lists declared as bare arrays, the claim's
409 and undocumented error answers.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

PAGINATED = [
    "/api/v1/answers/",
    "/api/v1/channels/",
    "/api/v1/deliveries/",
    "/api/v1/insights/",
    "/api/v1/messages/",
    "/api/v1/messages/{id}/history/",
    "/api/v1/messages/{id}/revisions/",
    "/api/v1/shares/",
    "/api/v1/toolkits/",
    "/api/v1/queries/{id}/answers/",
]


@pytest.fixture
def schema(api, admin_user):
    response = api(admin_user).get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def _resolve(schema, node):
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


@pytest.mark.parametrize("path", PAGINATED)
def test_paginated_lists_are_declared_paginated(schema, path):
    body = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    declared = _resolve(schema, body)
    assert declared["type"] == "object"
    assert {"count", "next", "previous", "results"} <= set(declared["properties"])


def test_the_claim_conflict_is_documented_as_it_is_answered(schema):
    conflict = schema["paths"]["/api/v1/queries/{id}/claim/"]["post"]["responses"]["409"]
    declared = _resolve(schema, conflict["content"]["application/json"]["schema"])
    assert declared["required"] == ["detail"]
    assert {"claimed_by", "claimed_until", "status", "limit"} <= set(declared["properties"])


def test_real_error_answers_are_documented(schema):
    operations = schema["paths"]
    assert {"400", "401", "403", "404", "409", "413"} <= set(
        operations["/api/v1/queries/{id}/escalate/"]["post"]["responses"]
    )
    assert {"400", "413", "429"} <= set(operations["/api/v1/auth/token/"]["post"]["responses"])
    assert "401" not in operations["/api/v1/auth/token/"]["post"]["responses"]  # open to anyone
    assert "404" in operations["/api/v1/answers/"]["get"]["responses"]  # a page past the end


def test_a_page_past_the_end_is_the_documented_404(api, admin_user):
    response = api(admin_user).get("/api/v1/channels/?page=99")
    assert response.status_code == 404
    assert "detail" in response.json()
