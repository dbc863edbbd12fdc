"""Discourse: outgoing webhooks in, ``POST /posts.json`` out, against a loopback server that
checks each request as Discourse's API does (path, headers, fields) and answers as it does.

The payloads are in the shape Discourse's webhooks send: ``{"topic": …}`` for topic
events and ``{"post": …}`` for post events, with the ``X-Discourse-Event``,
``X-Discourse-Event-Id``, ``X-Discourse-Event-Type`` and ``X-Discourse-Event-Signature``
headers.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from config.jobs import relay_outbox
from config.models import OutboxJob
from engage.connectors import vault
from engage.models import Channel, CustomerMessage, Delivery, DeliveryStatus, Query
from tests.connectors.conftest import Exchange, FakeServer

pytestmark = pytest.mark.django_db

API_KEY = "d1sc0urse-api-key-0123456789abcdef"
API_USER = "engage-bot"
WEBHOOK_SECRET = "a-webhook-secret-of-discourse"
_ids = itertools.count(1000)


def discourse_api(fake: FakeServer, topics: set[int]) -> list[dict[str, Any]]:
    """Make ``fake`` answer as Discourse's ``POST /posts.json`` does; returns the posts made."""
    made: list[dict[str, Any]] = []

    def handle(exchange: Exchange) -> tuple[int, dict[str, str], bytes]:
        headers = {key.lower(): value for key, value in exchange.headers.items()}
        answer = {"Content-Type": "application/json; charset=utf-8"}
        if exchange.method != "POST" or exchange.path != "/posts.json":
            return 404, answer, json.dumps({"errors": ["not found"], "error_type": "not_found"}).encode()
        if headers.get("api-key") != API_KEY or headers.get("api-username") != API_USER:
            invalid = {
                "errors": ["You are not permitted to view the requested resource. The API username or key is invalid."],
                "error_type": "invalid_access",
            }
            return 403, answer, json.dumps(invalid).encode()
        if not headers.get("content-type", "").startswith("application/json"):
            return 400, answer, b'{"errors":["expected JSON"]}'
        fields = exchange.json()
        topic_id, raw = fields.get("topic_id"), fields.get("raw")
        if not isinstance(topic_id, int) or topic_id not in topics:
            return 404, answer, json.dumps({"errors": ["topic not found"], "error_type": "not_found"}).encode()
        if not isinstance(raw, str) or len(raw) < 20:  # Discourse's default min_post_length
            return 422, answer, json.dumps({"errors": ["Body is too short (minimum is 20 characters)"]}).encode()
        post = {
            "id": next(_ids),
            "topic_id": topic_id,
            "post_number": 2 + len(made),
            "raw": raw,
            "username": API_USER,
            "reply_to_post_number": fields.get("reply_to_post_number"),
        }
        made.append(post)
        return 200, answer, json.dumps(post).encode()

    fake.handle = handle
    return made


