"""The inbound webhook, case by case in API.md's order, and under concurrent redelivery."""

from __future__ import annotations

import json
import math
import time
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from engage import signing
from engage.models import Channel, ParticipationEvent, Query
from engage.services import channel_rotate_secret
from tests.concurrency import run_together
from tests.engage.conftest import payload, signed_post

pytestmark = pytest.mark.django_db


def _nothing_stored() -> None:
    assert Query.objects.count() == 0
    assert ParticipationEvent.objects.count() == 0


def test_new_query_answers_201_with_id_and_is_stored(post_webhook, refund_topic, department):
    response = post_webhook(
        payload(priority="high", url="https://forum.example/t/1", created_at="2026-01-02T03:04:05Z")
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["created"] is True
    query = Query.objects.get(pk=body["id"])
    assert query.external_id == "ext-1"
    assert query.author_handle == "@cust"
    assert query.priority == "high"
    assert query.sla_due_at - query.received_at == timedelta(hours=4)
    assert query.sender_created_at.isoformat() == "2026-01-02T03:04:05+00:00"
    # Routing ran in its job after the commit.
    assert query.department == department
    assert list(query.topics.values_list("slug", flat=True)) == ["refunds"]
    assert ParticipationEvent.objects.filter(kind="query_received", object_id=query.pk).count() == 1


def test_redelivery_answers_200_with_the_same_id(post_webhook):
    first = post_webhook(payload())
    again = post_webhook(payload(text="a different text, same external id"))
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == {"id": first.json()["id"], "created": False}
    assert Query.objects.count() == 1
    assert Query.objects.get().text == "I need a refund for my order"


def test_unknown_channel_is_404_before_anything_else(channel):
    body = b"x" * (70 * 1024)  # also too large, unsigned and not JSON: 404 still wins
    response = Client().post("/api/v1/channels/nope/webhook/", data=body, content_type="application/json")
    assert response.status_code == 404
    _nothing_stored()


def test_body_over_64_kib_is_413_before_the_signature(channel):
    body = json.dumps(payload(text="a" * (65 * 1024))).encode()
    response = Client().post(channel.url, data=body, content_type="application/json")  # unsigned
    assert response.status_code == 413
    _nothing_stored()


def test_a_body_of_exactly_64_kib_is_not_too_large(post_webhook):
    base = json.dumps(payload(text="")).encode()
    filler = 64 * 1024 - len(base)
    body = json.dumps(payload(text="b" * filler)).encode()
    assert len(body) == 64 * 1024
    response = post_webhook(body)
    assert response.status_code == 400  # text over 10,000 characters: size was fine
    assert "text" in response.json()


def test_missing_signature_headers_are_401(channel):
    response = Client().post(channel.url, data=json.dumps(payload()), content_type="application/json")
    assert response.status_code == 401
    response = Client().post(
        channel.url,
        data=json.dumps(payload()),
        content_type="application/json",
        headers={"X-Engage-Timestamp": str(int(time.time()))},
    )
    assert response.status_code == 401
    _nothing_stored()


def test_wrong_signature_is_401(channel):
    body = json.dumps(payload()).encode()
    response = signed_post(Client(), channel.url, "not-the-secret", body)
    assert response.status_code == 401
    tampered = signed_post(Client(), channel.url, channel.secret, body, signature="v1=" + "0" * 64)
    assert tampered.status_code == 401
    _nothing_stored()


def test_signature_over_other_bytes_is_401(channel):
    body = json.dumps(payload()).encode()
    stamp = str(int(time.time()))
    sig = signing.signature(channel.secret, stamp, body + b" ")
    response = signed_post(Client(), channel.url, channel.secret, body, timestamp=int(stamp), signature=f"v1={sig}")
    assert response.status_code == 401


@pytest.mark.parametrize("skew", [-301, 301, -10_000])
def test_timestamp_outside_300_seconds_is_401(channel, skew):
    body = json.dumps(payload()).encode()
    # Round away from now, so the skew the server sees is at least |skew| however long the
    # request takes (flooring a future timestamp would bring it closer).
    now = time.time()
    timestamp = math.floor(now) + skew if skew < 0 else math.ceil(now) + skew + 1
    response = signed_post(Client(), channel.url, channel.secret, body, timestamp=timestamp)
    assert response.status_code == 401
    _nothing_stored()


@pytest.mark.parametrize("skew", [-290, 290])
def test_timestamp_within_300_seconds_is_accepted(post_webhook, skew):
    assert post_webhook(payload(), timestamp=int(time.time()) + skew).status_code == 201


def test_non_numeric_timestamp_is_401(channel):
    body = json.dumps(payload()).encode()
    response = signed_post(Client(), channel.url, channel.secret, body, timestamp=None, signature=None)
    assert response.status_code == 201  # control: the same delivery, properly signed
    response = Client().post(
        channel.url,
        data=body,
        content_type="application/json",
        headers={"X-Engage-Timestamp": "soon", "X-Engage-Signature": "v1=abc"},
    )
    assert response.status_code == 401


def test_several_signatures_one_right_is_accepted(channel):
    body = json.dumps(payload()).encode()
    response = signed_post(Client(), channel.url, ["an-old-secret", channel.secret], body)
    assert response.status_code == 201


def test_a_bad_signature_is_401_even_when_the_body_is_bad_too(channel):
    response = signed_post(Client(), channel.url, "wrong", b"{not json")
    assert response.status_code == 401


def test_not_json_is_400_and_stores_nothing(post_webhook):
    response = post_webhook(b"{not json")
    assert response.status_code == 400
    assert response.json()
    _nothing_stored()


def test_json_that_is_not_an_object_is_400(post_webhook):
    assert post_webhook(b"[1, 2]").status_code == 400


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (payload(external_id=""), "external_id"),
        (payload(external_id="x" * 256), "external_id"),
        (payload(external_id=12), "external_id"),
        (payload(text=""), "text"),
        (payload(text="t" * 10_001), "text"),
        ({"external_id": "a", "text": "b"}, "author"),
        (payload(author={"name": "no handle"}), "author.handle"),
        (payload(author={"handle": "@h", "name": 5}), "author.name"),
        (payload(url="javascript:alert(1)"), "url"),
        (payload(created_at="yesterday"), "created_at"),
        (payload(priority="critical"), "priority"),
    ],
)
def test_invalid_fields_are_400_naming_the_field(post_webhook, body, field):
    response = post_webhook(body)
    assert response.status_code == 400
    assert field in response.json()
    _nothing_stored()


