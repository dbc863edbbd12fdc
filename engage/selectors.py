"""Reads for community queries, answers, insights and deliveries.

Access is decided here and only here: ``queries_visible_to`` is the rule of API.md
(employees see their department's queries and unrouted ones; reviewers, executives and
admins see all), and every ``<thing>_get_for_user`` raises ``Http404`` for what the
person may not see. Status is read "as of the moment" (see ``engage.models.query_status``).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import JSONObject
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import Department, RoleName, Topic, User
from config.errors import ServiceError
from config.queries import one_or_404
from engage import policy, statements
from engage.models import (
    Answer,
    AnswerStatus,
    Channel,
    CustomerMessage,
    Delivery,
    Insight,
    InsightStatusChange,
    Query,
    QueryDraft,
    QueryHandoff,
    QueryNote,
    QueryState,
    QueryStatus,
    query_status,
)


def sees_all_queries(user: User) -> bool:
    return user.has_role(RoleName.REVIEWER, RoleName.EXECUTIVE)


# --- Queries -----------------------------------------------------------------------------------


def visibility_scope(user: User) -> tuple[bool, int | None]:
    """The visibility rule's inputs: ``(sees every query, own department)``.

    A person sees every query if they review or lead; otherwise their own department's and
    the unrouted ones. :func:`queries_visible_to` applies it with the ORM, and
    :data:`engage.statements.VISIBLE` in the hot paths' hand-written statements.
    """
    return sees_all_queries(user), user.department_id


def can_see_query(user: User, query: Query) -> bool:
    """Whether ``user`` sees ``query``: :func:`queries_visible_to` for one query already read."""
    sees_all, department_id = visibility_scope(user)
    return sees_all or query.department_id is None or query.department_id == department_id


def queries_visible_to(user: User) -> QuerySet[Query]:
    queries = Query.objects.all()
    sees_all, department_id = visibility_scope(user)
    if sees_all:
        return queries
    if department_id is None:
        return queries.filter(department__isnull=True)
    return queries.filter(Q(department_id=department_id) | Q(department__isnull=True))


def query_get_for_user(*, user: User, id: int, lock: bool = False, related: bool = True) -> Query:
    """The query ``id`` if ``user`` may see it, else ``Http404``.

    With ``lock`` the row is locked (``SELECT … FOR UPDATE``): call inside a transaction.
    ``related=False`` skips joining its channel and department (hot paths that need neither).
    """
    queries = queries_visible_to(user)
    if related:
        queries = queries.select_related("channel", "department")
    return one_or_404(queries, id=id, lock=lock, missing="No such query")


def query_detail_for_user(*, user: User, id: int) -> Query:
    """A query with what its page and API answer show, or ``Http404``."""
    query = with_list_relations(queries_visible_to(user)).select_related("closed_by").filter(pk=id).first()
    if query is None:
        raise Http404("No such query")
    return query


@dataclass(frozen=True)
class QueryPage:
    """What the query page reads with the query itself, in its one statement."""

    query: Query
    topics: list[Topic]
    saved_draft: QueryDraft | None  # the reader's own saved draft
    has_followups: bool  # the customer wrote more than the first message
    has_notes: bool
    has_handoffs: bool


def query_page_for_user(*, user: User, id: int) -> QueryPage:
    """:func:`query_detail_for_user` for its page, or ``Http404``, with the reader's saved draft
    and whether the thread has follow-ups, notes and hand-offs (so the page reads none of those
    it does not have): one fixed statement on PostgreSQL (:func:`engage.statements.query_page`,
    the visibility rule from :func:`visibility_scope`), the ORM's two elsewhere."""
    if connection.vendor == "postgresql":
        return _query_page_statement(user=user, id=id)
    return _query_page_orm(user=user, id=id)


def _query_page_statement(*, user: User, id: int) -> QueryPage:
    row = statements.query_page(id=id, user_id=user.pk, scope=visibility_scope(user))
    if row is None:
        raise Http404("No such query")
    topics = [Topic.from_db(None, ["id", "slug", "name"], [t["id"], t["slug"], t["name"]]) for t in row.topics]
    return _query_page(
        user=user, query=row.query, topics=topics, saved=row.saved_draft,
        flags=(row.has_followups, row.has_notes, row.has_handoffs),
    )  # fmt: skip


