"""Conversations (issue 13): a query's thread of customer messages, published answers and
internal notes — its writes and its reads, kept out of ``engage.services``.

- **Follow-ups.** A webhook body with a thread key (``thread_id``: the external id that
  started the thread, as every outbound delivery carries it; or ``in_reply_to``: any earlier
  message's external id) joins the query it names. On an ``answered`` query it opens the
  next *turn*: the query is ``open`` again, back in its department's queue with a response
  target counted from the follow-up. On an ``open``, ``claimed`` or ``pending_review`` one it
  is added to the current turn; on a ``closed`` one it is kept on the thread and the query
  stays closed. A key naming nothing this channel sent makes a new query, as without a key.
  ``(channel, external_id)`` is unique over first messages and follow-ups, so a redelivery
  is stored once however it races.
- **Revisions.** Each submission of an answer is an :class:`~engage.models.AnswerRevision`
  and carries its review decision, so a text sent back and its comment are never lost.
- **Notes.** Internal notes with ``@mentions``: only people who may see the query can be
  mentioned; each is told in the app and by mail, by their preferences.

Every write locks the query's row first, as publishing an answer does, so a follow-up and
an answer published at the same moment are ordered: the follow-up either joins the turn the
answer answers, or arrives after it and re-opens the query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from accounts.models import User
from accounts.notifications import notify
from config.errors import ServiceError
from config.markdown import render_markdown
from config.policy import enforce
from engage import policy
from engage.models import (
    RESPONSE_TARGETS,
    Answer,
    AnswerRevision,
    AnswerStatus,
    Channel,
    CustomerMessage,
    Priority,
    Query,
    QueryNote,
    QueryState,
    RevisionOutcome,
)
from engage.selectors import QueryPage, queries_visible_to, query_get_for_user

MAX_NOTE_LENGTH = 5_000
MAX_MENTIONS = 20


def first_message(*, query: Query) -> CustomerMessage:
    """A query's first message, unsaved: the query's own text, as received."""
    return CustomerMessage(
        query=query,
        channel_id=query.channel_id,
        external_id=query.external_id,
        text=query.text,
        author_handle=query.author_handle,
        author_name=query.author_name,
        url=query.url,
        sender_created_at=query.sender_created_at,
        received_at=query.received_at,
        turn=1,
    )


def _query_url(query_id: int) -> str:
    return f"/queries/{query_id}/"


# --- Follow-ups --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FollowUp:
    query_id: int
    message_id: int
    created: bool  # False: a redelivery of a message already stored
    reopened: bool


def _thread_query_id(*, channel: Channel, thread_id: str, in_reply_to: str) -> int | None:
    """The query a thread key names on this channel, or ``None``."""
    if thread_id:
        found = Query.objects.filter(channel=channel, external_id=thread_id).values_list("pk", flat=True).first()
        if found is not None:
            return found
    if in_reply_to:
        return (
            CustomerMessage.objects.filter(channel=channel, external_id=in_reply_to)
            .values_list("query_id", flat=True)
            .first()
        )
    return None


def followup_receive(*, channel: Channel, inbound: Any, received_at: datetime | None = None) -> FollowUp | None:
    """Join a follow-up (an :class:`engage.services.Inbound` with a thread key) to its query.

    ``None`` when the key names no query of this channel: the caller then stores it as a
    new query. A redelivery — the same external id, first message or follow-up — answers
    the stored message and writes nothing.
    """
    received_at = received_at or timezone.now()
    query_id = _thread_query_id(channel=channel, thread_id=inbound.thread_id, in_reply_to=inbound.in_reply_to)
    if query_id is None:
        stored = _stored(channel=channel, external_id=inbound.external_id)
        return stored  # a redelivery of a message whose thread is gone, or a new query (None)
    try:
        with transaction.atomic():
            return _followup_locked(channel=channel, inbound=inbound, query_id=query_id, received_at=received_at)
    except IntegrityError:
        # The same external id committed meanwhile on another thread (the row lock here only
        # orders deliveries naming the same query): that message is the one stored.
        stored = _stored(channel=channel, external_id=inbound.external_id)
        if stored is None:
            raise
        return stored


def _stored(*, channel: Channel, external_id: str) -> FollowUp | None:
    row = CustomerMessage.objects.filter(channel=channel, external_id=external_id).values_list("query_id", "pk").first()
    if row is None:
        return None
    return FollowUp(query_id=row[0], message_id=row[1], created=False, reopened=False)


def _followup_locked(*, channel: Channel, inbound: Any, query_id: int, received_at: datetime) -> FollowUp:
    query = Query.objects.select_for_update().get(pk=query_id)
    # Read after the lock: a duplicate delivered at the same moment has committed by now.
    stored = _stored(channel=channel, external_id=inbound.external_id)
    if stored is not None:
        return stored
    reopened = query.state == QueryState.ANSWERED
    if reopened:
        _reopen(query=query, priority=inbound.priority, at=received_at)
    message = CustomerMessage.objects.create(
        query=query,
        channel=channel,
        **inbound.message_fields(),
        received_at=received_at,
        turn=query.turn,
    )
    # On the row, so that an answer being published (its statement waits on this lock) replies to it.
    query.latest_message = message
    query.latest_external_id = message.external_id
    query.save(update_fields=["latest_message", "latest_external_id"])
    _tell_followup(query=query, message=message, reopened=reopened)
    return FollowUp(query_id=query.pk, message_id=message.pk, created=True, reopened=reopened)


def _reopen(*, query: Query, priority: str, at: datetime) -> None:
    """An answered query the customer wrote again on: open, the next turn, a new target.

    The first response target stays in ``first_sla_due_at`` and ``answered_at`` keeps the
    first answer's time: the phase metrics count the query once, by its first answer.
    """
    target = RESPONSE_TARGETS[Priority(query.priority)]
    if priority in Priority.values and priority != Priority.NORMAL:
        # A follow-up the channel marked (say, urgent) takes its own target and priority.
        query.priority = priority
        target = RESPONSE_TARGETS[Priority(priority)]
    query.first_sla_due_at = query.first_sla_due_at or query.sla_due_at
    query.sla_due_at = at + target
    query.sla_breached_at = None
    query.state = QueryState.OPEN
    query.turn += 1
    query.reopened_at = at
    query.claimed_by = None
    query.claimed_at = None
    query.claimed_until = None
    query.save(
        update_fields=[
            "priority",
            "first_sla_due_at",
            "sla_due_at",
            "sla_breached_at",
            "state",
            "turn",
            "reopened_at",
            "claimed_by",
            "claimed_at",
            "claimed_until",
        ]
    )


def _tell_followup(*, query: Query, message: CustomerMessage, reopened: bool) -> None:
    """The department (re-opened) or the holder (still being worked) hears of it."""
    if reopened:
        if query.department_id is None:
            return
        recipients = list(
            User.objects.filter(department_id=query.department_id, is_active=True).values_list("pk", flat=True)
        )
        title = "A customer followed up on an answered query"
    elif query.claimed_by_id is not None and query.state in (QueryState.OPEN, QueryState.PENDING_REVIEW):
        recipients = [query.claimed_by_id]
        title = "The customer wrote again on a query you hold"
    else:
        return
    notify(
        user_ids=recipients,
        kind="engage.query_followed_up",
        title=title,
        body=message.text[:280],
        url=_query_url(query.pk),
        dedupe_key=f"query-followed-up:{message.pk}",
    )


# --- The thread, read --------------------------------------------------------------------------


@dataclass(frozen=True)
class ThreadEntry:
    """One item of a thread, in time order: ``kind`` is ``message``, ``answer`` or ``note``."""

    kind: str
    at: datetime
    item: Any


def published_answers(query: Query) -> QuerySet[Answer]:
    return (
        Answer.objects.filter(query=query, status=AnswerStatus.PUBLISHED)
        .select_related("author", "in_reply_to", "reviewed_by")
        .order_by("published_at", "id")
    )


def notes_of(query: Query) -> QuerySet[QueryNote]:
    return (
        QueryNote.objects.filter(query=query)
        .select_related("author")
        .prefetch_related(Prefetch("mentions", queryset=User.objects.only("id", "name", "email")))
        .order_by("created_at", "id")
    )


def thread_of(
    *, user: User, query: Query, answers: list[Answer] | None = None, page: QueryPage | None = None
) -> list[ThreadEntry]:
    """The thread of a query ``user`` may see (the caller fetched it with ``…_get_for_user``):
    the customer's messages, the published answers and the notes, oldest first.

    Four queries however long the thread (messages, answers, notes, the notes' mentions).
    Notes are for employees who can see the query, which ``user`` can. ``answers``: the
    query's answers the caller already read (:func:`engage.selectors.answers_of_query`, which
    holds every published answer of a query the person sees); its published ones are the
    thread's, instead of reading them again. ``page``: the query as its page read it
    (:func:`engage.selectors.query_page_for_user`): the follow-ups and notes are read only if
    it has some.
    """
    if page is not None and not page.has_followups:
        messages = []  # the first message alone: the query's own text
    else:
        messages = list(CustomerMessage.objects.filter(query=query).order_by("received_at", "id"))
    if not messages:  # a query written without the service (never through the webhook)
        messages = [first_message(query=query)]
    entries = [ThreadEntry("message", m.received_at, m) for m in messages]
    if answers is None:
        published = list(published_answers(query))
    else:
        published = [a for a in answers if a.status == AnswerStatus.PUBLISHED]
    entries += [ThreadEntry("answer", a.published_at or a.created_at, a) for a in published]
    notes = notes_of(query) if page is None or page.has_notes else []
    entries += [ThreadEntry("note", n.created_at, n) for n in notes]
    order = {"message": 0, "answer": 1, "note": 2}
    return sorted(entries, key=lambda e: (e.at, order[e.kind], e.item.pk or 0))


# --- Revisions and review decisions --------------------------------------------------------------


def revision_record(*, answer: Answer, message_ids: list[int], outcome: str, at: datetime) -> AnswerRevision:
    """Keep what was just submitted as the answer's next revision. Call holding the answer's
    query lock (the numbers of one answer are then taken one at a time)."""
    last = AnswerRevision.objects.filter(answer=answer).order_by("-number").values_list("number", flat=True).first()
    return AnswerRevision.objects.create(
        answer=answer,
        number=(last or 0) + 1,
        author_id=answer.author_id,
        body=answer.body,
        body_html=answer.body_html,
        message_ids=list(message_ids),
        submitted_at=at,
        outcome=outcome,
    )


def revision_decide(*, answer: Answer, outcome: str, reviewer: User, comment: str, at: datetime) -> None:
    """Write the review decision on the answer's revision awaiting it."""
    AnswerRevision.objects.filter(answer=answer, outcome=RevisionOutcome.PENDING).update(
        outcome=outcome, reviewed_by=reviewer, reviewed_at=at, comment=comment
    )


