"""Discourse: a topic is a conversation, later posts in it are follow-ups.

Inbound, Discourse's outgoing webhook (Admin → API → Webhooks) with the ``topic_created``
and ``post_created`` events, to ``/api/v1/channels/{slug}/discourse/``: the body signed by
``X-Discourse-Event-Signature: sha256=<hex HMAC-SHA256 of the body under the webhook's
secret>``, deduplicated by ``X-Discourse-Event-Id``. Posts by the channel's own API user
(its replies coming back) are ignored.

External ids: a topic is ``topic-<topic id>`` (the query), its posts
``topic-<topic id>-post-<post number>`` (follow-ups), so a reply knows its topic and the
post it answers from the ids alone.

Outbound, ``POST <base>/posts.json`` with ``topic_id``, ``raw`` and
``reply_to_post_number``, authenticated by the ``Api-Key`` and ``Api-Username`` headers;
the created post's ``id`` is kept as the delivery's ``remote_id``.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import re
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from django.utils.dateparse import parse_datetime

from engage import outbound
from engage.connectors.base import Reply, Setting, check_base_url
from engage.inbound import Inbound
from engage.models import Channel, ConnectorKind

SIGNATURE_HEADER = "X-Discourse-Event-Signature"
EVENT_HEADER = "X-Discourse-Event"
EVENT_ID_HEADER = "X-Discourse-Event-Id"
EVENTS = ("topic_created", "post_created")
# topic_created carries the title only; its first post (post_created, post_number 1, sent at
# the same moment) carries the title and the text. The topic opens the conversation only if
# its first post has not come this long after it.
TOPIC_WAIT_SECONDS = 60
MAX_TEXT = 10_000
_TOPIC = re.compile(r"topic-(\d+)")
_POST = re.compile(r"topic-(\d+)-post-(\d+)")


def topic_key(topic_id: int) -> str:
    return f"topic-{topic_id}"


def post_key(topic_id: int, post_number: int) -> str:
    return f"topic-{topic_id}-post-{post_number}"


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(*, secret: str, body: bytes, header: str | None) -> bool:
    if not header or not secret:
        return False
    return hmac.compare_digest(signature(secret, body).encode(), header.strip().lower().encode())


class PayloadInvalid(Exception):
    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class Event:
    """What one Discourse event asks for: ``inbound`` stored, a new query keyed ``opens_as``
    when its thread is not known; ``None`` for an event to acknowledge and ignore."""

    inbound: Inbound | None
    opens_as: str = ""
    ignored: str = ""
    deferred: bool = False  # store it later, unless its first post came meanwhile


def _int(data: dict[str, Any], key: str, errors: dict[str, list[str]], prefix: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        errors[f"{prefix}.{key}"] = ["Required: a positive integer."]
        return 0
    return value


def _str(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return value.strip() if isinstance(value, str) else ""


def _when(data: dict[str, Any]) -> Any:
    raw = data.get("created_at")
    if not isinstance(raw, str):
        return None
    try:
        parsed = parse_datetime(raw)
    except ValueError:
        return None
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _text(title: str, raw: str) -> str:
    text = f"{title}\n\n{raw}" if title and raw else (title or raw)
    return text[:MAX_TEXT]


def parse(*, event: str, body: bytes, base_url: str, api_username: str) -> Event:
    """The event a signed Discourse webhook body carries, or ``PayloadInvalid`` naming the fields."""
    try:
        data = json.loads(body)
    except ValueError:
        raise PayloadInvalid({"non_field_errors": ["The body is not JSON."]}) from None
    if not isinstance(data, dict):
        raise PayloadInvalid({"non_field_errors": ["The body must be a JSON object."]})
    if event == "topic_created":
        return _topic(data, base_url=base_url, api_username=api_username)
    return _post(data, base_url=base_url, api_username=api_username)


def _topic(data: dict[str, Any], *, base_url: str, api_username: str) -> Event:
    topic = data.get("topic")
    if not isinstance(topic, dict):
        raise PayloadInvalid({"topic": ["Required: the topic object."]})
    errors: dict[str, list[str]] = {}
    topic_id = _int(topic, "id", errors, "topic")
    title = _str(topic, "title")
    if not title:
        errors["topic.title"] = ["Required: a non-empty string."]
    creator = topic.get("created_by")
    username = _str(creator, "username") if isinstance(creator, dict) else ""
    if not username:
        errors["topic.created_by.username"] = ["Required: a non-empty string."]
    if errors:
        raise PayloadInvalid(errors)
    if username.lower() == api_username.lower():
        return Event(inbound=None, ignored="posted by the channel's own API user")
    name = _str(creator, "name") if isinstance(creator, dict) else ""
    inbound = Inbound(
        external_id=topic_key(topic_id),
        text=_text(title, ""),
        author_handle=username[:255],
        author_name=name[:255],
        url=f"{base_url}/t/{_str(topic, 'slug') or 'topic'}/{topic_id}"[:2000],
        sender_created_at=_when(topic),
    )
    return Event(inbound=inbound, opens_as=inbound.external_id, deferred=True)


def _post(data: dict[str, Any], *, base_url: str, api_username: str) -> Event:
    post = data.get("post")
    if not isinstance(post, dict):
        raise PayloadInvalid({"post": ["Required: the post object."]})
    errors: dict[str, list[str]] = {}
    topic_id = _int(post, "topic_id", errors, "post")
    number = _int(post, "post_number", errors, "post")
    username = _str(post, "username")
    if not username:
        errors["post.username"] = ["Required: a non-empty string."]
    raw = _str(post, "raw")
    if not raw:
        errors["post.raw"] = ["Required: a non-empty string."]
    if errors:
        raise PayloadInvalid(errors)
    if username.lower() == api_username.lower():
        return Event(inbound=None, ignored="posted by the channel's own API user")
    title = _str(post, "topic_title")
    reply_to = post.get("reply_to_post_number")
    in_reply_to = post_key(topic_id, reply_to) if isinstance(reply_to, int) and reply_to > 1 else ""
    inbound = Inbound(
        external_id=post_key(topic_id, number),
        # The opening post carries the topic's title: a new conversation reads as the topic.
        text=_text(title if number == 1 else "", raw),
        author_handle=username[:255],
        author_name=_str(post, "name")[:255],
        url=f"{base_url}/t/{_str(post, 'topic_slug') or 'topic'}/{topic_id}/{number}"[:2000],
        sender_created_at=_when(post),
        thread_id=topic_key(topic_id),
        in_reply_to=in_reply_to,
    )
    return Event(inbound=inbound, opens_as=topic_key(topic_id))


class DiscourseConnector:
    kind = ConnectorKind.DISCOURSE.value
    config: tuple[Setting, ...] = (
        Setting("base_url", "Forum address", type="url", help="Such as https://forum.example.com."),
        Setting("api_username", "API username", help="The user replies are posted as; its own posts are ignored."),
    )
    credentials: tuple[Setting, ...] = (
        Setting("api_key", "API key", help="Admin → API → New API key (scope: write posts)."),
        Setting("webhook_secret", "Webhook secret", help="The secret of the outgoing webhook to Engage."),
    )

    def check(self, *, config: dict[str, Any]) -> None:
        config["base_url"] = check_base_url(config["base_url"], field="config.base_url")

    def send(self, *, channel: Channel, credentials: dict[str, str], reply: Reply) -> outbound.Outcome:
        base_url = str(channel.config.get("base_url", "")).rstrip("/")
        target = f"{base_url}/posts.json"
        topic = _TOPIC.fullmatch(reply.thread_id) or _POST.fullmatch(reply.thread_id)
        if topic is None:
            return outbound.Outcome(
                ok=False, target=target, error=f"{reply.thread_id!r} is no Discourse topic", permanent=True
            )
        raw = reply.body
        if reply.rating_url:
            raw += f"\n\n[Rate this answer]({reply.rating_url})"
        fields: dict[str, Any] = {"topic_id": int(topic.group(1)), "raw": raw}
        post = _POST.fullmatch(reply.in_reply_to)
        if post is not None and int(post.group(2)) > 1:
            fields["reply_to_post_number"] = int(post.group(2))
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": "Engage-Connector/1",
            "Api-Key": credentials.get("api_key", ""),
            "Api-Username": str(channel.config.get("api_username", "")),
        }
        try:
            answered = outbound.request("POST", target, body=json.dumps(fields).encode(), headers=headers)
        except outbound.OutboundRefused as exc:
            return outbound.Outcome(ok=False, target=target, error=str(exc), permanent=True)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            return outbound.Outcome(ok=False, target=target, error=f"{type(exc).__name__}: {exc}"[:2000])
        error = f"HTTP {answered.status}: {answered.body[:500].decode(errors='replace')}"
        if not 200 <= answered.status < 300:
            # 403 (a wrong key) and 422 (refused post) will not get better by retrying; 429 and 5xx may.
            permanent = answered.status in (400, 401, 403, 404, 422)
            return outbound.Outcome(
                ok=False, target=answered.target, status_code=answered.status, error=error, permanent=permanent
            )
        try:
            post_id = json.loads(answered.body)["id"]
        except (ValueError, KeyError, TypeError):
            return outbound.Outcome(ok=False, target=answered.target, status_code=answered.status, error=error)
        return outbound.Outcome(ok=True, target=answered.target, status_code=answered.status, remote_id=str(post_id))


connector = DiscourseConnector()