def _query_page_orm(*, user: User, id: int) -> QueryPage:
    drafts = QueryDraft.objects.filter(query=OuterRef("pk"), author=user)
    draft_json = JSONObject(id="id", body="body", message_ids="message_ids")
    found: Any = (
        with_list_relations(queries_visible_to(user))
        .select_related("closed_by")
        .annotate(
            saved_draft=Subquery(drafts.values(json=draft_json)[:1]),
            has_followups=Exists(CustomerMessage.objects.filter(query=OuterRef("pk"))[1:2]),
            has_notes=Exists(QueryNote.objects.filter(query=OuterRef("pk"))),
            has_handoffs=Exists(QueryHandoff.objects.filter(query=OuterRef("pk"))),
        )
        .filter(pk=id)
        .first()
    )
    if found is None:
        raise Http404("No such query")
    saved = json.loads(found.saved_draft) if isinstance(found.saved_draft, str) else found.saved_draft
    return _query_page(
        user=user, query=found, topics=list(found.topics.all()), saved=saved,
        flags=(found.has_followups, found.has_notes, found.has_handoffs),
    )  # fmt: skip


def _query_page(
    *, user: User, query: Query, topics: list[Topic], saved: dict[str, Any] | None, flags: tuple[bool, bool, bool]
) -> QueryPage:
    draft = None
    if saved is not None:
        ids = saved["message_ids"]
        ids = json.loads(ids) if isinstance(ids, str) else ids  # SQLite's json_object keeps a JSON column as text
        draft = QueryDraft(id=saved["id"], query=query, author=user, body=saved["body"], message_ids=ids)
    followups, notes, handoffs = flags
    return QueryPage(
        query=query,
        topics=topics,
        saved_draft=draft,
        has_followups=bool(followups),
        has_notes=bool(notes),
        has_handoffs=bool(handoffs),
    )


def _filter_status(queries: QuerySet[Query], status: str, now: datetime) -> QuerySet[Query]:
    live = Q(claimed_until__gt=now)
    if status == QueryStatus.OPEN:
        return queries.filter(state=QueryState.OPEN).exclude(live)
    if status == QueryStatus.CLAIMED:
        return queries.filter(live, state=QueryState.OPEN)
    if status in QueryState.values:
        return queries.filter(state=status)
    raise ServiceError(
        f"There is no query status “{status}”; choose "
        + ", ".join(f"{label.lower()} ({value})" for value, label in QueryStatus.choices)
        + ".",
        field="status",
    )


def query_list(
    *,
    user: User,
    status: str | None = None,
    department: str | None = None,
    topic: str | None = None,
    mine: bool = False,
    now: datetime | None = None,
) -> QuerySet[Query]:
    """The queue as ``user`` sees it, earliest due first (oldest and most urgent first).

    ``department`` is a slug, or ``"none"`` for unrouted queries; ``mine`` keeps the
    queries the person holds (a live claim, or their answer in review).
    """
    now = now or timezone.now()
    queries = queries_visible_to(user)
    if status:
        queries = _filter_status(queries, status, now)
    if department:
        if department == "none":
            queries = queries.filter(department__isnull=True)
        else:
            department_id = Department.objects.filter(slug=department).values_list("pk", flat=True).first()
            if department_id is None:
                raise ServiceError(
                    f"There is no department called “{department}”; choose one from the list.", field="department"
                )
            queries = queries.filter(department_id=department_id)
    if topic:
        topic_id = Topic.objects.filter(slug=topic).values_list("pk", flat=True).first()
        if topic_id is None:
            raise ServiceError(f"There is no topic called “{topic}”; choose one from the list.", field="topic")
        queries = queries.filter(topics=topic_id)
    if mine:
        queries = queries.filter(
            Q(state=QueryState.OPEN, claimed_until__gt=now) | Q(state=QueryState.PENDING_REVIEW), claimed_by=user
        )
    return with_list_relations(queries).order_by("sla_due_at", "id")


def with_list_relations(queries: QuerySet[Query]) -> QuerySet[Query]:
    """What a list row shows, in a constant number of queries."""
    return queries.select_related("channel", "department", "claimed_by").prefetch_related(
        Prefetch("topics", queryset=Topic.objects.only("id", "slug", "name"))
    )


def live_claim_count(*, user: User, now: datetime | None = None, excluding: int | None = None) -> int:
    now = now or timezone.now()
    claims = Query.objects.filter(claimed_by=user, state=QueryState.OPEN, claimed_until__gt=now)
    if excluding is not None:
        claims = claims.exclude(pk=excluding)
    return claims.count()