def revisions_withdraw(*, query: Query) -> None:
    AnswerRevision.objects.filter(answer__query=query, outcome=RevisionOutcome.PENDING).update(
        outcome=RevisionOutcome.WITHDRAWN
    )


def revisions_of(answer: Answer) -> QuerySet[AnswerRevision]:
    return AnswerRevision.objects.filter(answer=answer).order_by("number")


def _revisions_author(user: User) -> int | None:
    """Whose answers' revisions ``user`` sees: everyone's (``None``) for a reviewer, else their own."""
    return None if policy.sees_every_revision(user) else user.pk  # their own: policy.answer_revisions_see


def revisions_visible_to(*, user: User, query: Query, answers: list[Answer] | None = None) -> list[AnswerRevision]:
    """Every revision of the query's answers, to their authors and to reviewers (oldest first).

    ``answers``: the query's answers the caller already read (:func:`engage.selectors.answers_of_query`:
    a reviewer's hold every answer, anyone's hold their own), so a revision the person sees
    belongs to one of them; when none could have one, nothing is read.
    """
    author = _revisions_author(user)
    revisions = AnswerRevision.objects.filter(answer__query=query)
    if author is not None:
        revisions = revisions.filter(answer__author_id=author)
    if answers is not None:
        ids = [a.pk for a in answers if author is None or a.author_id == author]
        if not ids:
            return []
        revisions = revisions.filter(answer_id__in=ids)
    revisions = revisions.select_related("author", "reviewed_by")
    return list(revisions.order_by("answer__created_at", "answer_id", "number"))


