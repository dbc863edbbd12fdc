"""Hand-off: the holder of a query (or a reviewer) gives the claim to a colleague.

The colleague must be able to see the query (the visibility rule of
:mod:`engage.selectors`) and gets the claim within their own cap (the claim cap of
:mod:`engage.services`, counted under their row lock, as a claim counts it). One
conditional ``UPDATE`` moves the claim only if it is still the claim that was read, so of
simultaneous hand-offs of one query exactly one wins and the others answer 409. Drafts
stay with their author: the colleague writes their own answer; a lapsed or released claim
offers each author their own draft back, as before.

A hand-off is not a participation event (PHASE-MODEL.md's kinds are unchanged): the
colleague takes part when they answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import RoleName, User
from accounts.notifications import notify
from config.errors import Conflict, ServiceError
from config.policy import enforce
from engage import policy
from engage.models import Query, QueryHandoff, QueryState, QueryStatus
from engage.selectors import can_see_query, query_get_for_user
from engage.services import _live_claims_locked, claim_lease, max_open_claims

MAX_NOTE_LENGTH = 2000
MAX_CANDIDATES = 200


def _target(to: Any, *, query: Query) -> User:
    """The colleague named by ``to`` (an id), or a 400 naming ``to``."""
    if isinstance(to, bool) or not isinstance(to, int | str) or not str(to).strip().isdigit():
        raise ServiceError("Choose the colleague to hand the query to.", field="to")
    target = User.objects.filter(pk=int(to), is_active=True).select_related("department").first()
    if target is None:
        raise ServiceError("That colleague is not (or no longer) on Engage; choose another.", field="to")
    if not can_see_query(target, query):
        raise ServiceError(
            f"{target.name or 'That person'} cannot see this query; choose a colleague who can.", field="to"
        )
    return target


def _clean_note(note: Any) -> str:
    if note is None:
        return ""
    if not isinstance(note, str):
        raise ServiceError("note must be text.", field="note")
    if len(note) > MAX_NOTE_LENGTH:
        raise ServiceError(f"A note is at most {MAX_NOTE_LENGTH} characters.", field="note")
    return note.strip()


def _still_as_read(query: Query, *, status: str, now: datetime) -> Q:
    """The claim that was read is still the claim there (the condition of the ``UPDATE``)."""
    if status == QueryStatus.CLAIMED:
        return Q(claimed_by_id=query.claimed_by_id, claimed_at=query.claimed_at, claimed_until__gt=now)
    return Q(claimed_by__isnull=True) | Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)


class _Unset:
    pass


UNSET: Any = _Unset()


def _clean_expected(expected: Any) -> int | None:
    if expected is None:
        return None
    if isinstance(expected, bool) or not isinstance(expected, int | str) or not str(expected).strip().isdigit():
        raise ServiceError("claimed_by must be the id of the holder you saw, or null for nobody.", field="claimed_by")
    return int(expected)


def _changed(query: Query, now: datetime) -> Conflict:
    current = Query.objects.filter(pk=query.pk).values("state", "claimed_by", "claimed_until").first()
    if current is None:
        return Conflict("This query no longer exists.")
    until = current["claimed_until"]
    live = current["state"] == QueryState.OPEN and until is not None and until > now
    return Conflict(
        "Someone else changed who holds this query meanwhile; reload to see who has it.",
        claimed_by=current["claimed_by"] if live else None,
        claimed_until=until if live else None,
    )


def query_handoff(
    *, user: User, query_id: int, to: int | str, note: str | None = "", expected: int | str | None = UNSET
) -> QueryHandoff:
    """Hand the query to ``to`` (a person's id): 404, then 403, then 400, then 409.

    ``expected`` is the holder the caller saw (an id, or ``None`` for nobody): when the
    claim has moved since, the answer is 409 with who holds it now, never a hand-off the
    caller did not mean. Someone who says they hold it and no longer does gets that 409
    too, rather than a 403.
    """
    now = timezone.now()
    with transaction.atomic():
        query = query_get_for_user(user=user, id=query_id, related=False)  # 404 for what they may not see
        status = query.status_at(now)
        holder = query.claimed_by_id if status == QueryStatus.CLAIMED else None
        said_held = not isinstance(expected, _Unset) and str(expected) == str(user.pk)
        refusal = policy.query_hand_off(user, query, now)
        if refusal is not None and not refusal.conflict and said_held:
            raise _changed(query, now)
        enforce(refusal, conflicts=False)
        target = _target(to, query=query)
        clean_note = _clean_note(note)
        if not isinstance(expected, _Unset) and _clean_expected(expected) != holder:
            raise _changed(query, now)
        enforce(refusal)
        if status == QueryStatus.CLAIMED and query.claimed_by_id == target.pk:
            raise Conflict(f"{target.name} already holds this query.", claimed_by=target.pk)
        cap = max_open_claims()
        if _live_claims_locked(user=target, now=now, excluding=query.pk) >= cap:
            raise Conflict(f"{target.name} already holds {cap} claims; choose someone else.", limit=cap)
        until = now + claim_lease()
        moved = (
            Query.objects.filter(pk=query.pk, state=QueryState.OPEN)
            .filter(_still_as_read(query, status=status, now=now))
            .update(claimed_by=target, claimed_at=now, claimed_until=until)
        )
        if not moved:
            raise _changed(query, now)
        handoff = QueryHandoff.objects.create(
            query=query,
            from_user_id=holder,
            to_user=target,
            by_user=user,
            note=clean_note,
            created_at=now,
        )
        notify(
            user_ids=[target.pk],
            kind="engage.query_handoff",
            title=f"{user.name} handed you a query",
            body=clean_note or query.text[:280],
            url=f"/queries/{query.pk}/",
            dedupe_key=f"query-handoff:{handoff.pk}",
        )
    return handoff


def handoff_candidates(*, query: Query, excluding: list[int | None]) -> list[User]:
    """Colleagues who can see ``query`` (each checked by the visibility rule), by name."""
    people: QuerySet[User] = User.objects.filter(is_active=True).exclude(pk__in=[pk for pk in excluding if pk])
    if query.department_id is not None:
        sees_all_roles = [RoleName.REVIEWER, RoleName.EXECUTIVE, RoleName.ADMIN]
        people = people.filter(Q(department_id=query.department_id) | Q(roles__slug__in=sees_all_roles))
    people = people.distinct().select_related("department").prefetch_related("roles").order_by("name", "id")
    return [person for person in people[:MAX_CANDIDATES] if can_see_query(person, query)]


def handoffs_of(*, query: Query) -> QuerySet[QueryHandoff]:
    return QueryHandoff.objects.filter(query=query).select_related("from_user", "to_user", "by_user")