def test_the_webhook_needs_no_csrf_token_and_no_session(channel):
    client = Client(enforce_csrf_checks=True)
    body = json.dumps(payload()).encode()
    assert signed_post(client, channel.url, channel.secret, body).status_code == 201


# --- Key rotation ---------------------------------------------------------------------------------


def test_after_rotation_both_secrets_verify_for_24_hours(channel):
    old_secret = channel.secret
    _, new_secret = channel_rotate_secret(channel=channel.channel)
    assert new_secret != old_secret
    assert signed_post(Client(), channel.url, old_secret, json.dumps(payload("a")).encode()).status_code == 201
    assert signed_post(Client(), channel.url, new_secret, json.dumps(payload("b")).encode()).status_code == 201


def test_the_previous_secret_stops_working_after_24_hours(channel):
    old_secret = channel.secret
    _, new_secret = channel_rotate_secret(channel=channel.channel)
    Channel.objects.filter(pk=channel.channel.pk).update(
        previous_secret_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert signed_post(Client(), channel.url, old_secret, json.dumps(payload("a")).encode()).status_code == 401
    assert signed_post(Client(), channel.url, new_secret, json.dumps(payload("b")).encode()).status_code == 201


def test_rotation_via_the_api_answers_the_new_secret_once(channel, admin_user, api):
    response = api(admin_user).post(f"/api/v1/channels/{channel.channel.slug}/rotate-secret/")
    assert response.status_code == 200
    new_secret = response.json()["secret"]
    assert response.json()["previous_secret_expires_at"]
    shown = api(admin_user).get(f"/api/v1/channels/{channel.channel.slug}/").json()
    assert "secret" not in shown
    assert new_secret not in json.dumps(shown)
    body = json.dumps(payload()).encode()
    assert signed_post(Client(), channel.url, new_secret, body).status_code == 201


# --- Concurrent redelivery --------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_identical_deliveries_make_one_query_and_all_answer_2xx(channel):
    body = json.dumps(payload("same-one")).encode()
    stamp = str(int(time.time()))
    header = f"v1={signing.signature(channel.secret, stamp, body)}"

    def deliver(_i: int) -> Any:
        return Client().post(
            channel.url,
            data=body,
            content_type="application/json",
            headers={"X-Engage-Timestamp": stamp, "X-Engage-Signature": header},
        )

    responses = run_together(50, deliver)
    statuses = [response.status_code for response in responses]
    ids = [response.json()["id"] for response in responses if response.status_code in (200, 201)]
    assert len(statuses) == 50
    assert all(code in (200, 201) for code in statuses), statuses
    assert statuses.count(201) == 1
    assert Query.objects.count() == 1
    assert set(ids) == {Query.objects.get().pk}
    assert ParticipationEvent.objects.filter(kind="query_received").count() == 1
