"""Slack: the Events API in (signature v0, the 5-minute window, url_verification, retries
dropped by event_id, bots ignored, within Slack's 3 s), and ``chat.postMessage`` out through
slack-sdk, its base URL pointed at a loopback server that checks each request and answers
as Slack's Web API does."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any

import pytest
from django.test import Client

from engage.models import Channel, CustomerMessage, Delivery, DeliveryStatus, Query
from tests.connectors.conftest import Exchange, FakeServer

pytestmark = pytest.mark.django_db

BOT_TOKEN = "xoxb-1111-2222-abcdefghijklmnop"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_CHANNEL = "C0123456789"
BOT_USER = "U0BOT00001"
_ts = itertools.count(1)


def slack_api(fake: FakeServer) -> list[dict[str, Any]]:
    """``fake`` answers ``POST /api/chat.postMessage`` as Slack's Web API does."""
    posted: list[dict[str, Any]] = []

    def handle(exchange: Exchange) -> tuple[int, dict[str, str], bytes]:
        headers = {key.lower(): value for key, value in exchange.headers.items()}
        answer = {"Content-Type": "application/json; charset=utf-8"}
        if exchange.path != "/api/chat.postMessage" or exchange.method != "POST":
            return 404, answer, b'{"ok":false,"error":"unknown_method"}'
        if headers.get("authorization") != f"Bearer {BOT_TOKEN}":
            return 200, answer, b'{"ok":false,"error":"invalid_auth"}'
        if not headers.get("content-type", "").startswith("application/json"):
            return 200, answer, b'{"ok":false,"error":"invalid_arguments"}'
        fields = exchange.json()
        if fields.get("channel") != SLACK_CHANNEL:
            return 200, answer, b'{"ok":false,"error":"channel_not_found"}'
        if not fields.get("text"):
            return 200, answer, b'{"ok":false,"error":"no_text"}'
        ts = f"1764810000.{next(_ts):06d}"
        message = {"type": "message", "user": BOT_USER, "bot_id": "B0BOT", "text": fields["text"], "ts": ts}
        if fields.get("thread_ts"):
            message["thread_ts"] = fields["thread_ts"]
        posted.append(fields)
        return 200, answer, json.dumps({"ok": True, "channel": SLACK_CHANNEL, "ts": ts, "message": message}).encode()

    fake.handle = handle
    return posted


