"""The hot paths' hand-built rows answer what their output serializers answer, key for key
(nested objects too) and value for value, as JSON: the queue's rows (``selectors._query_shape``,
its one statement and its ORM fallback), the answer POST (``selectors.answer_as_dict``), a
claim and the inbound webhook. Every other engage view answers through the serializers.

The moments too: DRF's ``DateTimeField`` renders in ``TIME_ZONE`` while a datetime in a
hand-built row is rendered by the JSON encoder as it is (UTC, ``…Z``); the serializers'
moments are ``config.api.UtcDateTimeField``, so the two agree in any zone (before it, with
``TIME_ZONE=Europe/Paris`` a query's detail said ``+01:00`` where the queue said ``Z``).
"""

from __future__ import annotations

import inspect
import json
from typing import Any

import pytest
from django.test import Client, override_settings
from django.utils import timezone
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from config.api import UtcDateTimeField
from engage import apis, selectors, services
from engage.models import Answer, CustomerMessage, Query, Topic
from tests.engage.conftest import make_approved_message, payload, put_in_state, signed_post

pytestmark = pytest.mark.django_db

ZONES = ["UTC", "Europe/Paris", "America/St_Johns"]


def wire(data: Any) -> Any:
    """What the client reads: ``data`` through the API's renderer."""
    return json.loads(JSONRenderer().render(data))


def of(inline: Any, row: Any) -> Any:
    """What an ``inline_serializer`` (an instance) answers for ``row``."""
    return type(inline)(row).data


def shape(serializer: Any) -> dict[str, Any]:
    """A serializer's field names, nested serializers as their own shapes."""
    fields = serializer.child.fields if isinstance(serializer, serializers.ListSerializer) else serializer.fields
    return {
        name: shape(field) if isinstance(field, serializers.BaseSerializer) else None for name, field in fields.items()
    }


def keys(row: Any, like: dict[str, Any]) -> dict[str, Any]:
    """``row``'s keys, its nested objects' as theirs, where ``like`` has a nested serializer."""
    return {name: keys(value, like[name]) if isinstance(like.get(name), dict) else None for name, value in row.items()}


def assert_same(row: dict[str, Any], serializer: Any) -> None:
    documented = shape(serializer)
    assert keys(row, documented) == documented
    assert wire(row) == wire(serializer.data)


@pytest.fixture
def queries(make_query, department, owner, colleague) -> list[Query]:
    """Open, claimed, lapsed, closed and answered queries, some with topics and unrouted."""
    now = timezone.now()
    topic = Topic.objects.create(slug="refunds", name="Refunds", keywords=["refund"], department=department)
    made = []
    for n, state in enumerate(["open", "claimed", "lapsed", "closed", "answered", "pending_review"]):
        query = make_query(f"Question {n}", department=department if n % 2 == 0 else None)
        put_in_state(query, state, holder=owner, lapsed_holder=colleague, now=now)
        if n % 3 == 0:
            query.topics.add(topic)
        made.append(query)
    return made


def _serialized(query_id: int, now: Any) -> apis.QueryOutput:
    return apis.QueryOutput(selectors.with_list_relations(Query.objects.all()).get(pk=query_id), context={"now": now})


@pytest.mark.postgres
@pytest.mark.parametrize("zone", ZONES)
def test_the_queues_rows_are_what_query_output_answers(zone, queries, owner) -> None:
    with override_settings(TIME_ZONE=zone):
        now = timezone.now()
        fast = selectors.queue_page_one_statement(
            user=owner, status=None, department=None, cursor=None, page_size=50, now=now
        )
        assert fast is not None
        slow = selectors.queue_page_rows(selectors.query_list(user=owner, now=now), cursor=None, page_size=50, now=now)
        by_topic = selectors.queue_page_rows(
            selectors.query_list(user=owner, topic="refunds", now=now), cursor=None, page_size=50, now=now
        )
        assert len(fast.results) == len(queries)
        assert by_topic.results
        for row in [*fast.results, *slow.results, *by_topic.results]:
            assert_same(row, _serialized(row["id"], now))
        statuses = {row["status"] for row in fast.results}
        assert statuses == {"open", "claimed", "closed", "answered", "pending_review"}