# What a list row reads of a query, by name: its own columns and the joined ones.
_ROW_OWN_FIELDS = (
    "external_id",
    "text",
    "author_handle",
    "author_name",
    "url",
    "sender_created_at",
    "state",
    "priority",
    "claimed_by_id",
    "claimed_until",
    "received_at",
    "sla_due_at",
    "answered_at",
    "close_reason",
    "escalated_at",
)
_ROW_FIELDS = ("id", "channel__slug", "department__slug", "claimed_by__name", *_ROW_OWN_FIELDS)


@dataclass(frozen=True)
class ShownClaim:
    status: str
    claimed_by: int | None
    claimed_until: datetime | None


def shown_claim(
    *, state: str, claimed_by_id: int | None, claimed_until: datetime | None, now: datetime | None
) -> ShownClaim:
    """A query's status as of ``now`` and the claim the API shows with it: a live claim (or,
    in review, the author); a lapsed claim reads as no claim. The queue's rows and
    ``engage.apis.QueryOutput`` both answer by it."""
    status = query_status(state=state, claimed_until=claimed_until, at=now)
    holder = claimed_by_id if status in (QueryStatus.CLAIMED, QueryStatus.PENDING_REVIEW) else None
    return ShownClaim(
        status=status, claimed_by=holder, claimed_until=claimed_until if status == QueryStatus.CLAIMED else None
    )


def _query_shape(row: dict[str, Any], *, topics: list[str], now: datetime | None) -> dict[str, Any]:
    """A queue row in the shape of ``engage.apis.QueryOutput``, built by hand: the queue is a
    measured hot path (tests/engage/test_output_rows.py holds it to the serializer)."""
    claim = shown_claim(
        state=row["state"], claimed_by_id=row["claimed_by_id"], claimed_until=row["claimed_until"], now=now
    )
    return {
        "id": row["id"],
        "channel": row["channel__slug"],
        "external_id": row["external_id"],
        "text": row["text"],
        "author": {"handle": row["author_handle"], "name": row["author_name"]},
        "url": row["url"],
        "created_at": row["sender_created_at"],
        "status": claim.status,
        "priority": row["priority"],
        "department": row["department__slug"],
        "topics": topics,
        "claimed_by": claim.claimed_by,
        "claimed_by_name": row["claimed_by__name"] if claim.claimed_by else None,
        "claimed_until": claim.claimed_until,
        "received_at": row["received_at"],
        "sla_due_at": row["sla_due_at"],
        "answered_at": row["answered_at"],
        "close_reason": row["close_reason"] or None,
        "escalated_at": row["escalated_at"],
    }


# --- Keyset pagination of the queue ------------------------------------------------------------


@dataclass(frozen=True)
class QueuePage:
    results: list[Query]
    next_cursor: str | None


