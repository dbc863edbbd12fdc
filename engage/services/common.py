"""What the services share: limits, leases and the people a query concerns."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from accounts.models import RoleName, User

SECRET_OVERLAP = timedelta(hours=24)
MAX_ANSWER_LENGTH = 20_000
ESCALATION_NOTE_MAX = 2000
REVIEW_COMMENT_MAX = 5000
INSIGHT_TITLE_MAX = 200
INSIGHT_DESCRIPTION_MAX = 10_000
MAX_MESSAGES_PER_ANSWER = 50
# Outbound retries: 30 s, 1, 2, 4, 8, 16 and 32 minutes — about an hour — then a dead letter.
DELIVERY_MAX_ATTEMPTS = 8
DELIVERY_FIRST_BACKOFF_SECONDS = 30
# An attempt holds its delivery this long: longer than the deliver job's hard time limit
# (engage.tasks), so two attempts never overlap, and short, so that the job redelivered
# after a worker was killed mid-attempt resumes within seconds.
DELIVERY_ATTEMPT_LEASE = timedelta(seconds=35)


def claim_lease() -> timedelta:
    return timedelta(minutes=settings.ENGAGE_CLAIM_LEASE_MINUTES)


def max_open_claims() -> int:
    return int(settings.ENGAGE_MAX_OPEN_CLAIMS)


def department_member_ids(department_id: int) -> list[int]:
    return list(User.objects.filter(department_id=department_id, is_active=True).values_list("pk", flat=True))


def reviewer_ids(*, department_id: int | None, excluding: int | None = None) -> list[int]:
    """Reviewers of the department (or, where it has none, every reviewer)."""
    reviewers = User.objects.filter(is_active=True, roles__slug=RoleName.REVIEWER).distinct()
    if excluding is not None:
        reviewers = reviewers.exclude(pk=excluding)
    if department_id is not None:
        local = list(reviewers.filter(department_id=department_id).values_list("pk", flat=True))
        if local:
            return local
    return list(reviewers.values_list("pk", flat=True))


def query_url(query_id: int) -> str:
    return f"/queries/{query_id}/"
