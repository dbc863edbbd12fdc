"""The schedule: messages (and toolkits) published and expired on time, by the scheduled job.

Idempotent and safe to run concurrently: each row changes with a conditional update whose
row count decides who records the event.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from content.models import Action, Message, Status
from content.services.common import _now
from content.services.messages import _announce_published, _event
from content.services.toolkits import toolkits_apply_schedule


def messages_apply_schedule(*, now: datetime | None = None, batch_size: int = 200) -> dict[str, int]:
    """Bring stored statuses up to date with the times: publish what is due, expire what is over.

    Idempotent and safe to run concurrently: each row changes with a conditional update
    whose row count decides who records the event. Events carry the time the change
    really happened (``publish_at`` / ``expires_at``), not the time the job ran.
    """
    now = _now(now)
    published = expired = 0
    due_ids = list(
        Message.objects.filter(status=Status.SCHEDULED, publish_at__lte=now).values_list("id", flat=True)[:batch_size]
    )
    for message_id in due_ids:
        published += _publish_due(message_id, now=now)
    over_ids = list(
        Message.objects.filter(status__in=[Status.SCHEDULED, Status.PUBLISHED], expires_at__lte=now).values_list(
            "id", flat=True
        )[:batch_size]
    )
    for message_id in over_ids:
        expired += _expire_due(message_id, now=now)
    return {"published": published, "expired": expired}


@transaction.atomic
def _publish_due(message_id: int, *, now: datetime) -> int:
    message = Message.objects.select_for_update().filter(pk=message_id).first()
    if message is None or message.status != Status.SCHEDULED or message.publish_at is None or message.publish_at > now:
        return 0
    changed = Message.objects.filter(pk=message_id, status=Status.SCHEDULED).update(status=Status.PUBLISHED)
    if not changed:
        return 0
    went_live = message.publish_at  # approval came earlier, or it would have gone live then
    _event(message, Action.PUBLISHED, actor=None, at=went_live, revision=message.revision)
    if message.first_published_at is None:
        Message.objects.filter(pk=message_id, first_published_at__isnull=True).update(first_published_at=went_live)
        message.status = Status.PUBLISHED
        _announce_published(message, at=went_live)
    return 1


@transaction.atomic
def _expire_due(message_id: int, *, now: datetime) -> int:
    message = Message.objects.select_for_update().filter(pk=message_id).first()
    if message is None or message.expires_at is None or message.expires_at > now:
        return 0
    changed = Message.objects.filter(
        pk=message_id, status__in=[Status.SCHEDULED, Status.PUBLISHED], expires_at__lte=now
    ).update(status=Status.EXPIRED)
    if not changed:
        return 0
    if message.status == Status.SCHEDULED and message.publish_at and message.publish_at < message.expires_at:
        # It was due (and visible) between the two times even though no job saw it.
        _event(message, Action.PUBLISHED, actor=None, at=message.publish_at, revision=message.revision)
        if message.first_published_at is None:
            Message.objects.filter(pk=message_id, first_published_at__isnull=True).update(
                first_published_at=message.publish_at
            )
            _announce_published(message, at=message.publish_at)
    _event(message, Action.EXPIRED, actor=None, at=message.expires_at, revision=message.revision)
    return 1


def schedule_apply(*, now: datetime | None = None) -> dict[str, int]:
    """The scheduled job's work: messages (and toolkits) published and expired on time."""
    now = _now(now)
    return {**messages_apply_schedule(now=now), **toolkits_apply_schedule(now=now)}