# --- Notes and mentions --------------------------------------------------------------------------

MENTION = re.compile(r"(?<![\w@.])@([\w.+-]+@[\w-]+(?:\.[\w-]+)+|[\w.-]+)")


def _mention_candidates(body: str) -> list[str]:
    return list(dict.fromkeys(name.rstrip(".").lower() for name in MENTION.findall(body)))


def _mentioned(*, body: str, query: Query) -> list[User]:
    """The people ``@``-named in ``body`` (by email, or by the part of it before the ``@``);
    a 400 naming ``body`` for a name that is unknown or ambiguous, or a person who may not see
    the query (the visibility rule, :func:`engage.selectors.queries_visible_to`, asked for them)."""
    names = _mention_candidates(body)
    if not names:
        return []
    if len(names) > MAX_MENTIONS:
        raise ServiceError(f"A note mentions at most {MAX_MENTIONS} people.", field="body")
    found: list[User] = []
    problems: list[str] = []
    for name in names:
        if "@" in name:
            matches = list(User.objects.filter(email__iexact=name, is_active=True))
        else:
            matches = list(User.objects.filter(email__istartswith=f"{name}@", is_active=True))
        if not matches:
            problems.append(f"@{name} names nobody here")
            continue
        if len(matches) > 1:
            problems.append(f"@{name} names more than one person; use their email")
            continue
        person = matches[0]
        if not queries_visible_to(person).filter(pk=query.pk).exists():
            problems.append(f"{person.name} (@{name}) cannot see this query")
            continue
        found.append(person)
    if problems:
        raise ServiceError("Only people who can see this query can be mentioned: " + "; ".join(problems) + ".",
                           field="body")  # fmt: skip
    return list({p.pk: p for p in found}.values())


