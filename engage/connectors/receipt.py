"""The inbound side every connector shares: an :class:`engage.inbound.Inbound` becomes a new
query or a follow-up, once per source event, and the channel's health says it was heard.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from config.jobs import enqueue
from engage import services, threads
from engage.inbound import Inbound
from engage.models import Channel, ConnectorEvent


@dataclass(frozen=True)
class Received:
    query_id: int | None
    created: bool
    message_id: int | None = None
    duplicate: bool = False  # the source sent this event before


def _event_once(*, channel: Channel, event_id: str) -> bool:
    """Whether this is the first time the channel's source sent ``event_id`` (call in a transaction).

    A concurrent duplicate waits on the unique index until the first commits, then finds it.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO engage_connectorevent (channel_id, event_id, received_at)"
                " VALUES (%s, %s, %s) ON CONFLICT (channel_id, event_id) DO NOTHING",
                [channel.pk, event_id[:255], timezone.now()],
            )
            return bool(cursor.rowcount == 1)
    _row, created = ConnectorEvent.objects.get_or_create(channel=channel, event_id=event_id[:255])
    return created


def receive(*, channel: Channel, inbound: Inbound, opens_as: str = "", event_id: str = "") -> Received:
    """Store ``inbound``: a follow-up when its thread key names a query of the channel, else a
    new query (keyed ``opens_as`` when given: the thread's own key, such as a Discourse topic).

    ``event_id`` (the source's id of the event) makes a retried event a no-op.
    """
    with transaction.atomic():
        if event_id and not _event_once(channel=channel, event_id=event_id):
            return Received(query_id=None, created=False, duplicate=True)
        received = _store(channel=channel, inbound=inbound, opens_as=opens_as)
    channel_heard(channel=channel)
    return received


def _store(*, channel: Channel, inbound: Inbound, opens_as: str) -> Received:
    # A message that opened its thread under the thread's key (``opens_as``) is kept under
    # that key; its own external id is remembered so that it is not added again later.
    alias = f"opened:{inbound.external_id}" if opens_as and opens_as != inbound.external_id else ""
    if alias and ConnectorEvent.objects.filter(channel=channel, event_id=alias[:255]).exists():
        return Received(query_id=None, created=False, duplicate=True)
    if inbound.thread_id or inbound.in_reply_to:
        follow_up = threads.followup_receive(channel=channel, inbound=inbound)
        if follow_up is not None:
            return Received(query_id=follow_up.query_id, created=follow_up.created, message_id=follow_up.message_id)
    first = replace(inbound, external_id=opens_as or inbound.external_id, thread_id="", in_reply_to="")
    query_id, created = services.query_receive(channel=channel, inbound=first)
    if alias and created:
        _event_once(channel=channel, event_id=alias)
    return Received(query_id=query_id, created=created)


def receive_later(*, channel: Channel, inbound: Inbound, event_id: str, delay_seconds: int) -> bool:
    """Store ``inbound`` in ``delay_seconds`` (``engage.connector_receive``), unless a message
    with its external id arrived meanwhile; False when the source sent this event before.

    For an event that announces a conversation whose opening message comes as another event
    (Discourse's ``topic_created`` before the first post's ``post_created``): the query is
    opened by the fuller message, and by this one only if that never comes.
    """
    with transaction.atomic():
        first = not event_id or _event_once(channel=channel, event_id=event_id)
        if first:
            fields = asdict(inbound)
            if inbound.sender_created_at is not None:
                fields["sender_created_at"] = inbound.sender_created_at.isoformat()
            enqueue("engage.connector_receive", channel.pk, fields, delay_seconds=delay_seconds)
    channel_heard(channel=channel)
    return first


def receive_deferred(*, channel_id: int, fields: dict[str, Any]) -> Received | None:
    """The job of :func:`receive_later`: stored once, by external id, like any delivery."""
    channel = Channel.objects.filter(pk=channel_id).first()
    if channel is None:
        return None
    when = fields.get("sender_created_at")
    inbound = Inbound(**{**fields, "sender_created_at": parse_datetime(when) if isinstance(when, str) else None})
    with transaction.atomic():
        return _store(channel=channel, inbound=inbound, opens_as="")


def event_seen(*, channel: Channel, event_id: str) -> bool:
    """Record an event that asks for nothing (an ignored message); False when it came before."""
    with transaction.atomic():
        first = _event_once(channel=channel, event_id=event_id)
    channel_heard(channel=channel)
    return first


def channel_heard(*, channel: Channel) -> None:
    """The channel's source reached us now (health: last event received)."""
    Channel.objects.filter(pk=channel.pk).update(last_event_at=timezone.now())


def channel_failed(*, channel: Channel, error: str) -> None:
    """Something about the channel failed now (health: last error)."""
    Channel.objects.filter(pk=channel.pk).update(last_error=error[:2000], last_error_at=timezone.now())
