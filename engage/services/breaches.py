"""Response-time breaches: the SLA sweep over open queries."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import RoleName, User
from accounts.notifications import notify
from engage.models import (
    Query,
    QueryState,
)
from engage.services.common import department_member_ids, query_url


def sla_breaches_escalate(*, limit: int = 500) -> int:
    """Flag, once each, queries whose response target passed unanswered, and tell people.

    The department's reviewers (every reviewer for an unrouted query) and the holder are
    notified. Rows are taken with ``SKIP LOCKED`` and marked in the same transaction, so
    two runs never handle the same query.
    """
    now = timezone.now()
    with transaction.atomic():
        due = list(
            Query.objects.select_for_update(skip_locked=True)
            .filter(
                state__in=[QueryState.OPEN, QueryState.PENDING_REVIEW],
                sla_breached_at__isnull=True,
                sla_due_at__lte=now,
            )
            .order_by("sla_due_at")
            .values("pk", "department_id", "claimed_by_id", "claimed_until", "state", "priority", "text", "turn")[
                :limit
            ]
        )
        if not due:
            return 0
        Query.objects.filter(pk__in=[row["pk"] for row in due], sla_breached_at__isnull=True).update(
            sla_breached_at=now
        )
        reviewers = User.objects.filter(is_active=True, roles__slug=RoleName.REVIEWER).distinct()
        reviewers_by_department: dict[int | None, list[int]] = {}
        for row in due:
            department_id = row["department_id"]
            if department_id not in reviewers_by_department:
                scoped = reviewers.filter(department_id=department_id) if department_id else reviewers
                reviewers_by_department[department_id] = list(scoped.values_list("pk", flat=True))
            recipients = list(reviewers_by_department[department_id])
            if department_id and not recipients:
                recipients = department_member_ids(department_id)
            if row["claimed_by_id"] and (
                row["state"] == QueryState.PENDING_REVIEW or (row["claimed_until"] and row["claimed_until"] > now)
            ):
                recipients.append(row["claimed_by_id"])
            notify(
                user_ids=recipients,
                kind="engage.sla_breach",
                title=f"A {row['priority']} query missed its response target",
                body=row["text"][:280],
                url=query_url(row["pk"]),
                dedupe_key=f"sla-breach:{row['pk']}" + (f":{row['turn']}" if row["turn"] > 1 else ""),
            )
    return len(due)