def _encode_cursor(query: Query) -> str:
    raw = json.dumps([query.sla_due_at.isoformat(), query.pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        due_text, last_id = json.loads(raw)
        due = parse_datetime(due_text)
        if due is None or not isinstance(last_id, int):
            raise ValueError
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
        raise ServiceError("The cursor is not valid.", field="cursor") from None
    return due, last_id


def queue_page(queries: QuerySet[Query], *, cursor: str | None, page_size: int) -> QueuePage:
    """One page of a queue ordered by ``(sla_due_at, id)``, after ``cursor``.

    Keyset: the cost does not grow with depth, and rows claimed or answered meanwhile
    simply drop out instead of shifting the pages.
    """
    if cursor:
        due, last_id = _decode_cursor(cursor)
        queries = queries.filter(Q(sla_due_at__gt=due) | Q(sla_due_at=due, pk__gt=last_id))
    rows = list(queries[: page_size + 1])
    more = len(rows) > page_size
    rows = rows[:page_size]
    return QueuePage(results=rows, next_cursor=_encode_cursor(rows[-1]) if more and rows else None)


@dataclass(frozen=True)
class QueueRows:
    results: list[dict[str, Any]]
    next_cursor: str | None


def queue_page_rows(
    queries: QuerySet[Query], *, cursor: str | None, page_size: int, now: datetime | None = None
) -> QueueRows:
    """:func:`queue_page` for the hot list: plain rows in the API's shape, no model instances,
    every topic of the page in one more query."""
    if cursor:
        due, last_id = _decode_cursor(cursor)
        queries = queries.filter(Q(sla_due_at__gt=due) | Q(sla_due_at=due, pk__gt=last_id))
    rows = list(queries.prefetch_related(None).values(*_ROW_FIELDS)[: page_size + 1])
    more = len(rows) > page_size
    rows = rows[:page_size]
    topics: dict[int, list[str]] = {row["id"]: [] for row in rows}
    if rows:
        links = (
            Query.topics.through.objects.filter(query_id__in=list(topics))
            .order_by("topic__created_at", "topic_id")
            .values_list("query_id", "topic__slug")
        )
        for query_id, slug in links:
            topics[query_id].append(slug)
    next_cursor = None
    if more and rows:
        raw = json.dumps([rows[-1]["sla_due_at"].isoformat(), rows[-1]["id"]]).encode()
        next_cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return QueueRows(
        results=[_query_shape(row, topics=topics[row["id"]], now=now) for row in rows], next_cursor=next_cursor
    )


def queue_page_one_statement(
    *,
    user: User,
    status: str | None,
    department: str | None,
    cursor: str | None,
    page_size: int,
    now: datetime,
) -> QueueRows | None:
    """:func:`query_list` then :func:`queue_page_rows` in one statement, on PostgreSQL.

    ``None`` where it does not apply — another database, a status it does not know, or an
    empty page where the department might not exist: the caller then takes the ORM's way,
    which answers the same rows or the same 400.
    """

    if connection.vendor != "postgresql" or (status and status not in QueryStatus.values):
        return None
    after = _decode_cursor(cursor) if cursor else None
    rows = statements.queue_rows(
        scope=visibility_scope(user), status=status, department_slug=department, after=after, limit=page_size + 1,
        now=now,
    )  # fmt: skip
    if not rows and department not in (None, "none"):
        return None
    more = len(rows) > page_size
    rows = rows[:page_size]
    next_cursor = None
    if more and rows:
        raw = json.dumps([rows[-1]["sla_due_at"].isoformat(), rows[-1]["id"]]).encode()
        next_cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return QueueRows(
        results=[_query_shape(row, topics=row["topics"], now=now) for row in rows], next_cursor=next_cursor
    )


# --- Drafts, answers, review -------------------------------------------------------------------


@dataclass(frozen=True)
class OfferedDraft:
    """What the author left unsent: a saved draft, or an answer a reviewer sent back."""

    body: str
    message_ids: list[int]
    review_comment: str
    answer_id: int | None


def draft_offered_to(
    *, user: User, query: Query, answers: list[Answer] | None = None, page: QueryPage | None = None
) -> OfferedDraft | None:
    """The author's unsent work on ``query``, offered back to them (and only to them).

    ``answers``: the query's answers the caller already read with :func:`answers_of_query`
    (which holds every answer of the person's own), newest first; the answer sent back is
    then taken from them instead of read again. ``page``: the query read by
    :func:`query_page_for_user` for this person, which carries their saved draft.
    """
    draft = page.saved_draft if page is not None else QueryDraft.objects.filter(query=query, author=user).first()
    if answers is None:
        returned = (
            Answer.objects.filter(query=query, author=user, status=AnswerStatus.DRAFT).order_by("-created_at").first()
        )
    else:
        own_drafts = [a for a in answers if a.author_id == user.pk and a.status == AnswerStatus.DRAFT]
        returned = max(own_drafts, key=lambda a: (a.created_at, a.pk), default=None)
    if draft is not None:
        return OfferedDraft(
            body=draft.body,
            message_ids=list(draft.message_ids),
            review_comment=returned.review_comment if returned else "",
            answer_id=returned.pk if returned else None,
        )
    if returned is not None:
        return OfferedDraft(
            body=returned.body,
            message_ids=list(returned.messages.values_list("pk", flat=True)),
            review_comment=returned.review_comment,
            answer_id=returned.pk,
        )
    return None


def with_answer_relations(answers: QuerySet[Answer]) -> QuerySet[Answer]:
    """What ``engage.apis.AnswerOutput`` shows, in a constant number of queries."""
    from content.models import Message

    return answers.select_related("author").prefetch_related(Prefetch("messages", queryset=Message.objects.only("id")))


def answers_visible_to(user: User) -> QuerySet[Answer]:
    """Published answers on queries the person sees; unpublished ones to their author and reviewers."""
    answers = Answer.objects.all()
    own = Q(author=user)
    if sees_all_queries(user):
        return answers if policy.is_reviewer(user) else answers.filter(Q(status=AnswerStatus.PUBLISHED) | own)
    routed_here = Q(query__department__isnull=True)
    if user.department_id is not None:
        routed_here |= Q(query__department_id=user.department_id)
    return answers.filter((routed_here & Q(status=AnswerStatus.PUBLISHED)) | own)


def answer_get_for_user(*, user: User, id: int, lock: bool = False) -> Answer:
    answers = answers_visible_to(user).select_related("query", "author")
    answer = answers.filter(pk=id).first()
    if answer is None:
        raise Http404("No such answer")
    if lock:
        answer = Answer.objects.select_for_update().select_related("query", "author").get(pk=answer.pk)
    return answer


def answers_of_query(*, user: User, query: Query) -> QuerySet[Answer]:
    return with_answer_relations(answers_visible_to(user).filter(query=query)).order_by("-created_at", "-id")


def review_queue(*, user: User) -> QuerySet[Answer]:
    """Answers awaiting review that ``user`` may review (never their own), oldest first."""
    return (
        with_answer_relations(Answer.objects.filter(status=AnswerStatus.PENDING_REVIEW).exclude(author=user))
        .select_related("query", "query__channel", "query__department")
        .order_by("submitted_at", "id")
    )


def answer_as_dict(answer: Answer) -> dict[str, Any]:
    """An answer in the shape of ``engage.apis.AnswerOutput``, built by hand for the measured
    hot path that answers with it, ``POST /api/v1/queries/{id}/answers/`` (two statements:
    tests/engage/test_hot_statements.py); tests/engage/test_output_rows.py holds it to the
    serializer, key for key and value for value."""
    return {
        "id": answer.pk,
        "query": answer.query_id,
        "author": answer.author_id,
        "author_name": answer.author.name,
        "body": answer.body,
        "body_html": answer.body_html,
        "status": answer.status,
        "message_ids": [message.pk for message in answer.messages.all()],
        "created_at": answer.created_at,
        "submitted_at": answer.submitted_at,
        "published_at": answer.published_at,
        "review_comment": answer.review_comment,
        "reviewed_by": answer.reviewed_by_id,
        "reviewed_at": answer.reviewed_at,
    }


def similar_answered_queries(
    *, user: User, query: Query, limit: int = 5, topics: list[Topic] | None = None
) -> QuerySet[Query]:
    """Answered queries sharing a topic with ``query``, newest answers first.

    ``topics``: the query's, when the caller has read them (else its prefetched ones, or a
    read); the topic test is an ``EXISTS`` (no join to make distinct), so the rows can be
    read in the same statement.
    """
    topic_ids = [topic.pk for topic in (query.topics.all() if topics is None else topics)]
    similar = queries_visible_to(user).filter(state=QueryState.ANSWERED).exclude(pk=query.pk)
    if topic_ids:
        links = Query.topics.through.objects.filter(query_id=OuterRef("pk"), topic_id__in=topic_ids)
        similar = similar.filter(Exists(links))
    elif query.department_id:
        similar = similar.filter(department_id=query.department_id)
    return similar.order_by("-answered_at", "-id")[:limit]


def published_answer_of(query: Query) -> Answer | None:
    return Answer.objects.filter(query=query, status=AnswerStatus.PUBLISHED).select_related("author").first()


# --- Insights ------------------------------------------------------------------------------------


def insight_list(*, status: str | None = None) -> QuerySet[Insight]:
    """The insights board: every employee sees every insight."""
    insights = Insight.objects.select_related("submitted_by", "department").prefetch_related(
        Prefetch("queries", queryset=Query.objects.only("id"))
    )
    if status:
        insights = insights.filter(status=status)
    return insights.order_by("-created_at", "-id")


def insight_get_for_user(*, user: User, id: int, lock: bool = False) -> Insight:
    insights = Insight.objects.select_related("submitted_by", "department")
    return one_or_404(insights, id=id, lock=lock, missing="No such insight")


def insight_history(*, insight: Insight) -> QuerySet[InsightStatusChange]:
    return insight.status_changes.select_related("changed_by").order_by("changed_at", "id")


# --- Channels and deliveries -------------------------------------------------------------------


def channel_list() -> QuerySet[Channel]:
    return Channel.objects.order_by("name", "id")


def channel_for_webhook(*, slug: str) -> Channel | None:
    """The channel an inbound webhook names, or ``None`` (one fixed statement on PostgreSQL)."""
    if connection.vendor == "postgresql":
        return statements.channel_by_slug(slug)
    return Channel.objects.filter(slug=slug).first()


def channel_get(*, slug: str) -> Channel:
    channel = Channel.objects.filter(slug=slug).first()
    if channel is None:
        raise Http404("No such channel")
    return channel


def delivery_list(*, status: str | None = None) -> QuerySet[Delivery]:
    deliveries = Delivery.objects.select_related("channel", "query")
    if status:
        deliveries = deliveries.filter(status=status)
    return deliveries.order_by("-created_at", "-id")


# --- What the web pages read besides the above ---------------------------------------------------


def queue_ids_still_listed(queries: QuerySet[Query], *, ids: list[int]) -> set[int]:
    """Of ``ids``, those ``queries`` (a filtered queue) still lists: one indexed read.

    The queue page polls this to drop rows someone else just claimed (or answered, closed,
    escalated) without a reload.
    """
    if not ids:
        return set()
    return set(queries.prefetch_related(None).filter(pk__in=ids).values_list("pk", flat=True))


def department_open_count(*, department_id: int, now: datetime | None = None) -> int:
    """Open queries of a department that nobody holds (the partial queue index serves it)."""
    now = now or timezone.now()
    return (
        Query.objects.filter(department_id=department_id, state=QueryState.OPEN).exclude(claimed_until__gt=now).count()
    )


def queries_held_by(*, user: User, now: datetime | None = None) -> QuerySet[Query]:
    """What ``user`` holds: live claims, and queries whose answer by them awaits review."""
    now = now or timezone.now()
    held = Query.objects.filter(
        Q(state=QueryState.OPEN, claimed_until__gt=now) | Q(state=QueryState.PENDING_REVIEW), claimed_by=user
    )
    return held.select_related("channel").order_by("sla_due_at", "id")


def similar_answered_with_answers(
    *, user: User, query: Query, limit: int = 5, topics: list[Topic] | None = None
) -> list[Query]:
    """:func:`similar_answered_queries` as the query page shows them (id and text), each with
    ``published_answers`` (a list, with their authors' names): one fixed statement on
    PostgreSQL (:func:`engage.statements.similar_answered`), two with the ORM elsewhere."""
    if connection.vendor == "postgresql":
        return _similar_statement(user=user, query=query, limit=limit, topics=topics)
    return _similar_orm(user=user, query=query, limit=limit, topics=topics)


def _similar_orm(*, user: User, query: Query, limit: int, topics: list[Topic] | None) -> list[Query]:
    published = Answer.objects.filter(status=AnswerStatus.PUBLISHED).select_related("author")
    similar = similar_answered_queries(user=user, query=query, limit=limit, topics=topics)
    similar = similar.only("id", "text")
    return list(similar.prefetch_related(Prefetch("answers", queryset=published, to_attr="published_answers")))


def _similar_statement(*, user: User, query: Query, limit: int, topics: list[Topic] | None) -> list[Query]:
    topic_ids = [topic.pk for topic in (query.topics.all() if topics is None else topics)]
    rows = statements.similar_answered(
        id=query.pk, topic_ids=topic_ids, department_id=query.department_id, scope=visibility_scope(user), limit=limit
    )
    found = []
    for pk, text, answers in rows:
        similar = Query.from_db(None, ["id", "text"], [pk, text])
        shown = []
        for a in answers:
            answer = Answer.from_db(
                None, ["id", "query_id", "author_id", "body_html", "published_at"],
                [a["id"], pk, a["author_id"], a["body_html"], datetime.fromisoformat(a["published_at"])],
            )  # fmt: skip
            answer.author = User.from_db(None, ["id", "name"], [a["author_id"], a["author"]])
            shown.append(answer)
        similar.published_answers = shown  # type: ignore[attr-defined]
        found.append(similar)
    return found


def deliveries_of_query(*, query: Query) -> QuerySet[Delivery]:
    return Delivery.objects.filter(query=query).select_related("channel").order_by("-created_at", "-id")


def departments_for_escalation(*, query: Query) -> QuerySet[Department]:
    departments = Department.objects.order_by("name", "id")
    if query.department_id is not None:
        departments = departments.exclude(pk=query.department_id)
    return departments