@pytest.fixture
def workspace(api, admin_user, fake_server, loopback_allowed) -> Channel:  # type: ignore[no-untyped-def]
    response = api(admin_user).post(
        "/api/v1/channels/",
        {
            "slug": "slack",
            "name": "Customer Slack",
            "kind": "other",
            "connector": "slack",
            "config": {"channel_ids": [SLACK_CHANNEL], "bot_user_id": BOT_USER, "api_url": f"{fake_server.url}/api/"},
            "credentials": {"bot_token": BOT_TOKEN, "signing_secret": SIGNING_SECRET},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return Channel.objects.get(slug="slack")


def message_event(ts: str, text: str, *, event_id: str, thread_ts: str | None = None, **extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "message",
        "channel": SLACK_CHANNEL,
        "user": "U0CUSTOMER",
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "channel_type": "channel",
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    event.update(extra)
    return {
        "token": "deprecated-verification-token",
        "team_id": "T0TEAM",
        "api_app_id": "A0APP",
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [{"team_id": "T0TEAM", "user_id": BOT_USER, "is_bot": True}],
    }


def send(
    client: Client,
    payload: dict[str, Any],
    *,
    slug: str = "slack",
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    retry: int | None = None,
) -> Any:
    body = json.dumps(payload).encode()
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = "v0=" + hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    headers = {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}
    if retry is not None:
        headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"})
    return client.post(
        f"/api/v1/channels/{slug}/slack/events/", data=body, content_type="application/json", headers=headers
    )


def test_the_url_verification_challenge_is_answered(workspace):
    response = send(
        Client(),
        {"token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"},
    )
    assert response.status_code == 200
    assert response.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


def test_signatures_are_checked_with_a_five_minute_window(workspace):
    client = Client()
    payload = message_event("1764800000.000100", "I need a refund", event_id="Ev01")
    assert send(client, payload, secret="wrong").status_code == 401
    assert send(client, payload, timestamp=int(time.time()) - 301).status_code == 401
    assert send(client, payload, timestamp=int(time.time()) + 301).status_code == 401
    assert not Query.objects.exists()
    assert send(client, payload, timestamp=int(time.time()) - 290).status_code == 201


def test_a_message_is_a_routed_query_and_a_retry_is_dropped_by_event_id_within_3_s(
    workspace, refund_topic, django_capture_on_commit_callbacks
):
    client = Client()
    payload = message_event("1764800000.000100", "I need a refund for order 42", event_id="Ev01")
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = send(client, payload)
    elapsed = time.monotonic() - started
    for callback in callbacks:
        callback()
    assert first.status_code == 201, first.content
    assert elapsed < 3.0, f"Slack wants an answer within 3 s; took {elapsed:.2f} s"
    query = Query.objects.get()
    assert query.external_id == f"{SLACK_CHANNEL}:1764800000.000100"
    assert query.author_handle == "U0CUSTOMER"
    assert query.department == refund_topic.department
    retried = send(client, payload, retry=1)
    assert retried.status_code == 200
    assert retried.json()["duplicate"] is True
    assert Query.objects.count() == 1
    workspace.refresh_from_db()
    assert workspace.last_event_at is not None


def test_thread_replies_are_follow_ups_and_bots_edits_and_other_channels_are_ignored(workspace):
    client = Client()
    send(client, message_event("1764800000.000100", "I need a refund", event_id="Ev01"))
    reply = send(client, message_event("1764800050.000200", "Order 42", event_id="Ev02", thread_ts="1764800000.000100"))
    assert reply.status_code == 201
    query = Query.objects.get()
    assert reply.json()["id"] == query.pk
    assert CustomerMessage.objects.filter(query=query).count() == 2
    ignored = [
        message_event("1764800060.000300", "Our answer", event_id="Ev03", user=BOT_USER),
        message_event("1764800061.000300", "From a bot", event_id="Ev04", bot_id="B0OTHER"),
        message_event("1764800062.000300", "edited", event_id="Ev05", subtype="message_changed"),
        message_event("1764800063.000300", "elsewhere", event_id="Ev06", channel="C0OTHER"),
    ]
    for payload in ignored:
        response = send(client, payload)
        assert response.status_code == 200, response.content
        assert response.json()["ignored"]
    assert Query.objects.count() == 1
    assert CustomerMessage.objects.count() == 2


def test_the_answer_is_posted_in_the_thread_and_its_ts_kept(workspace, fake_server, answer_now):
    posted = slack_api(fake_server)
    client = Client()
    send(client, message_event("1764800000.000100", "I need a refund", event_id="Ev01"))
    followup = send(
        client, message_event("1764800050.000200", "Order 42", event_id="Ev02", thread_ts="1764800000.000100")
    )
    answer = answer_now(followup.json()["id"])
    delivery = Delivery.objects.get(answer=answer)
    assert delivery.status == DeliveryStatus.DELIVERED, delivery.last_error
    assert [exchange.path for exchange in fake_server.exchanges] == ["/api/chat.postMessage"]
    assert posted[0]["channel"] == SLACK_CHANNEL
    assert posted[0]["thread_ts"] == "1764800000.000100"
    assert posted[0]["text"].startswith("You will get your refund")
    assert "|Rate this answer>" in posted[0]["text"]
    assert delivery.remote_id.startswith("1764810000.")
    workspace.refresh_from_db()
    assert workspace.last_reply_at is not None


def test_a_revoked_token_is_a_dead_letter_and_rate_limits_are_retried(
    api, admin_user, workspace, fake_server, answer_now
):
    slack_api(fake_server)
    api(admin_user).patch("/api/v1/channels/slack/", {"credentials": {"bot_token": "xoxb-revoked"}}, format="json")
    client = Client()
    first = send(client, message_event("1764800000.000100", "I need a refund", event_id="Ev01"))
    dead = Delivery.objects.get(answer=answer_now(first.json()["id"]))
    assert dead.status == DeliveryStatus.DEAD
    assert "invalid_auth" in dead.last_error
    fake_server.handle = lambda exchange: (
        429,
        {"Content-Type": "application/json", "Retry-After": "30"},
        b'{"ok":false,"error":"ratelimited"}',
    )
    second = send(client, message_event("1764800100.000100", "Another refund", event_id="Ev02"))
    pending = Delivery.objects.get(answer=answer_now(second.json()["id"]))
    assert pending.status == DeliveryStatus.PENDING
    assert pending.last_status_code == 429


def test_settings_name_the_field(api, admin_user):
    response = api(admin_user).post(
        "/api/v1/channels/",
        {"slug": "s", "name": "S", "kind": "other", "connector": "slack", "credentials": {"bot_token": BOT_TOKEN}},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["field"] == "config.channel_ids"
    private = api(admin_user).post(
        "/api/v1/channels/",
        {
            "slug": "s",
            "name": "S",
            "kind": "other",
            "connector": "slack",
            "config": {"channel_ids": "C1, C2", "api_url": "http://10.1.2.3/api/"},
            "credentials": {"bot_token": BOT_TOKEN, "signing_secret": SIGNING_SECRET},
        },
        format="json",
    )
    assert private.status_code == 400
    assert private.json()["field"] == "config.api_url"
