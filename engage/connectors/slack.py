"""Slack: a message in one of the configured channels is a query, a reply in its thread a
follow-up, and the answer goes back into that thread.

Inbound, the Events API (an app's Event Subscriptions, request URL
``/api/v1/channels/{slug}/slack/events/``, bot events ``message.channels`` and, for private
channels, ``message.groups``): every request is checked with ``slack_sdk``'s
``SignatureVerifier`` (``X-Slack-Signature: v0=<hex HMAC-SHA256 of v0:{timestamp}:{body}>``
under the signing secret, ``X-Slack-Request-Timestamp`` within 5 minutes); the
``url_verification`` challenge is answered; a retried event (``X-Slack-Retry-Num``) is
dropped by its ``event_id``; messages from bots (the app's own replies), edits and other
subtypes are ignored. Storing is one short transaction (routing is a job), well inside
Slack's 3 seconds.

External ids: ``<channel id>:<ts>``; a thread reply's ``thread_id`` is
``<channel id>:<thread_ts>``, which is also what opens a new query when its parent came
before the channel was connected.

Outbound, ``chat.postMessage`` with ``thread_ts`` through ``slack_sdk``'s ``WebClient``,
its HTTP made by :func:`engage.outbound.request` (the API host vetted and pinned, redirects
vetted); the posted message's ``ts`` is kept as the delivery's ``remote_id``.
"""

from __future__ import annotations

import http.client
import json
import urllib.request
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.signature import SignatureVerifier

from engage import outbound
from engage.connectors.base import Reply, Setting, check_base_url
from engage.inbound import Inbound
from engage.models import Channel, ConnectorKind

API_URL = "https://slack.com/api/"
RETRY_HEADER = "X-Slack-Retry-Num"
MAX_TEXT = 10_000
# Errors retrying cannot cure: the token, the app's membership or the channel are wrong.
PERMANENT_ERRORS = {
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "no_permission",
    "missing_scope",
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "msg_too_long",
    "invalid_arguments",
}


def verify(*, signing_secret: str, body: bytes, headers: Any) -> bool:
    if not signing_secret:
        return False
    try:
        return SignatureVerifier(signing_secret).is_valid_request(body, dict(headers))
    except (ValueError, TypeError):  # a timestamp that is not a number
        return False


class PayloadInvalid(Exception):
    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class Event:
    kind: str  # "challenge", "message" or "ignored"
    challenge: str = ""
    event_id: str = ""
    inbound: Inbound | None = None
    opens_as: str = ""
    ignored: str = ""


