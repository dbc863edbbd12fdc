"""Outbound delivery of published answers to their channels, with retries and dead letters."""

from __future__ import annotations

import logging
import math
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import RoleName, User
from accounts.notifications import notify
from config.errors import Conflict
from config.jobs import enqueue
from engage import connectors, ratings
from engage.models import (
    Answer,
    Channel,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Query,
)
from engage.services.common import DELIVERY_ATTEMPT_LEASE, DELIVERY_FIRST_BACKOFF_SECONDS, DELIVERY_MAX_ATTEMPTS

logger = logging.getLogger(__name__)


def answer_payload(*, query: Query, answer: Answer) -> dict[str, Any]:
    """The outbound body of API.md (Outbound delivery)."""
    reply = answer.in_reply_to
    return {
        "query_external_id": query.external_id,
        "thread_id": query.external_id,
        "in_reply_to": reply.external_id if reply is not None else None,
        "answer_id": answer.pk,
        "body": answer.body,
        "body_html": answer.body_html,
        **answer_payload_byline(answer),
    }


def answer_payload_byline(answer: Answer) -> dict[str, Any]:
    """The part of :func:`answer_payload` that is neither an id nor the text: who wrote it and
    when it went out (the one-statement publish writes the rest from the rows it makes)."""
    return {
        "author": {"name": answer.author.name},
        "published_at": answer.published_at.isoformat() if answer.published_at else None,
    }


def delivery_create_for_answer(*, query: Query, answer: Answer) -> Delivery:
    """Queue the answer's delivery back to its channel. Call inside the publishing transaction."""
    delivery = Delivery.objects.create(
        kind=DeliveryKind.ANSWER,
        channel_id=query.channel_id,
        query=query,
        answer=answer,
        payload=answer_payload(query=query, answer=answer),
        next_attempt_at=timezone.now(),
    )
    enqueue("engage.deliver", delivery.pk, 0)
    return delivery


def _backoff(attempts: int) -> int:
    return int(DELIVERY_FIRST_BACKOFF_SECONDS * 2 ** max(0, attempts - 1))


def delivery_attempt(*, delivery_id: int, attempt: int | None = None) -> str:
    """Make one delivery attempt, if one is due; schedule the next or give up.

    Safe to run twice: an attempt is taken with a conditional ``UPDATE`` that moves
    ``next_attempt_at`` forward, so only one runner sends it. ``attempt`` is the number of
    attempts made when the job was queued: a job for an attempt still not made that
    finds the delivery leased (its worker was killed mid-attempt and the job came back
    at once) waits for the lease to end and tries then, rather than leaving it to the
    sweep minutes later.
    """
    now = timezone.now()
    taken = Delivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now + timedelta(seconds=1)
    ).update(next_attempt_at=now + DELIVERY_ATTEMPT_LEASE)
    if not taken:
        if attempt is None:
            return "skipped"
        leased_until = (
            Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING, attempts=attempt)
            .values_list("next_attempt_at", flat=True)
            .first()
        )
        if leased_until is None:
            return "skipped"  # made (or finished) by another runner
        wait = max(1, math.ceil((leased_until - now).total_seconds()))
        with transaction.atomic():
            enqueue("engage.deliver", delivery_id, attempt, delay_seconds=wait)
        return "waiting"
    delivery = Delivery.objects.select_related("channel").get(pk=delivery_id)
    channel = delivery.channel
    payload = delivery.payload
    if delivery.kind == DeliveryKind.ANSWER and delivery.answer_id is not None:
        payload = ratings.with_rating_link(payload, answer_id=delivery.answer_id)  # made here, not when published
    outcome = connectors.send(channel=channel, delivery=delivery, payload=payload)
    finished = timezone.now()
    attempts = delivery.attempts + 1
    with transaction.atomic():
        update: dict[str, Any] = {
            "attempts": attempts,
            "target": outcome.target[:500],
            "last_status_code": outcome.status_code,
            "last_error": outcome.error,
        }
        # The channel's health (the channels page): its last successful reply, or its last error.
        if outcome.ok:
            Channel.objects.filter(pk=channel.pk).update(last_reply_at=finished)
        else:
            Channel.objects.filter(pk=channel.pk).update(last_error=outcome.error[:2000], last_error_at=finished)
        if outcome.ok:
            update.update(status=DeliveryStatus.DELIVERED, delivered_at=finished, remote_id=outcome.remote_id[:255])
            result = "delivered"
        elif outcome.permanent or attempts >= DELIVERY_MAX_ATTEMPTS:
            update.update(status=DeliveryStatus.DEAD, dead_at=finished)
            result = "dead"
        else:
            delay = _backoff(attempts)
            update.update(next_attempt_at=finished + timedelta(seconds=delay))
            result = "retry"
        Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING).update(**update)
        if result == "retry":
            enqueue("engage.deliver", delivery_id, attempts, delay_seconds=delay)
        elif result == "dead":
            logger.warning("delivery %s to %s is a dead letter: %s", delivery_id, channel.slug, outcome.error)
            notify(
                user_ids=list(
                    User.objects.filter(is_active=True, roles__slug=RoleName.ADMIN).values_list("pk", flat=True)
                ),
                kind="engage.delivery_dead",
                title=f"A delivery to {channel.name} failed for good",
                body=outcome.error[:500],
                url=f"{reverse('engage:deliveries')}?status=dead#delivery-{delivery_id}",
                dedupe_key=f"delivery-dead:{delivery_id}:{attempts}",
            )
    return result


def delivery_retry(*, delivery_id: int) -> Delivery:
    """An admin sends a dead letter again, from a fresh start."""
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().filter(pk=delivery_id).first()
        if delivery is None:
            from django.http import Http404

            raise Http404("No such delivery")
        if delivery.status != DeliveryStatus.DEAD:
            raise Conflict(f"Only dead letters are retried; this one is {delivery.status}.", status=delivery.status)
        delivery.status = DeliveryStatus.PENDING
        delivery.attempts = 0
        delivery.next_attempt_at = timezone.now()
        delivery.dead_at = None
        delivery.save(update_fields=["status", "attempts", "next_attempt_at", "dead_at"])
        enqueue("engage.deliver", delivery.pk, 0)
    return delivery


def deliveries_sweep(*, stale_after: timedelta = timedelta(minutes=5), limit: int = 500) -> int:
    """Re-queue pending deliveries whose job was lost (a worker killed mid-attempt)."""
    cutoff = timezone.now() - stale_after
    ids = list(
        Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lt=cutoff)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    with transaction.atomic():
        for delivery_id in ids:
            enqueue("engage.deliver", delivery_id)
    return len(ids)


def unrouted_queries_route(*, older_than: timedelta = timedelta(minutes=1), limit: int = 500) -> int:
    """Queue routing again for queries left unrouted (their job lost or failed for good)."""
    cutoff = timezone.now() - older_than
    ids = list(
        Query.objects.filter(routed_at__isnull=True, received_at__lt=cutoff)
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
    with transaction.atomic():
        for query_id in ids:
            enqueue("engage.route_query", query_id)
    return len(ids)
