"""Who may do what to engage's queries, answers and insights (see :mod:`config.policy`).

Pure functions of the person, the object and the time: ``None`` when allowed, else a
:class:`~config.policy.Refusal` (403 when the person may not, 409 when the state forbids).
Seeing the object is the selectors' business (``…_get_for_user``, 404) and comes first;
each function here assumes the person can see what it is given. ``engage.services``,
``engage.handoff`` and ``engage.threads`` enforce them; the query page and the API read
them to decide which actions to offer.

Each function checks in the order the services answer: a state in which nobody may act
(answered, closed) first, then the person, then the state the action needs. So a refusal
that is not a conflict always means "not this person", and a service can enforce the
person's refusal before it validates input and the state's after (API.md's order).
"""

from __future__ import annotations

from datetime import datetime

from accounts.models import DepartmentKind, RoleName, User
from config.policy import Refusal, is_own_work
from engage.models import Answer, AnswerStatus, Insight, Query, QueryState, QueryStatus

NOT_REVIEWER = Refusal("Only reviewers review answers.")


def _words(status: str) -> str:
    return status.replace("_", " ")


def _in_state(status: str) -> Refusal:
    return Refusal(f"This query is {_words(status)}.", conflict=True, details=(("status", status),))


def is_reviewer(user: User) -> bool:
    """Reviewers decide answers and may act on any query they see (escalate, close, hand off)."""
    return user.has_role(RoleName.REVIEWER)


def _holder_or_reviewer(user: User, query: Query, now: datetime, action: str) -> Refusal | None:
    if query.holds_live_claim(user.pk, now) or is_reviewer(user):
        return None
    return Refusal(f"Only the person holding this query or a reviewer can {action}.")


# --- Claims ------------------------------------------------------------------------------------


def query_claim(user: User, query: Query, now: datetime) -> Refusal | None:
    """Anyone who can see an open query claims it; its holder renews the claim.

    (The cap on a person's live claims is counted under their row lock by the service.)
    """
    status = query.status_at(now)
    if status == QueryStatus.OPEN or query.holds_live_claim(user.pk, now):
        return None
    if status == QueryStatus.CLAIMED:
        return Refusal(
            "Someone else holds this query.",
            conflict=True,
            details=(("claimed_by", query.claimed_by_id), ("claimed_until", query.claimed_until)),
        )
    return _in_state(status)


def query_release(user: User, query: Query, now: datetime) -> Refusal | None:
    """Only the holder of a live claim gives it up."""
    if query.holds_live_claim(user.pk, now):
        return None
    return Refusal("You do not hold this query.", conflict=True)


def query_draft_save(user: User, query: Query, now: datetime) -> Refusal | None:
    """Anyone who can see an open query keeps an unsent answer of their own on it."""
    if query.state == QueryState.OPEN:
        return None
    return Refusal(f"This query is {_words(query.status_at(now))}.", conflict=True)


def query_hand_off(user: User, query: Query, now: datetime) -> Refusal | None:
    """The holder or a reviewer hands an open or claimed query to a colleague."""
    refusal = _holder_or_reviewer(user, query, now, "hand it over")
    if refusal is not None:
        return refusal
    status = query.status_at(now)
    if status not in (QueryStatus.OPEN, QueryStatus.CLAIMED):
        return _in_state(status)
    return None


# --- Answers -------------------------------------------------------------------------------------


def answer_submit(user: User, query: Query, now: datetime) -> Refusal | None:
    """The holder of a live claim answers (published at once or sent to review: the service decides)."""
    if query.holds_live_claim(user.pk, now):
        return None
    status = query.status_at(now)
    if status in (QueryStatus.OPEN, QueryStatus.CLAIMED):
        return Refusal(
            "You need a live claim on this query to answer it.", conflict=True, details=(("status", status),)
        )
    return _in_state(status)


def answer_review(user: User, answer: Answer) -> Refusal | None:
    """A reviewer who did not write it approves or rejects an answer awaiting review."""
    if not is_reviewer(user):
        return NOT_REVIEWER
    if is_own_work(user.pk, answer.author_id):
        return Refusal("You cannot review your own answer.")
    if answer.status != AnswerStatus.PENDING_REVIEW:
        return Refusal(
            f"This answer is {_words(answer.status)}, not awaiting review.",
            conflict=True,
            details=(("status", answer.status),),
        )
    return None


def answer_is_own(user: User, answer: Answer) -> bool:
    """Whether the answer is the person's own work (which they never review)."""
    return is_own_work(user.pk, answer.author_id)


def answer_revisions_see(user: User, answer: Answer) -> Refusal | None:
    """An answer's revisions are for its author and for reviewers."""
    if is_own_work(user.pk, answer.author_id) or is_reviewer(user):
        return None
    return Refusal("Only the answer's author and reviewers see its revisions.")


def sees_every_revision(user: User) -> bool:
    """Reviewers see every answer's revisions; others only their own answers' (:func:`answer_revisions_see`)."""
    return is_reviewer(user)


# --- Escalating and closing ----------------------------------------------------------------------


def query_escalate(user: User, query: Query, now: datetime) -> Refusal | None:
    """The holder or a reviewer sends an open query to another department."""
    if query.state in (QueryState.ANSWERED, QueryState.CLOSED):  # nobody can: a state conflict
        return _in_state(query.state)
    refusal = _holder_or_reviewer(user, query, now, "escalate it")
    if refusal is not None:
        return refusal
    if query.state != QueryState.OPEN:
        return _in_state(query.status_at(now))
    return None


def query_close(user: User, query: Query, now: datetime) -> Refusal | None:
    """The holder or a reviewer closes an open query; only a reviewer one whose answer awaits review."""
    if query.state in (QueryState.ANSWERED, QueryState.CLOSED):  # nobody can: a state conflict
        return _in_state(query.state)
    refusal = _holder_or_reviewer(user, query, now, "close it")
    if refusal is not None:
        return refusal
    if query.state == QueryState.PENDING_REVIEW and not is_reviewer(user):
        return Refusal("Only a reviewer can close a query whose answer awaits review.")
    if query.state not in (QueryState.OPEN, QueryState.PENDING_REVIEW):
        return _in_state(query.state)
    return None


# --- Notes ---------------------------------------------------------------------------------------


def note_add(user: User, query: Query, now: datetime) -> Refusal | None:
    """Anyone who can see a query adds an internal note to it, in every state (a closed query's
    thread is still where colleagues talk about it)."""
    return None


# --- Insights ------------------------------------------------------------------------------------


def insight_move(user: User, insight: Insight | None = None) -> Refusal | None:
    """Members of a product department and admins move an insight's status (any insight)."""
    if user.has_role(RoleName.ADMIN):
        return None
    department = user.department
    if department is not None and department.kind == DepartmentKind.PRODUCT:
        return None
    return Refusal("Only members of a product department move insights.")