def _str(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return value.strip() if isinstance(value, str) else ""


def parse(*, body: bytes, channel_ids: list[str], bot_user_id: str = "") -> Event:
    """What a signed Events API request asks for, or ``PayloadInvalid`` naming the fields."""
    try:
        data = json.loads(body)
    except ValueError:
        raise PayloadInvalid({"non_field_errors": ["The body is not JSON."]}) from None
    if not isinstance(data, dict):
        raise PayloadInvalid({"non_field_errors": ["The body must be a JSON object."]})
    kind = data.get("type")
    if kind == "url_verification":
        challenge = _str(data, "challenge")
        if not challenge:
            raise PayloadInvalid({"challenge": ["Required: a non-empty string."]})
        return Event(kind="challenge", challenge=challenge)
    if kind != "event_callback":
        return Event(kind="ignored", ignored=f"request type {kind!r}")
    event_id = _str(data, "event_id")
    event = data.get("event")
    if not event_id or not isinstance(event, dict):
        raise PayloadInvalid({"event_id" if not event_id else "event": ["Required."]})
    return _message(event, event_id=event_id, channel_ids=channel_ids, bot_user_id=bot_user_id)


def _message(event: dict[str, Any], *, event_id: str, channel_ids: list[str], bot_user_id: str) -> Event:
    if event.get("type") != "message":
        return Event(kind="ignored", event_id=event_id, ignored=f"event {event.get('type')!r}")
    if event.get("subtype") not in (None, "thread_broadcast", "file_share"):
        return Event(kind="ignored", event_id=event_id, ignored=f"message subtype {event.get('subtype')!r}")
    user = _str(event, "user")
    if event.get("bot_id") or not user or (bot_user_id and user == bot_user_id):
        return Event(kind="ignored", event_id=event_id, ignored="a bot's message (the app's own replies included)")
    channel = _str(event, "channel")
    if channel not in channel_ids:
        return Event(
            kind="ignored", event_id=event_id, ignored=f"channel {channel or '?'} is not one of this channel's"
        )
    ts, text = _str(event, "ts"), _str(event, "text")
    errors = {
        key: ["Required: a non-empty string."] for key, value in (("event.ts", ts), ("event.text", text)) if not value
    }
    if errors:
        raise PayloadInvalid(errors)
    thread_ts = _str(event, "thread_ts")
    external_id = f"{channel}:{ts}"
    thread_key = f"{channel}:{thread_ts}" if thread_ts and thread_ts != ts else ""
    inbound = Inbound(
        external_id=external_id,
        text=text[:MAX_TEXT],
        author_handle=user[:255],
        thread_id=thread_key,
    )
    return Event(kind="message", event_id=event_id, inbound=inbound, opens_as=thread_key or external_id)


class _PinnedWebClient(WebClient):
    """``WebClient`` whose HTTP goes through :func:`engage.outbound.request` (vetted, pinned).

    Overrides the one method of slack-sdk 3.47 (pinned in requirements.txt) that opens the
    connection; everything else (the request's shape, the response's validation) is the SDK's.
    """

    def _perform_urllib_http_request_internal(self, url: str, req: urllib.request.Request) -> dict[str, Any]:
        data = req.data if isinstance(req.data, bytes) else None
        answered = outbound.request(req.get_method(), url, body=data, headers=dict(req.header_items()))
        return {"status": answered.status, "headers": answered.headers, "body": answered.body.decode("utf-8")}


def _thread(reply: Reply) -> tuple[str, str]:
    channel, _, ts = reply.thread_id.partition(":")
    return channel, ts


class SlackConnector:
    kind = ConnectorKind.SLACK.value
    config: tuple[Setting, ...] = (
        Setting(
            "channel_ids",
            "Slack channel ids",
            type="list",
            help="The channels whose messages are queries (ids such as C0123456789, comma-separated).",
        ),
        Setting(
            "bot_user_id", "The app's bot user id", required=False, help="Its messages are ignored (U…; optional)."
        ),
        Setting("api_url", "Slack API address", type="url", required=False, default=API_URL),
    )
    credentials: tuple[Setting, ...] = (
        Setting("bot_token", "Bot token", help="xoxb-…, with the chat:write and channels:history scopes."),
        Setting("signing_secret", "Signing secret", help="Basic Information → App Credentials."),
    )

    def check(self, *, config: dict[str, Any]) -> None:
        config["api_url"] = check_base_url(config.get("api_url") or API_URL, field="config.api_url") + "/"

    def send(self, *, channel: Channel, credentials: dict[str, str], reply: Reply) -> outbound.Outcome:
        api_url = str(channel.config.get("api_url") or API_URL)
        target = f"{api_url}chat.postMessage"
        slack_channel, thread_ts = _thread(reply)
        if not slack_channel or not thread_ts:
            return outbound.Outcome(
                ok=False, target=target, error=f"{reply.thread_id!r} is no Slack thread", permanent=True
            )
        text = reply.body
        if reply.rating_url:
            text += f"\n\n<{reply.rating_url}|Rate this answer>"
        client = _PinnedWebClient(
            token=credentials.get("bot_token", ""),
            base_url=api_url,
            timeout=int(outbound.TIMEOUT_SECONDS),
            retry_handlers=[],
        )
        try:
            response = client.chat_postMessage(
                channel=slack_channel, thread_ts=thread_ts, text=text, unfurl_links=False
            )
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "") if isinstance(exc.response.data, dict) else ""
            status = exc.response.status_code
            return outbound.Outcome(
                ok=False,
                target=target,
                status_code=status,
                error=f"Slack: {error or status}",
                permanent=error in PERMANENT_ERRORS,
            )
        except outbound.OutboundRefused as exc:
            return outbound.Outcome(ok=False, target=target, error=str(exc), permanent=True)
        except (OSError, http.client.HTTPException, SlackClientError, ValueError) as exc:
            return outbound.Outcome(ok=False, target=target, error=f"{type(exc).__name__}: {exc}"[:2000])
        return outbound.Outcome(
            ok=True, target=target, status_code=response.status_code, remote_id=str(response.get("ts") or "")
        )


connector = SlackConnector()