def note_add(*, user: User, query_id: int, body: str) -> QueryNote:
    """An internal note on a query the person can see; ``@mentions`` are told."""
    with transaction.atomic():
        query = query_get_for_user(user=user, id=query_id, lock=True, related=False)  # 404 first
        enforce(policy.note_add(user, query, timezone.now()))
        if not isinstance(body, str) or not body.strip():
            raise ServiceError("A note cannot be empty.", field="body")
        if len(body) > MAX_NOTE_LENGTH:
            raise ServiceError(f"A note is at most {MAX_NOTE_LENGTH} characters.", field="body")
        body = body.strip()
        mentioned = [p for p in _mentioned(body=body, query=query) if p.pk != user.pk]
        note = QueryNote.objects.create(
            query=query, author=user, body=body, body_html=render_markdown(body), created_at=timezone.now()
        )
        if mentioned:
            note.mentions.set([p.pk for p in mentioned])
            notify(
                user_ids=[p.pk for p in mentioned],
                kind="engage.note_mention",
                title=f"{user.name} mentioned you in a note",
                body=body[:280],
                url=f"{_query_url(query.pk)}#note-{note.pk}",
                dedupe_key=f"note-mention:{note.pk}",
            )
    return note


def page_context(
    *, user: User, query: Query, answers: list[Answer] | None = None, page: QueryPage | None = None
) -> dict[str, Any]:
    """What the query page shows of the conversation: the thread after its first message, and
    the answers' revisions for their authors and reviewers (a constant number of queries).
    ``answers`` and ``page``: what the page already read (see :func:`thread_of`)."""
    entries = thread_of(user=user, query=query, answers=answers, page=page)
    return {
        "thread_rest": entries[1:],
        "revisions": revisions_visible_to(user=user, query=query, answers=answers),
    }
