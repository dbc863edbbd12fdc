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


CONCURRENT_FIRST_REQUESTS = """
import threading
import django
django.setup()
from django.test import Client
statuses = []
start = threading.Barrier(6)
def fetch():
    start.wait()
    statuses.append(Client(raise_request_exception=False).get("/api/v1/schema/?format=json").status_code)
threads = [threading.Thread(target=fetch) for _ in range(6)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(sorted(statuses))
"""


@pytest.mark.parametrize("attempt", range(2))
def test_simultaneous_first_requests_for_the_schema_all_answer(tmp_path, attempt):
    """A fresh process (as a new server is), six threads at once (drf-spectacular alone 500s)."""
    from tests.platform.procs import clean_env, run_python

    env = clean_env(tmp_path, DEBUG="1", ALLOWED_HOSTS="testserver")
    done = run_python(CONCURRENT_FIRST_REQUESTS, env, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == str([200] * 6), done.stderr[-2000:]


def test_a_toolkit_file_is_documented_as_any_content_type(schema):
    operation = schema["paths"]["/api/v1/toolkits/{id}/items/{item_id}/file/"]["get"]
    assert list(operation["responses"]["200"]["content"]) == ["*/*"]


def test_the_schema_says_where_scims_contract_lives(schema):
    """SCIM's endpoints follow RFC 7643/7644, not this document, and it says so."""
    assert "/scim/v2/ServiceProviderConfig" in schema["info"]["description"]
    assert "RFC 7643/7644" in schema["info"]["description"]
    assert not [path for path in schema["paths"] if path.startswith("/scim/")]
