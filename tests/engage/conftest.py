"""Fixtures for community queries: a channel with its secret, signed webhook posts,
queries received through the real service, reviewers and certified responders."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import RoleName, User
from content.models import Message
from engage import services, signing
from engage.models import Channel, Query
from tests.content.conftest import publish
from tests.factories import DepartmentFactory, TopicFactory, UserFactory
from training.models import Certification, Course


@pytest.fixture(autouse=True)
def _plain_http(settings) -> None:
    settings.SECURE_SSL_REDIRECT = False  # the test client speaks plain HTTP


class ChannelWithSecret:
    def __init__(self, channel: Channel, secret: str) -> None:
        self.channel = channel
        self.secret = secret

    @property
    def url(self) -> str:
        return f"/api/v1/channels/{self.channel.slug}/webhook/"


@pytest.fixture
def channel(db) -> ChannelWithSecret:
    made, secret = services.channel_create(slug="forum", name="Community forum", kind="forum")
    return ChannelWithSecret(made, secret)


def names_field(body: dict[str, Any], field: str) -> bool:
    """Whether a 400 answer names ``field`` (serializer errors, or a service's ``field``)."""
    return field in body or body.get("field") == field


def payload(external_id: str = "ext-1", text: str = "I need a refund for my order", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"external_id": external_id, "text": text, "author": {"handle": "@cust", "name": "Cus"}}
    body.update(extra)
    return body


def signed_post(
    client: Client,
    url: str,
    secret: str | list[str],
    body: bytes,
    *,
    timestamp: int | None = None,
    signature: str | None = None,
) -> Any:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    secrets_ = [secret] if isinstance(secret, str) else secret
    header = signature or ",".join(f"v1={signing.signature(s, stamp, body)}" for s in secrets_)
    return client.post(
        url,
        data=body,
        content_type="application/json",
        headers={"X-Engage-Timestamp": stamp, "X-Engage-Signature": header},
    )


@pytest.fixture
def post_webhook(channel: ChannelWithSecret, django_capture_on_commit_callbacks) -> Callable[..., Any]:
    """``post_webhook(body_dict_or_bytes, **kw)``: a correctly signed delivery to ``channel``.

    Its after-commit jobs (routing) run as a real commit would run them.
    """

    def post(body: dict[str, Any] | bytes, *, client: Client | None = None, **kwargs: Any) -> Any:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        with django_capture_on_commit_callbacks(execute=True):
            return signed_post(client or Client(), channel.url, channel.secret, raw, **kwargs)

    return post


@pytest.fixture
def refund_topic(department):
    return TopicFactory(slug="refunds", name="Refunds", keywords=["refund", "money back"], department=department)


@pytest.fixture
def make_query(channel: ChannelWithSecret, django_capture_on_commit_callbacks) -> Callable[..., Query]:
    """``make_query(text=..., department=..., priority=...)``: received through the service, routed."""
    counter = iter(range(1, 1_000_000))

    def make(
        text: str = "Where is my refund?", *, department: Any = None, priority: str = "normal", **kwargs: Any
    ) -> Query:
        inbound = services.Inbound(
            external_id=kwargs.pop("external_id", f"q-{next(counter)}"),
            text=text,
            author_handle="@someone",
            priority=priority,
        )
        with django_capture_on_commit_callbacks(execute=True):
            query_id, _ = services.query_receive(channel=channel.channel, inbound=inbound, **kwargs)
        query = Query.objects.get(pk=query_id)
        if department is not None:
            Query.objects.filter(pk=query_id).update(department=department, routed_at=timezone.now())
            query.refresh_from_db()
        return query

    return make


@pytest.fixture
def reviewer(department) -> User:
    return UserFactory(department=department, roles=[RoleName.REVIEWER], name="Rita Reviewer")


def certify_responder(user: User, *, valid_days: int = 365) -> Certification:
    """Give ``user`` a valid responder certification (as passing a course would)."""
    course = Course.objects.create(
        title=f"Responder course {user.pk}",
        certification_name="Responder",
        certification_grants="responder",
        certification_valid_days=valid_days,
    )
    now = timezone.now()
    return Certification.objects.create(
        user=user,
        course=course,
        name="Responder",
        grants="responder",
        issued_at=now - timedelta(days=1),
        expires_at=now + timedelta(days=valid_days),
    )


@pytest.fixture
def responder(department) -> User:
    user = UserFactory(department=department, name="Rory Responder")
    certify_responder(user)
    return user


REFUNDS_MESSAGE = {
    "title": "Refunds take five working days",
    "body": "Every **refund** reaches your card within five working days.",
    "short_text": "Refunds reach your card in five working days.",
    "link_url": "https://www.example.com/help/refunds",
}


def make_approved_message(**fields: str) -> Message:
    """A message in these words, written by a marketing curator and approved by a marketing
    reviewer, meant for everyone: a card on the query pages whose question matches it."""
    marketing = DepartmentFactory(slug="marketing", name="Marketing", kind="marketing")
    curator = UserFactory(department=marketing, roles=[RoleName.CURATOR])
    approver = UserFactory(department=marketing, roles=[RoleName.REVIEWER])
    return publish(curator, approver, **fields)


def put_in_state(query: Query, state: str, *, holder: User, lapsed_holder: User, now: Any) -> None:
    """Give ``query`` a status as the queue sees it: ``open``, ``claimed`` (by ``holder``, live),
    ``lapsed`` (``lapsed_holder``'s claim ran out) or a stored state (``closed``, ``answered``,
    ``pending_review``, ``escalated``...: held by ``holder`` where a holder stays)."""
    rows = Query.objects.filter(pk=query.pk)
    if state == "claimed":
        rows.update(claimed_by=holder, claimed_at=now, claimed_until=now + timedelta(hours=1))
    elif state == "lapsed":
        rows.update(claimed_by=lapsed_holder, claimed_at=now, claimed_until=now - timedelta(minutes=1))
    elif state == "closed":
        rows.update(state=state, close_reason="spam", closed_at=now)
    elif state == "answered":
        rows.update(state=state, answered_at=now)
    elif state != "open":
        rows.update(state=state, claimed_by=holder, claimed_at=now, claimed_until=now - timedelta(minutes=5))