@pytest.mark.parametrize("zone", ZONES)
def test_a_claim_answers_what_its_serializer_answers(zone, api, make_query, department, owner) -> None:
    query = make_query(department=department)
    with override_settings(TIME_ZONE=zone):
        response = api(owner).post(f"/api/v1/queries/{query.pk}/claim/")
        assert response.status_code == 200
        claimed = Query.objects.get(pk=query.pk)
        row = {"claimed_by": claimed.claimed_by_id, "claimed_until": claimed.claimed_until}
        assert response.json() == wire(of(apis.CLAIM_RESULT, row)) == wire(row)
        assert set(response.json()) == set(shape(apis.CLAIM_RESULT))
        # The moment reads as the query's detail (a serializer) reads it.
        detail = api(owner).get(f"/api/v1/queries/{query.pk}/").json()
        assert detail["claimed_until"] == response.json()["claimed_until"]


@pytest.mark.parametrize("zone", ZONES)
def test_an_answers_post_answers_what_answer_output_answers(zone, api, responder, make_query, department) -> None:
    query = make_query(department=department)
    client = api(responder)
    with override_settings(TIME_ZONE=zone):
        assert client.post(f"/api/v1/queries/{query.pk}/claim/").status_code == 200
        response = client.post(f"/api/v1/queries/{query.pk}/answers/", {"body": "Yes, *soon*."}, format="json")
        assert response.status_code == 201, response.content
        answer = selectors.with_answer_relations(Answer.objects.all()).get(pk=response.json()["id"])
        assert_same(response.json(), apis.AnswerOutput(answer))
        assert_same(selectors.answer_as_dict(answer), apis.AnswerOutput(answer))
        assert client.get(f"/api/v1/answers/{answer.pk}/").json() == response.json()
        assert response.json()["published_at"].endswith("Z")


@pytest.mark.parametrize("zone", ZONES)
def test_an_answer_with_messages_and_in_review_reads_alike(zone, api, owner, make_query, department) -> None:
    """An answer of someone uncertified waits for review; the row and the serializer agree on its nulls."""
    query = make_query(department=department)
    services.query_claim(user=owner, query_id=query.pk)
    message = make_approved_message()
    with override_settings(TIME_ZONE=zone):
        made = services.answer_submit(user=owner, query_id=query.pk, body="See this.", message_ids=[message.pk])
        answer = selectors.with_answer_relations(Answer.objects.all()).get(pk=made.pk)
        assert answer.published_at is None
        assert list(answer.messages.all())
        assert_same(selectors.answer_as_dict(answer), apis.AnswerOutput(answer))


def test_a_webhook_answers_what_its_serializer_answers(channel) -> None:
    client = Client()
    first = signed_post(client, channel.url, channel.secret, json.dumps(payload("rows-1")).encode())
    assert first.status_code == 201
    made = Query.objects.get(channel=channel.channel, external_id="rows-1")
    assert first.json() == wire(of(apis.WEBHOOK_RESULT, {"id": made.pk, "created": True}))
    again = signed_post(client, channel.url, channel.secret, json.dumps(payload("rows-1")).encode())
    assert again.json() == wire(of(apis.WEBHOOK_RESULT, {"id": made.pk, "created": False}))
    follow = signed_post(
        client, channel.url, channel.secret, json.dumps(payload("rows-2", thread_id="rows-1")).encode()
    )
    assert follow.status_code == 201, follow.content
    message = CustomerMessage.objects.get(channel=channel.channel, external_id="rows-2")
    row = {"id": made.pk, "created": True, "message_id": message.pk, "reopened": False}
    assert follow.json() == wire(of(apis.WEBHOOK_RESULT, row)) == row
    assert set(follow.json()) == set(shape(apis.WEBHOOK_RESULT))


def test_every_moment_an_engage_serializer_answers_is_in_utc() -> None:
    """One field for every moment (config.api.UtcDateTimeField): a plain DateTimeField in an
    output serializer would answer ``TIME_ZONE``'s offset where the hand-built rows answer ``Z``."""
    found = []

    def walk(serializer: Any, where: str) -> None:
        fields = serializer.child.fields if isinstance(serializer, serializers.ListSerializer) else serializer.fields
        for name, field in fields.items():
            if isinstance(field, serializers.BaseSerializer):
                walk(field, f"{where}.{name}")
            elif isinstance(field, serializers.DateTimeField):
                found.append(f"{where}.{name}")
                assert isinstance(field, UtcDateTimeField), f"{where}.{name}"

    outputs = [
        value
        for name, value in vars(apis).items()
        if inspect.isclass(value) and issubclass(value, serializers.Serializer) and name.endswith("Output")
    ]
    for output in outputs:
        walk(output(), output.__name__)
    for name in ("CLAIM_RESULT", "CLAIM_CONFLICT", "WEBHOOK_RESULT"):
        walk(getattr(apis, name), name)
    assert len(found) > 30
