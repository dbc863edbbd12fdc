"""The shape in which apps announce what people did, for the participation log.

``training`` and ``content`` cannot import ``engage`` (dependencies point one way), so
each sends its own documented signal (``training.signals.activity``,
``content.signals.activity``) with one keyword argument, ``activity``, an
:class:`Activity`. ``engage`` subscribes and appends each to its participation log,
where ``key`` makes a second delivery of the same fact count once.

Build one with :func:`activity` (the actor's department taken from the actor, in every app
alike) and its key with :func:`activity_key`; announce it with :func:`announce`, inside the
transaction that made the change: the signal is sent only if and after that transaction commits.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.dispatch import Signal


class ActivityKind:
    """The kinds of the participation log (PHASE-MODEL.md)."""

    MESSAGE_PUBLISHED = "message_published"
    MESSAGE_SHARED = "message_shared"
    SHARE_LINK_CLICKED = "share_link_clicked"
    TOOLKIT_ITEM_USED = "toolkit_item_used"
    QUERY_RECEIVED = "query_received"
    QUERY_ROUTED = "query_routed"
    QUERY_ESCALATED = "query_escalated"
    QUERY_CLAIMED = "query_claimed"
    ANSWER_PUBLISHED = "answer_published"
    ANSWER_REVIEWED = "answer_reviewed"
    COURSE_COMPLETED = "course_completed"
    CERTIFICATION_EARNED = "certification_earned"
    CERTIFICATION_EXPIRED = "certification_expired"
    INSIGHT_SUBMITTED = "insight_submitted"
    INSIGHT_STATUS_CHANGED = "insight_status_changed"


@dataclass(frozen=True)
class Activity:
    kind: str
    occurred_at: datetime
    object_type: str  # "content.message", "training.course", ...
    object_id: int
    key: str  # idempotency key: the same fact always gets the same key
    actor_id: int | None = None  # None for a visitor (a share link's click)
    department_id: int | None = None  # the actor's department at the time
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def activity(
    *,
    kind: str,
    occurred_at: datetime,
    object_type: str,
    object_id: int,
    key: str,
    actor: Any = None,
    department_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> Activity:
    """An :class:`Activity` by ``actor`` (a person, or None), in their department as it is now
    unless ``department_id`` says otherwise: how every app builds one."""
    actor_id = getattr(actor, "pk", None)
    if department_id is None and actor is not None:
        department_id = getattr(actor, "department_id", None)
    return Activity(
        kind=kind,
        occurred_at=occurred_at,
        object_type=object_type,
        object_id=object_id,
        key=key,
        actor_id=actor_id,
        department_id=department_id,
        data=data or {},
    )


def activity_key(kind: str, *parts: object) -> str:
    """The idempotency key of a fact: its kind and what identifies it, joined by ``:``
    (times and days in ISO form), such as ``query_claimed:12:7:2026-12-04T10:00:00+00:00``.

    The one way every app builds a key, so the same fact always gets the same key whoever
    records it (a service, a replayed signal, the demo); ``activity_key(kind, "")`` is the
    prefix a statement completes with a new row's id.
    """
    words = [kind, *(part.isoformat() if isinstance(part, (date, datetime)) else str(part) for part in parts)]
    return ":".join(words)


def announce(signal: Signal, sender: type, activity: Activity) -> None:
    """Send ``signal(sender, activity=activity)`` once the current transaction commits."""
    transaction.on_commit(lambda: signal.send(sender=sender, activity=activity), robust=True)
