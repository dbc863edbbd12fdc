"""Escalating a query to a specialist department, and closing it."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import Department, User
from accounts.notifications import notify
from config.errors import Conflict, ServiceError
from config.policy import enforce
from engage import participation, policy, threads
from engage.models import (
    Answer,
    AnswerStatus,
    CloseReason,
    Query,
    QueryState,
)
from engage.selectors import (
    query_get_for_user,
)
from engage.services.common import ESCALATION_NOTE_MAX, department_member_ids, query_url


def _withdraw_in_review(query: Query) -> None:
    threads.revisions_withdraw(query=query)
    Answer.objects.filter(query=query, status__in=[AnswerStatus.PENDING_REVIEW, AnswerStatus.DRAFT]).update(
        status=AnswerStatus.WITHDRAWN
    )


def query_escalate(*, user: User, query_id: int, department: str, note: str = "") -> Query:
    """Route a query to another department, open for anyone there to claim."""
    with transaction.atomic():
        query = query_get_for_user(user=user, id=query_id, lock=True)
        now = timezone.now()
        enforce(policy.query_escalate(user, query, now))
        target = Department.objects.filter(slug=department).first() if isinstance(department, str) else None
        if target is None:
            raise ServiceError(
                f"There is no department called “{department}”; choose one from the list."
                if isinstance(department, str) and department
                else "Choose the department to escalate it to.",
                field="department",
            )
        if not isinstance(note, str):
            raise ServiceError("note must be text.", field="note")
        if len(note.strip()) > ESCALATION_NOTE_MAX:
            raise ServiceError(
                f"A note is at most {ESCALATION_NOTE_MAX:,} characters (this one has {len(note.strip()):,}).",
                field="note",
            )
        if target.pk == query.department_id:
            raise Conflict("The query is already routed there.", field="department")
        query.escalated_from_id = query.department_id
        query.department = target
        query.escalated_at = now
        query.escalated_by = user
        query.escalation_note = (note or "").strip()
        query.routed_at = query.routed_at or now
        query.claimed_by = None
        query.claimed_at = None
        query.claimed_until = None
        query.save(
            update_fields=[
                "escalated_from",
                "department",
                "escalated_at",
                "escalated_by",
                "escalation_note",
                "routed_at",
                "claimed_by",
                "claimed_at",
                "claimed_until",
            ]
        )
        participation.record(
            participation.query_escalated(
                query_id=query.pk,
                by=user,
                escalated_at=now,
                from_department_id=query.escalated_from_id,
                to_department_id=target.pk,
            )
        )
        notify(
            user_ids=department_member_ids(target.pk),
            kind="engage.query_escalated",
            title=f"A query was escalated to {target.name}",
            body=query.escalation_note or query.text[:280],
            url=query_url(query.pk),
            dedupe_key=f"query-escalated:{query.pk}:{now.isoformat()}",
        )
    return query


def query_close(*, user: User, query_id: int, reason: str) -> Query:
    """Close as spam, duplicate or no action; closed queries leave the response metrics."""
    with transaction.atomic():
        query = query_get_for_user(user=user, id=query_id, lock=True)
        now = timezone.now()
        enforce(policy.query_close(user, query, now))
        if reason not in CloseReason.values:
            raise ServiceError(
                "Choose why it is being closed: "
                + ", ".join(f"{label.lower()} ({value})" for value, label in CloseReason.choices)
                + ".",
                field="reason",
            )
        _withdraw_in_review(query)
        query.state = QueryState.CLOSED
        query.close_reason = reason
        query.closed_at = now
        query.closed_by = user
        query.claimed_until = None
        query.save(update_fields=["state", "close_reason", "closed_at", "closed_by", "claimed_until"])
    return query
