"""Answers and their review: drafts, submission, approval, rejection and publishing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from accounts.notifications import notify
from config import jobs
from config.errors import ServiceError
from config.markdown import render_markdown
from config.policy import enforce
from content.models import Message
from content.selectors import messages_visible_to
from engage import participation, policy, statements, threads
from engage.models import (
    Answer,
    AnswerStatus,
    DeliveryKind,
    Query,
    QueryDraft,
    QueryState,
    RevisionOutcome,
)
from engage.selectors import (
    answer_get_for_user,
    query_get_for_user,
    visibility_scope,
)
from engage.services.common import (
    MAX_ANSWER_LENGTH,
    MAX_MESSAGES_PER_ANSWER,
    REVIEW_COMMENT_MAX,
    claim_lease,
    query_url,
    reviewer_ids,
)
from engage.services.delivery import answer_payload_byline, delivery_create_for_answer
from engage.services.receipt import latest_customer_message


def clean_message_ids(message_ids: Any, *, user: User) -> list[int]:
    """The approved messages an answer may cite: ones the person can see."""
    if message_ids is None:
        return []
    if not isinstance(message_ids, list) or not all(
        isinstance(item, int) and not isinstance(item, bool) for item in message_ids
    ):
        raise ServiceError("message_ids must be a list of message ids.", field="message_ids")
    ids = list(dict.fromkeys(message_ids))
    if len(ids) > MAX_MESSAGES_PER_ANSWER:
        raise ServiceError(f"An answer uses at most {MAX_MESSAGES_PER_ANSWER} messages.", field="message_ids")
    if ids:
        known = set(messages_visible_to(user=user).filter(pk__in=ids).values_list("pk", flat=True))
        unknown = [item for item in ids if item not in known]
        if unknown:
            raise ServiceError(f"No such messages: {unknown}", field="message_ids")
    return ids


def user_is_responder(*, user: User, at: datetime | None = None) -> bool:
    """Whether ``user`` holds a valid certification granting ``responder`` (training)."""
    from training.selectors import user_holds_privilege

    return user_holds_privilege(user=user, privilege="responder", at=at)


def _clean_body(body: Any) -> str:
    if not isinstance(body, str) or not body.strip():
        raise ServiceError("The answer cannot be empty.", field="body")
    if len(body) > MAX_ANSWER_LENGTH:
        raise ServiceError(f"An answer is at most {MAX_ANSWER_LENGTH} characters.", field="body")
    return body.strip()


def _publish(*, query: Query, answer: Answer, now: datetime, message_ids: list[int] | None = None) -> None:
    """Publish ``answer`` and mark ``query`` answered. Call holding both row locks.

    ``message_ids``, when given, replaces the messages the answer used.
    """
    is_new = answer.pk is None
    answer.status = AnswerStatus.PUBLISHED
    answer.published_at = now
    answer.turn = query.turn
    answer.in_reply_to = latest_customer_message(query=query)
    answer.save()
    if message_ids is not None and (message_ids or not is_new):
        answer.messages.set(message_ids)
    used = message_ids if message_ids is not None else list(answer.messages.values_list("pk", flat=True))
    query.state = QueryState.ANSWERED
    query.answered_at = query.answered_at or now  # the first published answer's time, kept
    query.claimed_until = None
    query.save(update_fields=["state", "answered_at", "claimed_until"])
    participation.record(
        participation.answer_published(
            answer_id=answer.pk,
            author=answer.author,
            author_department_id=answer.author_department_id,
            published_at=now,
            query_id=query.pk,
            query_department_id=query.department_id,
            message_ids=used,
        )
    )
    delivery_create_for_answer(query=query, answer=answer)


def _answer_publish_one_statement(*, user: User, query_id: int, body: str) -> Answer | None:
    """:func:`answer_submit` on PostgreSQL for a certified responder's new answer (no messages,
    no answer sent back by a reviewer): one statement checks and publishes.

    ``None`` when the answer is not that case (not a responder now, a returned draft to reuse,
    or a body to refuse: the general way then answers in its order, 404, 400, 409).
    """
    if not isinstance(body, str) or not body.strip() or len(body) > MAX_ANSWER_LENGTH:
        return None
    body = body.strip()
    now = timezone.now()
    answer = Answer(
        query_id=query_id, author=user, author_department_id=user.department_id, body=body,
        body_html=render_markdown(body), status=AnswerStatus.PUBLISHED, created_at=now, submitted_at=now,
        published_at=now,
    )  # fmt: skip
    event = participation.event_fields(
        participation.answer_published(
            answer_id=0, author=user, author_department_id=user.department_id, published_at=now,
            query_id=query_id, query_department_id=None, message_ids=[],
        )  # the answer's id (its key) and the query's department are filled in by the statement
    )  # fmt: skip
    # The ids and the text are filled in by the statement.
    delivery = {
        "kind": DeliveryKind.ANSWER, "query_id": query_id, "next_attempt_at": now,
        "payload": answer_payload_byline(answer),
    }  # fmt: skip
    job = jobs.outbox_row("engage.deliver")
    # Its first (and only) revision, kept as every submission is (engage.threads): the
    # statement takes its answer, author, text and time from the new answer row.
    revision = {"number": 1, "message_ids": [], "outcome": RevisionOutcome.PUBLISHED}
    published = statements.publish(
        scope=visibility_scope(user), answer=answer, event=event, delivery=delivery, job=job, revision=revision
    )
    if published.job is not None:
        jobs.hand_over(published.job)
        # What the API answers with, known already: no messages, the author is the caller. The
        # messages as an evaluated empty result, so listing them compiles no statement.
        no_messages = Message.objects.none()
        no_messages._result_cache, no_messages._prefetch_done = [], True  # type: ignore[attr-defined]
        answer._prefetched_objects_cache = {"messages": no_messages}  # type: ignore[attr-defined]
        return answer
    if not published.visible:
        raise Http404("No such query")
    seen = Query(pk=query_id, state=published.state or "", claimed_by_id=published.claimed_by_id,
                 claimed_until=published.claimed_until)  # fmt: skip
    enforce(policy.answer_submit(user, seen, now))
    return None  # not a responder now, or a returned draft: the general way


def answer_submit(*, user: User, query_id: int, body: str, message_ids: list[int] | None = None) -> Answer:
    """Answer a query you hold a live claim on.

    Published at once when the author holds a valid responder certification, else sent
    to review (the author keeps the query; no lease runs out while it waits).
    """
    if connection.vendor == "postgresql" and not message_ids:
        published = _answer_publish_one_statement(user=user, query_id=query_id, body=body)
        if published is not None:
            return published
    responder = user_is_responder(user=user)
    with transaction.atomic():
        query = query_get_for_user(user=user, id=query_id, lock=True, related=False)
        body = _clean_body(body)
        ids = clean_message_ids(message_ids, user=user)
        now = timezone.now()
        enforce(policy.answer_submit(user, query, now))
        answer = (
            Answer.objects.select_for_update()
            .filter(query=query, author=user, status=AnswerStatus.DRAFT)
            .order_by("-created_at")
            .first()
        ) or Answer(query=query, author=user, created_at=now)
        answer.author_department_id = user.department_id
        answer.body = body
        answer.body_html = render_markdown(body)
        answer.submitted_at = now
        if responder:
            _publish(query=query, answer=answer, now=now, message_ids=ids)
            threads.revision_record(answer=answer, message_ids=ids, outcome=RevisionOutcome.PUBLISHED, at=now)
        else:
            is_new = answer.pk is None
            answer.status = AnswerStatus.PENDING_REVIEW
            answer.save()
            if ids or not is_new:
                answer.messages.set(ids)
            threads.revision_record(answer=answer, message_ids=ids, outcome=RevisionOutcome.PENDING, at=now)
            query.state = QueryState.PENDING_REVIEW
            query.claimed_until = None
            query.save(update_fields=["state", "claimed_until"])
            notify(
                user_ids=reviewer_ids(department_id=query.department_id, excluding=user.pk),
                kind="engage.answer_review",
                title="An answer awaits review",
                body=f"{user.name} answered: {query.text[:200]}",
                url=query_url(query.pk),
                dedupe_key=f"answer-review:{answer.pk}:{now.isoformat()}",
            )
        QueryDraft.objects.filter(query=query, author=user).delete()
    return answer


def _review_locks(*, user: User, answer_id: int, comment: str | None = None) -> tuple[Query, Answer]:
    """Check that ``user`` may review the answer (:func:`engage.policy.answer_review`: the
    person, then, for a rejection, its ``comment``), lock its query and the answer, then
    check the answer still awaits review."""
    answer = answer_get_for_user(user=user, id=answer_id)
    enforce(policy.answer_review(user, answer), conflicts=False)
    if comment is not None and (not isinstance(comment, str) or not comment.strip()):
        raise ServiceError("Say what should change.", field="comment")
    if comment is not None and len(comment.strip()) > REVIEW_COMMENT_MAX:
        raise ServiceError(f"A comment is at most {REVIEW_COMMENT_MAX:,} characters.", field="comment")
    query = Query.objects.select_for_update().get(pk=answer.query_id)
    answer = Answer.objects.select_for_update().select_related("author").get(pk=answer.pk)
    enforce(policy.answer_review(user, answer))
    return query, answer


def _record_review(*, reviewer: User, answer: Answer, outcome: str, now: datetime) -> None:
    participation.record(
        participation.answer_reviewed(
            answer_id=answer.pk,
            reviewer=reviewer,
            reviewed_at=now,
            outcome=outcome,
            author_id=answer.author_id,
            submitted_at=answer.submitted_at,
        )
    )


def answer_approve(*, user: User, answer_id: int) -> Answer:
    """A reviewer (never the author) publishes an answer awaiting review."""
    with transaction.atomic():
        query, answer = _review_locks(user=user, answer_id=answer_id)
        now = timezone.now()
        answer.reviewed_by = user
        answer.reviewed_at = now
        answer.review_comment = ""
        _publish(query=query, answer=answer, now=now)
        threads.revision_decide(answer=answer, outcome=RevisionOutcome.APPROVED, reviewer=user, comment="", at=now)
        _record_review(reviewer=user, answer=answer, outcome="approved", now=now)
        notify(
            user_ids=[answer.author_id],
            kind="engage.answer_reviewed",
            title="Your answer was approved and published",
            url=query_url(query.pk),
            dedupe_key=f"answer-approved:{answer.pk}",
        )
    return answer


def answer_reject(*, user: User, answer_id: int, comment: str) -> Answer:
    """A reviewer sends an answer back to its author with a comment; the author's claim is renewed."""
    with transaction.atomic():
        query, answer = _review_locks(user=user, answer_id=answer_id, comment=comment)
        now = timezone.now()
        answer.status = AnswerStatus.DRAFT
        answer.review_comment = comment.strip()
        answer.reviewed_by = user
        answer.reviewed_at = now
        answer.save(update_fields=["status", "review_comment", "reviewed_by", "reviewed_at"])
        threads.revision_decide(
            answer=answer, outcome=RevisionOutcome.REJECTED, reviewer=user, comment=answer.review_comment, at=now
        )
        query.state = QueryState.OPEN
        query.claimed_by_id = answer.author_id
        query.claimed_at = now
        query.claimed_until = now + claim_lease()
        query.save(update_fields=["state", "claimed_by", "claimed_at", "claimed_until"])
        _record_review(reviewer=user, answer=answer, outcome="rejected", now=now)
        notify(
            user_ids=[answer.author_id],
            kind="engage.answer_reviewed",
            title="Your answer came back with a comment",
            body=answer.review_comment,
            url=query_url(query.pk),
            dedupe_key=f"answer-rejected:{answer.pk}:{now.isoformat()}",
        )
    return answer
