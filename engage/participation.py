"""The participation log: append-only, idempotent.

:func:`record` is the only writer of :class:`~engage.models.ParticipationEvent`. It is
one ``INSERT … ON CONFLICT (key) DO NOTHING``, so recording never costs a request more
than one statement, and the same fact (same ``key``) recorded twice is one row.

Engage's own services call it inside the transaction that made the change, so the event
exists exactly when the change does. Activity of ``training`` and ``content`` arrives
through their ``activity`` signals, after their commit (see ``engage.receivers``).

Each of engage's kinds has one constructor here (:func:`query_received` … :func:`insight_status_changed`):
its object, its key (:func:`config.activity.activity_key`) and its payload, written once for the
services, the demo and the tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from accounts.models import User
from config.activity import Activity, ActivityKind, activity, activity_key
from engage.models import ParticipationEvent


def event_fields(activity: Activity) -> dict[str, Any]:
    """The fields (by attname) of the row :func:`record` would write, for a statement that
    writes it itself (``engage.statements``)."""
    if not activity.key:
        raise ValueError("an activity needs an idempotency key")
    return {
        "kind": activity.kind,
        "actor_id": activity.actor_id,
        "department_id": activity.department_id,
        "occurred_at": activity.occurred_at,
        "object_type": activity.object_type,
        "object_id": activity.object_id,
        "key": activity.key[:200],
        "data": activity.data or {},
    }


def event_row(activity: Activity) -> ParticipationEvent:
    """The unsaved row :func:`record` would write (for a statement that writes it itself)."""
    return _row(activity)


def _row(activity: Activity) -> ParticipationEvent:
    return ParticipationEvent(**event_fields(activity))


def record(activity: Activity) -> None:
    """Append ``activity`` to the log unless an event with its key is there already."""
    ParticipationEvent.objects.bulk_create([_row(activity)], ignore_conflicts=True)


def record_many(activities: Iterable[Activity]) -> None:
    """Append several activities in one statement (seeding, backfills)."""
    rows = [_row(activity) for activity in activities]
    if rows:
        ParticipationEvent.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)


# --- One constructor per kind of engage's -------------------------------------------------------


def query_received(*, query_id: int, received_at: datetime, channel_slug: str, priority: str) -> Activity:
    """A customer's query arrived (no actor: the customer is not one of the company's people)."""
    return activity(
        kind=ActivityKind.QUERY_RECEIVED,
        occurred_at=received_at,
        object_type="engage.query",
        object_id=query_id,
        key=activity_key(ActivityKind.QUERY_RECEIVED, query_id),
        data={"channel": channel_slug, "priority": priority},
    )


def query_routed(
    *, query_id: int, routed_at: datetime, department_id: int, topic_ids: list[int], matches: Mapping[int, list[str]]
) -> Activity:
    """The routing rules gave the query to ``department_id`` (the department is the event's)."""
    return activity(
        kind=ActivityKind.QUERY_ROUTED,
        occurred_at=routed_at,
        object_type="engage.query",
        object_id=query_id,
        key=activity_key(ActivityKind.QUERY_ROUTED, query_id),
        department_id=department_id,
        data={"topics": list(topic_ids), "matches": {str(k): list(v) for k, v in matches.items()}},
    )


def query_claimed(*, query_id: int, holder: User, claimed_at: datetime) -> Activity:
    """``holder`` took (or renewed) the claim at ``claimed_at``: each claim is a fact of its own."""
    return activity(
        kind=ActivityKind.QUERY_CLAIMED,
        occurred_at=claimed_at,
        object_type="engage.query",
        object_id=query_id,
        key=activity_key(ActivityKind.QUERY_CLAIMED, query_id, holder.pk, claimed_at),
        actor=holder,
    )


def query_escalated(
    *, query_id: int, by: User | None, escalated_at: datetime, from_department_id: int | None, to_department_id: int
) -> Activity:
    return activity(
        kind=ActivityKind.QUERY_ESCALATED,
        occurred_at=escalated_at,
        object_type="engage.query",
        object_id=query_id,
        key=activity_key(ActivityKind.QUERY_ESCALATED, query_id, escalated_at),
        actor=by,
        data={"from_department_id": from_department_id, "to_department_id": to_department_id},
    )


def answer_reviewed(
    *,
    answer_id: int,
    reviewer: User,
    reviewed_at: datetime,
    outcome: str,
    author_id: int,
    submitted_at: datetime | None,
) -> Activity:
    """A reviewer's decision on one submission of an answer (keyed by that submission's time)."""
    return activity(
        kind=ActivityKind.ANSWER_REVIEWED,
        occurred_at=reviewed_at,
        object_type="engage.answer",
        object_id=answer_id,
        key=activity_key(ActivityKind.ANSWER_REVIEWED, answer_id, submitted_at or ""),
        actor=reviewer,
        data={"outcome": outcome, "author_id": author_id},
    )


def answer_published(
    *,
    answer_id: int,
    author: User,
    author_department_id: int | None,
    published_at: datetime,
    query_id: int,
    query_department_id: int | None,
    message_ids: Iterable[int],
) -> Activity:
    """An answer went out; the department is the author's when they wrote it."""
    return activity(
        kind=ActivityKind.ANSWER_PUBLISHED,
        occurred_at=published_at,
        object_type="engage.answer",
        object_id=answer_id,
        key=activity_key(ActivityKind.ANSWER_PUBLISHED, answer_id),
        actor=author,
        department_id=author_department_id,
        data={"query_id": query_id, "query_department_id": query_department_id, "messages": sorted(message_ids)},
    )


def insight_submitted(*, insight_id: int, by: User, submitted_at: datetime, query_ids: Iterable[int]) -> Activity:
    return activity(
        kind=ActivityKind.INSIGHT_SUBMITTED,
        occurred_at=submitted_at,
        object_type="engage.insight",
        object_id=insight_id,
        key=activity_key(ActivityKind.INSIGHT_SUBMITTED, insight_id),
        actor=by,
        data={"query_ids": sorted(query_ids)},
    )


def insight_status_changed(
    *, insight_id: int, change_id: int, by: User, changed_at: datetime, from_status: str, to_status: str
) -> Activity:
    return activity(
        kind=ActivityKind.INSIGHT_STATUS_CHANGED,
        occurred_at=changed_at,
        object_type="engage.insight",
        object_id=insight_id,
        key=activity_key(ActivityKind.INSIGHT_STATUS_CHANGED, insight_id, change_id),
        actor=by,
        data={"from": from_status, "to": to_status},
    )