def make_channel(api: Any, admin_user: Any, base_url: str) -> Channel:
    response = api(admin_user).post(
        "/api/v1/channels/",
        {
            "slug": "forum",
            "name": "Community forum",
            "kind": "forum",
            "connector": "discourse",
            "config": {"base_url": base_url, "api_username": API_USER},
            "credentials": {"api_key": API_KEY, "webhook_secret": WEBHOOK_SECRET},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return Channel.objects.get(slug="forum")


def topic_payload(topic_id: int, *, title: str = "Refund for my order", username: str = "carol") -> dict[str, Any]:
    return {
        "topic": {
            "id": topic_id,
            "title": title,
            "fancy_title": title,
            "slug": "refund-for-my-order",
            "posts_count": 1,
            "created_at": "2026-12-04T01:00:00.000Z",
            "category_id": 4,
            "archetype": "regular",
            "user_id": 7,
            "created_by": {"id": 7, "username": username, "name": "Carol C", "avatar_template": "/a/{size}.png"},
            "last_poster": {"id": 7, "username": username, "name": "Carol C", "avatar_template": "/a/{size}.png"},
            "tags": [],
        }
    }


def post_payload(
    topic_id: int, number: int, raw: str, *, username: str = "carol", reply_to: int | None = None
) -> dict[str, Any]:
    return {
        "post": {
            "id": 500 + number,
            "name": "Carol C",
            "username": username,
            "avatar_template": "/a/{size}.png",
            "created_at": "2026-12-04T01:00:00.000Z",
            "cooked": f"<p>{raw}</p>",
            "raw": raw,
            "post_number": number,
            "post_type": 1,
            "updated_at": "2026-12-04T01:00:00.000Z",
            "reply_count": 0,
            "reply_to_post_number": reply_to,
            "quote_count": 0,
            "incoming_link_count": 0,
            "reads": 1,
            "score": 0,
            "topic_id": topic_id,
            "topic_slug": "refund-for-my-order",
            "topic_title": "Refund for my order",
            "topic_posts_count": number,
            "category_id": 4,
            "user_id": 7,
        }
    }


def deliver(
    client: Client, slug: str, event: str, payload: dict[str, Any], *, event_id: int, secret: str = WEBHOOK_SECRET
) -> Any:
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post(
        f"/api/v1/channels/{slug}/discourse/",
        data=body,
        content_type="application/json",
        headers={
            "X-Discourse-Instance": "https://forum.example.com",
            "X-Discourse-Event-Id": str(event_id),
            "X-Discourse-Event-Type": event.split("_", 1)[0],
            "X-Discourse-Event": event,
            "X-Discourse-Event-Signature": signature,
        },
    )


@pytest.fixture
def forum(api, admin_user, fake_server, loopback_allowed) -> Channel:  # type: ignore[no-untyped-def]
    return make_channel(api, admin_user, fake_server.url)


# --- Settings -----------------------------------------------------------------------------------


def test_the_credentials_are_encrypted_and_never_shown_again(api, admin_user, forum):
    stored = Channel.objects.values_list("credentials", flat=True).get(pk=forum.pk)
    assert API_KEY not in stored
    assert WEBHOOK_SECRET not in stored
    shown = api(admin_user).get("/api/v1/channels/forum/")
    assert shown.status_code == 200
    assert API_KEY not in shown.content.decode()
    assert WEBHOOK_SECRET not in shown.content.decode()
    assert shown.json()["credentials_set"] == ["api_key", "webhook_secret"]
    assert shown.json()["inbound_path"] == "/api/v1/channels/forum/discourse/"
    # An edit that leaves the credentials out keeps them.
    edited = api(admin_user).patch("/api/v1/channels/forum/", {"config": {"api_username": "helper"}}, format="json")
    assert edited.status_code == 200, edited.content
    forum.refresh_from_db()
    assert forum.config["api_username"] == "helper"
    assert vault.unseal(forum.credentials) == {"api_key": API_KEY, "webhook_secret": WEBHOOK_SECRET}


def test_a_private_base_url_is_refused_at_save_naming_the_field(api, admin_user):
    response = api(admin_user).post(
        "/api/v1/channels/",
        {
            "slug": "forum",
            "name": "Forum",
            "kind": "forum",
            "connector": "discourse",
            "config": {"base_url": "http://169.254.169.254", "api_username": API_USER},
            "credentials": {"api_key": API_KEY, "webhook_secret": WEBHOOK_SECRET},
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["field"] == "config.base_url"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"config": {"api_username": API_USER}}, "config.base_url"),
        ({"credentials": {"api_key": API_KEY}}, "credentials.webhook_secret"),
        ({"config": {"base_url": "ftp://forum.example.com", "api_username": "x"}}, "config.base_url"),
        ({"config": {"colour": "red"}}, "config.colour"),
    ],
)
def test_missing_or_wrong_settings_answer_400_naming_the_field(api, admin_user, change, field):
    body: dict[str, Any] = {
        "slug": "forum",
        "name": "Forum",
        "kind": "forum",
        "connector": "discourse",
        "config": {"base_url": "https://forum.example.com", "api_username": API_USER},
        "credentials": {"api_key": API_KEY, "webhook_secret": WEBHOOK_SECRET},
    }
    body.update(change)
    response = api(admin_user).post("/api/v1/channels/", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field


# --- Inbound ----------------------------------------------------------------------------------


def test_a_new_topic_becomes_a_routed_query_and_a_redelivery_does_nothing(
    forum, refund_topic, django_capture_on_commit_callbacks
):
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        first = deliver(client, "forum", "post_created", post_payload(42, 1, "I want a refund, please."), event_id=1)
    assert first.status_code == 201, first.content
    query = Query.objects.get(pk=first.json()["id"])
    assert query.external_id == "topic-42"
    assert query.text == "Refund for my order\n\nI want a refund, please."
    assert query.author_handle == "carol"
    assert query.department == refund_topic.department
    assert query.url.endswith("/t/refund-for-my-order/42/1")
    again = deliver(client, "forum", "post_created", post_payload(42, 1, "I want a refund, please."), event_id=1)
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert Query.objects.count() == 1
    forum.refresh_from_db()
    assert forum.last_event_at is not None


def run_deferred_jobs() -> None:
    """The relay's run once the topic's wait is over (jobs run in-process in the tests)."""
    past = timezone.now() - timedelta(minutes=2)
    OutboxJob.objects.filter(task_name="engage.connector_receive").update(run_after=past, created_at=past)
    relay_outbox()
    assert not OutboxJob.objects.filter(task_name="engage.connector_receive").exists()  # ran, and went


def test_topic_created_waits_for_its_first_post_which_opens_the_conversation_with_its_text(
    forum, refund_topic, django_capture_on_commit_callbacks
):
    client = Client()
    topic = deliver(client, "forum", "topic_created", topic_payload(42, title="A question"), event_id=1)
    assert topic.status_code == 202, topic.content
    assert topic.json()["deferred"] is True
    assert deliver(client, "forum", "topic_created", topic_payload(42), event_id=1).json()["duplicate"] is True
    assert not Query.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        opening = deliver(client, "forum", "post_created", post_payload(42, 1, "Can I get a refund?"), event_id=2)
    later = deliver(client, "forum", "post_created", post_payload(42, 3, "Any news?", reply_to=2), event_id=3)
    assert opening.status_code == 201
    assert later.status_code == 201
    query = Query.objects.get()
    assert query.text == "Refund for my order\n\nCan I get a refund?"
    assert query.department == refund_topic.department  # routed by the post's text, not the title alone
    assert later.json()["id"] == query.pk
    run_deferred_jobs()
    assert Query.objects.count() == 1
    assert list(CustomerMessage.objects.filter(query=query).order_by("pk").values_list("external_id", flat=True)) == [
        "topic-42",
        "topic-42-post-3",
    ]


def test_a_topic_whose_first_post_never_comes_opens_with_its_title(forum):
    assert (
        deliver(Client(), "forum", "topic_created", topic_payload(43, title="Login broken"), event_id=7).status_code
        == 202
    )
    run_deferred_jobs()
    query = Query.objects.get()
    assert query.external_id == "topic-43"
    assert query.text == "Login broken"
    assert query.author_handle == "carol"


def test_the_opening_post_sent_again_under_a_new_event_id_is_not_added_twice(forum):
    client = Client()
    opening = post_payload(42, 1, "I want a refund, please.")
    assert deliver(client, "forum", "post_created", opening, event_id=1).status_code == 201
    again = deliver(client, "forum", "post_created", opening, event_id=2)  # "Redeliver" in Discourse's admin
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert CustomerMessage.objects.count() == 1


def test_posts_by_the_channels_own_api_user_are_ignored(forum):
    response = deliver(
        Client(), "forum", "post_created", post_payload(42, 1, "Our reply", username=API_USER), event_id=9
    )
    assert response.status_code == 200
    assert response.json()["ignored"]
    assert not Query.objects.exists()


def test_a_wrong_signature_is_refused_and_other_events_are_acknowledged(forum):
    client = Client()
    wrong = deliver(client, "forum", "post_created", post_payload(42, 1, "hello there"), event_id=1, secret="guess")
    assert wrong.status_code == 401
    ping = deliver(client, "forum", "ping", {"ping": "OK"}, event_id=2)
    assert ping.status_code == 200
    assert not Query.objects.exists()
    assert deliver(client, "nope", "ping", {"ping": "OK"}, event_id=3).status_code == 404


def test_a_payload_missing_what_engage_needs_answers_400_naming_the_field(forum):
    payload = post_payload(42, 1, "text")
    del payload["post"]["topic_id"]
    response = deliver(Client(), "forum", "post_created", payload, event_id=1)
    assert response.status_code == 400
    assert "post.topic_id" in response.json()


# --- Outbound ----------------------------------------------------------------------------------


def test_the_answer_is_posted_to_the_topic_and_the_post_id_kept(api, admin_user, forum, fake_server, answer_now):
    made = discourse_api(fake_server, topics={42})
    client = Client()
    deliver(client, "forum", "post_created", post_payload(42, 1, "I want a refund, please."), event_id=1)
    followup = deliver(client, "forum", "post_created", post_payload(42, 2, "It was order 1234."), event_id=2)
    answer = answer_now(followup.json()["id"])
    delivery = Delivery.objects.get(answer=answer)
    assert delivery.status == DeliveryStatus.DELIVERED, delivery.last_error
    assert [exchange.path for exchange in fake_server.exchanges] == ["/posts.json"]
    sent = fake_server.exchanges[0].json()
    assert sent["topic_id"] == 42
    assert sent["reply_to_post_number"] == 2  # the customer's latest post
    assert sent["raw"].startswith("You will get your refund within five days")
    assert "Rate this answer" in sent["raw"]
    assert delivery.remote_id == str(made[0]["id"])
    assert api(admin_user).get(f"/api/v1/deliveries/{delivery.pk}/").json()["remote_id"] == str(made[0]["id"])
    page = Client()
    page.force_login(admin_user)
    listing = page.get("/deliveries/?status=delivered").content.decode()
    assert f"sent as <code>{made[0]['id']}</code>" in listing
    forum.refresh_from_db()
    assert forum.last_reply_at is not None


def test_a_wrong_api_key_makes_a_dead_letter_and_the_channel_shows_the_error(
    api, admin_user, forum, fake_server, answer_now
):
    discourse_api(fake_server, topics={42})
    api(admin_user).patch("/api/v1/channels/forum/", {"credentials": {"api_key": "wrong"}}, format="json")
    created = deliver(Client(), "forum", "post_created", post_payload(42, 1, "I want a refund, please."), event_id=1)
    delivery = Delivery.objects.get(answer=answer_now(created.json()["id"]))
    assert delivery.status == DeliveryStatus.DEAD
    assert delivery.last_status_code == 403
    forum.refresh_from_db()
    assert "invalid" in forum.last_error
    assert forum.last_error_at is not None
    page = api(admin_user).get("/api/v1/channels/forum/").json()
    assert page["health"]["last_error"] == forum.last_error


def test_a_server_error_is_retried_with_backoff(forum, fake_server, answer_now):
    fake_server.handle = lambda exchange: (502, {"Content-Type": "text/html"}, b"<h1>Bad gateway</h1>")
    created = deliver(Client(), "forum", "post_created", post_payload(42, 1, "I want a refund, please."), event_id=1)
    delivery = Delivery.objects.get(answer=answer_now(created.json()["id"]))
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.attempts == 1
    assert delivery.last_status_code == 502


def test_a_redirect_to_a_private_address_is_refused_at_request_time(forum, fake_server, answer_now):
    fake_server.handle = lambda exchange: (307, {"Location": "http://10.0.0.1/posts.json"}, b"")
    created = deliver(Client(), "forum", "post_created", post_payload(42, 1, "I want a refund, please."), event_id=1)
    delivery = Delivery.objects.get(answer=answer_now(created.json()["id"]))
    assert delivery.status == DeliveryStatus.DEAD
    assert "10.0.0.1" in delivery.last_error
    assert len(fake_server.exchanges) == 1
