"""The hot paths answer hand-built rows (bench/RESULTS.md): each row's keys must be exactly the
fields of the output serializer the OpenAPI schema documents for it, no more and no fewer.

schemathesis (``make fuzz``) checks the values against the served schema; this pins the key
sets themselves, so a field added to a row but not to its serializer (or the reverse) fails here.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client

from engage import apis
from tests.engage.conftest import payload, signed_post

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def documented(serializer: object) -> set[str]:
    return set(serializer.fields)


def required(serializer: object) -> set[str]:
    return {name for name, field in serializer.fields.items() if field.required}


def test_the_queue_rows_have_exactly_the_documented_fields(api, owner, make_query, department) -> None:
    make_query("First question", department=department)
    make_query("Second question", department=department)
    body = api(owner).get("/api/v1/queries/", {"department": "support"}).json()
    assert set(body) == documented(apis.QueryPageOutput())
    assert len(body["results"]) == 2
    for row in body["results"]:
        assert set(row) == documented(apis.QueryOutput())
        assert set(row["author"]) == documented(apis.QueryAuthorOutput())


def test_a_claim_answers_exactly_the_documented_fields(api, owner, make_query, department) -> None:
    query = make_query(department=department)
    response = api(owner).post(f"/api/v1/queries/{query.pk}/claim/")
    assert response.status_code == 200
    assert set(response.json()) == documented(apis.CLAIM_RESULT)


def test_a_published_answer_has_exactly_the_documented_fields(api, responder, make_query, department) -> None:
    query = make_query(department=department)
    client = api(responder)
    assert client.post(f"/api/v1/queries/{query.pk}/claim/").status_code == 200
    response = client.post(f"/api/v1/queries/{query.pk}/answers/", {"body": "Yes, soon."}, format="json")
    assert response.status_code == 201, response.content
    assert set(response.json()) == documented(apis.AnswerOutput())


def test_a_webhook_receipt_has_the_documented_fields(channel) -> None:
    client = Client()
    first = signed_post(client, channel.url, channel.secret, json.dumps(payload("shape-1")).encode())
    assert first.status_code == 201
    keys = set(first.json())
    # A new query answers the required fields; the follow-up-only ones may be absent, never unknown.
    assert required(apis.WEBHOOK_RESULT) <= keys <= documented(apis.WEBHOOK_RESULT)
    again = signed_post(client, channel.url, channel.secret, json.dumps(payload("shape-1")).encode())
    assert again.status_code == 200
    assert required(apis.WEBHOOK_RESULT) <= set(again.json()) <= documented(apis.WEBHOOK_RESULT)
