"""Claims: taking a query, releasing it, and the lease that expires it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from config.activity import Activity
from config.errors import Conflict, ServiceError
from config.policy import Refusal, enforce
from engage import participation, policy, statements
from engage.models import (
    Query,
    QueryDraft,
    QueryState,
)
from engage.selectors import (
    query_get_for_user,
    visibility_scope,
)
from engage.services.answers import clean_message_ids
from engage.services.common import MAX_ANSWER_LENGTH, claim_lease, max_open_claims


@dataclass(frozen=True)
class Claim:
    query_id: int
    claimed_by: int
    claimed_until: datetime
    renewed: bool


def _not_claimable(*, user: User, query_id: int, now: datetime) -> Conflict:
    """Why the claim's conditional ``UPDATE`` took nothing: :func:`engage.policy.query_claim` on the row now."""
    query = Query.objects.filter(pk=query_id).only("state", "claimed_by", "claimed_until").first()
    if query is None:
        return Conflict("This query no longer exists.")
    refusal = policy.query_claim(user, query, now) or Refusal("Someone else holds this query.", conflict=True)
    return Conflict(refusal.reason, **dict(refusal.details))


def _live_claims_locked(*, user: User, now: datetime, excluding: int) -> int:
    """Lock the person's own row, then count their live claims.

    The lock serialises one person's claims, so simultaneous claims cannot overshoot
    the cap; claims by different people never wait on each other. Two statements on
    purpose: the count must be read *after* the lock is granted (a subquery in the
    locking statement would count from the snapshot taken before waiting).
    """
    list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))
    return (
        Query.objects.filter(claimed_by=user, state=QueryState.OPEN, claimed_until__gt=now)
        .exclude(pk=excluding)
        .count()
    )


def query_claim(*, user: User, query_id: int) -> Claim:
    """Claim (or, for the holder, renew) the lease on a query.

    One conditional ``UPDATE`` decides the winner, so of any number of simultaneous
    claims exactly one succeeds. The cap on live claims is checked while holding the
    claimer's own row lock, so one person's simultaneous claims cannot overshoot it.
    """
    now = timezone.now()
    until = now + claim_lease()
    if connection.vendor == "postgresql":
        return _query_claim_one_statement(user=user, query_id=query_id, now=now, until=until)
    with transaction.atomic():
        query = query_get_for_user(user=user, id=query_id, related=False)  # 404 for what they may not see
        cap = max_open_claims()
        if _live_claims_locked(user=user, now=now, excluding=query_id) >= cap:
            raise Conflict(f"You already hold {cap} claims; answer or release one first.", limit=cap)
        open_rows = Query.objects.filter(pk=query_id, state=QueryState.OPEN)
        renewed = False
        if query.holds_live_claim(user.pk, now):
            # The holder extends the lease; the claim (and its start) stays the same.
            renewed = bool(open_rows.filter(claimed_by=user, claimed_until__gt=now).update(claimed_until=until))
        if not renewed:
            free = Q(claimed_by__isnull=True) | Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)
            if not open_rows.filter(free).update(claimed_by=user, claimed_at=now, claimed_until=until):
                raise _not_claimable(user=user, query_id=query_id, now=now)
            participation.record(_claim_event(user=user, query_id=query_id, now=now))
    return Claim(query_id=query_id, claimed_by=user.pk, claimed_until=until, renewed=renewed)


def _claim_event(*, user: User, query_id: int, now: datetime) -> Activity:
    return participation.query_claimed(query_id=query_id, holder=user, claimed_at=now)


def _query_claim_one_statement(*, user: User, query_id: int, now: datetime, until: datetime) -> Claim:
    """:func:`query_claim` on PostgreSQL: the person's row lock, then one statement."""
    cap = max_open_claims()
    with transaction.atomic():
        statements.lock_person(user.pk)
        outcome = statements.claim(
            query_id=query_id, user_id=user.pk, scope=visibility_scope(user), cap=cap, now=now, until=until,
            event=_claim_event(user=user, query_id=query_id, now=now),
        )  # fmt: skip
        if not outcome.visible:
            raise Http404("No such query")
        if outcome.live_claims >= cap:
            raise Conflict(f"You already hold {cap} claims; answer or release one first.", limit=cap)
        if not outcome.won:
            raise _not_claimable(user=user, query_id=query_id, now=now)
    return Claim(query_id=query_id, claimed_by=user.pk, claimed_until=until, renewed=outcome.renewed)


def query_release(*, user: User, query_id: int) -> Query:
    """Give up a live claim. The person's draft stays, for them."""
    now = timezone.now()
    with transaction.atomic():
        query = query_get_for_user(user=user, id=query_id, lock=True)
        enforce(policy.query_release(user, query, now))
        query.claimed_by = None
        query.claimed_at = None
        query.claimed_until = None
        query.save(update_fields=["claimed_by", "claimed_at", "claimed_until"])
    return query


def query_draft_save(*, user: User, query_id: int, body: str, message_ids: list[int] | None = None) -> QueryDraft:
    """Keep the person's unsent answer; it survives a lapsed claim and is offered back to them."""
    with transaction.atomic():
        query = query_get_for_user(user=user, id=query_id)
        if not isinstance(body, str):
            raise ServiceError("body must be text.", field="body")
        if len(body) > MAX_ANSWER_LENGTH:
            raise ServiceError(f"An answer is at most {MAX_ANSWER_LENGTH} characters.", field="body")
        ids = clean_message_ids(message_ids, user=user)
        enforce(policy.query_draft_save(user, query, timezone.now()))
        draft, _ = QueryDraft.objects.update_or_create(
            query=query, author=user, defaults={"body": body, "message_ids": ids, "updated_at": timezone.now()}
        )
    return draft
