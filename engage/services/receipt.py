"""Receipt of customers' messages and the routing of new queries."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import Topic
from accounts.notifications import notify
from config import jobs
from config.activity import Activity, ActivityKind, activity_key
from config.jobs import enqueue
from engage import participation, statements
from engage.inbound import Inbound
from engage.models import (
    RESPONSE_TARGETS,
    Channel,
    CustomerMessage,
    Priority,
    Query,
)
from engage.routing import route
from engage.services.common import department_member_ids, query_url
from engage.threads import first_message


def query_receive(*, channel: Channel, inbound: Inbound, received_at: datetime | None = None) -> tuple[int, bool]:
    """Store a delivered query once per ``(channel, external_id)``; ``(id, created)``.

    A redelivery — even one racing the first delivery — finds the stored row: the unique
    constraint decides, and the loser reads the winner's id after it committed.
    Routing, notifications and counting happen in jobs after the commit.
    """
    received_at = received_at or timezone.now()
    priority = inbound.priority or Priority.NORMAL
    if connection.vendor == "postgresql":
        return _query_receive_one_statement(channel=channel, inbound=inbound, received_at=received_at)
    existing = (
        Query.objects.filter(channel=channel, external_id=inbound.external_id).values_list("pk", flat=True).first()
    )
    if existing is None:
        existing = (
            CustomerMessage.objects.filter(channel=channel, external_id=inbound.external_id)
            .values_list("query_id", flat=True)
            .first()
        )
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            if CustomerMessage.objects.filter(channel=channel, external_id=inbound.external_id).exists():
                raise IntegrityError("a follow-up used this external id")  # found below
            query = _new_query(channel=channel, inbound=inbound, received_at=received_at, priority=priority)
            query.save(force_insert=True)
            first_message(query=query).save(force_insert=True)
            participation.record(
                _received_event(channel=channel, query_id=query.pk, received_at=received_at, priority=priority)
            )
            enqueue("engage.route_query", query.pk)
    except IntegrityError:
        existing = (
            Query.objects.filter(channel=channel, external_id=inbound.external_id).values_list("pk", flat=True).first()
        ) or (
            CustomerMessage.objects.filter(channel=channel, external_id=inbound.external_id)
            .values_list("query_id", flat=True)
            .first()
        )
        if existing is None:
            raise
        return existing, False
    return query.pk, True


def _received_event(*, channel: Channel, query_id: int, received_at: datetime, priority: str) -> Activity:
    return participation.query_received(
        query_id=query_id, received_at=received_at, channel_slug=channel.slug, priority=priority
    )


def _query_receive_one_statement(*, channel: Channel, inbound: Inbound, received_at: datetime) -> tuple[int, bool]:
    """:func:`query_receive` on PostgreSQL: the row, its event and its routing job in one
    statement (atomic on its own), the job handed to the broker after it."""
    priority = inbound.priority or Priority.NORMAL
    query = _new_query(channel=channel, inbound=inbound, received_at=received_at, priority=priority)
    # The event's id-dependent parts (object id, key) are filled in by the statement.
    event = participation.event_row(
        _received_event(channel=channel, query_id=0, received_at=received_at, priority=priority)
    )
    received = statements.receive(
        query=query, message=first_message(query=query), event=event,
        key_prefix=activity_key(ActivityKind.QUERY_RECEIVED, ""),
        job=jobs.outbox_row("engage.route_query"),
    )  # fmt: skip
    if received.job is not None:
        jobs.hand_over(received.job)
    if received.query_id is None:  # a racing delivery of the same id had not committed: it has now
        existing = Query.objects.filter(channel=channel, external_id=inbound.external_id).values_list("pk", flat=True)
        found = existing.first() or (
            CustomerMessage.objects.filter(channel=channel, external_id=inbound.external_id)
            .values_list("query_id", flat=True)
            .first()
        )
        if found is None:
            raise IntegrityError(f"no query holds {inbound.external_id!r} after a conflict")
        return found, False
    return received.query_id, received.created


def _new_query(*, channel: Channel, inbound: Inbound, received_at: datetime, priority: str) -> Query:
    return Query(
        channel=channel,
        **inbound.message_fields(),
        priority=priority,
        received_at=received_at,
        sla_due_at=received_at + RESPONSE_TARGETS[Priority(priority)],
    )


def latest_customer_message(*, query: Query) -> CustomerMessage | None:
    """The customer's latest message on a query (read with its row lock held): what an answer
    published now replies to."""
    if query.latest_message_id is not None:
        return CustomerMessage.objects.filter(pk=query.latest_message_id).first()
    return CustomerMessage.objects.filter(query=query, external_id=query.external_id).first()


def query_route(*, query_id: int) -> Query | None:
    """Route a received query by topic keywords (API.md, "Routing"), once.

    Tolerates a missing row and a second run: a query already routed is left alone.
    """
    with transaction.atomic():
        query = Query.objects.select_for_update().filter(pk=query_id).first()
        if query is None or query.routed_at is not None:
            return query
        topics = list(Topic.objects.order_by("created_at", "id").only("id", "keywords", "department_id"))
        result = route(query.text, topics)
        now = timezone.now()
        query.routed_at = now
        fields = ["routed_at"]
        if result.department_id is not None and query.department_id is None:
            query.department_id = result.department_id
            fields.append("department")
        query.save(update_fields=fields)
        if result.topic_ids:
            query.topics.set(result.topic_ids)
        if query.department_id is not None and "department" in fields:
            participation.record(
                participation.query_routed(
                    query_id=query.pk,
                    routed_at=now,
                    department_id=query.department_id,
                    topic_ids=list(result.topic_ids),
                    matches=result.matches,
                )
            )
            notify(
                user_ids=department_member_ids(query.department_id),
                kind="engage.query_routed",
                title=f"New {query.priority} query for your department",
                body=query.text[:280],
                url=query_url(query.pk),
                dedupe_key=f"query-routed:{query.pk}",
            )
    return query
