"""The participation log: append-only, idempotent.

:func:`record` is the only writer of :class:`~engage.models.ParticipationEvent`. It is
one ``INSERT … ON CONFLICT (key) DO NOTHING``, so recording never costs a request more
than one statement, and the same fact (same ``key``) recorded twice is one row.

Engage's own services call it inside the transaction that made the change, so the event
exists exactly when the change does. Activity of ``training`` and ``content`` arrives
through their ``activity`` signals, after their commit (see ``engage.receivers``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from config.activity import Activity
from engage.models import ParticipationEvent


def event_row(activity: Activity) -> ParticipationEvent:
    """The unsaved row :func:`record` would write (for a statement that writes it itself)."""
    return _row(activity)


def _row(activity: Activity) -> ParticipationEvent:
    if not activity.key:
        raise ValueError("an activity needs an idempotency key")
    return ParticipationEvent(
        kind=activity.kind,
        actor_id=activity.actor_id,
        department_id=activity.department_id,
        occurred_at=activity.occurred_at,
        object_type=activity.object_type,
        object_id=activity.object_id,
        key=activity.key[:200],
        data=activity.data or {},
    )


def record(activity: Activity) -> None:
    """Append ``activity`` to the log unless an event with its key is there already."""
    ParticipationEvent.objects.bulk_create([_row(activity)], ignore_conflicts=True)


def record_many(activities: Iterable[Activity]) -> None:
    """Append several activities in one statement (seeding, backfills)."""
    rows = [_row(activity) for activity in activities]
    if rows:
        ParticipationEvent.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)


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
    """An :class:`Activity` for ``actor`` (a User or None), their department taken now."""
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
