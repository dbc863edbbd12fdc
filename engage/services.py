"""Writes for community queries: channels, receipt and routing, claims, answers and
review, escalation and closing, insights, outbound deliveries and response-time breaches.

Every change is made here and only here; the API views, the web pages and the jobs call
these functions. Each is atomic, records its participation event in the same
transaction, and queues its follow-up jobs with ``config.jobs.enqueue`` (after commit).
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from accounts.models import Department, DepartmentKind, RoleName, Topic, User
from accounts.notifications import notify
from config import jobs
from config.activity import Activity, ActivityKind
from config.errors import Conflict, ServiceError
from config.jobs import enqueue
from config.markdown import render_markdown
from content.models import Message
from content.selectors import messages_visible_to
from engage import outbound, participation, ratings, signing, statements, threads
from engage.models import (
    INSIGHT_MOVES,
    RESPONSE_TARGETS,
    Answer,
    AnswerStatus,
    Channel,
    ChannelKind,
    CloseReason,
    CustomerMessage,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Insight,
    InsightStatus,
    InsightStatusChange,
    Priority,
    Query,
    QueryDraft,
    QueryState,
    QueryStatus,
    RevisionOutcome,
    query_status,
)
from engage.routing import route
from engage.selectors import (
    answer_get_for_user,
    can_move_insights,
    can_review,
    insight_get_for_user,
    queries_visible_to,
    query_get_for_user,
    visibility_scope,
)

logger = logging.getLogger(__name__)

SECRET_OVERLAP = timedelta(hours=24)
MAX_ANSWER_LENGTH = 20_000
ESCALATION_NOTE_MAX = 2000
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


def _department_member_ids(department_id: int) -> list[int]:
    return list(User.objects.filter(department_id=department_id, is_active=True).values_list("pk", flat=True))


def _reviewer_ids(*, department_id: int | None, excluding: int | None = None) -> list[int]:
    """Reviewers of the department (or, where it has none, every reviewer)."""
    reviewers = User.objects.filter(is_active=True, roles__slug=RoleName.REVIEWER).distinct()
    if excluding is not None:
        reviewers = reviewers.exclude(pk=excluding)
    if department_id is not None:
        local = list(reviewers.filter(department_id=department_id).values_list("pk", flat=True))
        if local:
            return local
    return list(reviewers.values_list("pk", flat=True))


def _query_url(query_id: int) -> str:
    return f"/queries/{query_id}/"


# --- Channels ----------------------------------------------------------------------------------


CHANNEL_SLUG_MAX = 60
CHANNEL_NAME_MAX = 120
_CHANNEL_SLUG = re.compile(r"[-a-zA-Z0-9_]+")


def _channel_slug(slug: Any) -> str:
    """A slug as a channel's webhook address carries it: letters, digits, ``-`` and ``_``."""
    if not isinstance(slug, str) or not slug.strip():
        raise ServiceError("A channel needs a slug.", field="slug")
    slug = slug.strip()
    if len(slug) > CHANNEL_SLUG_MAX:
        raise ServiceError(f"A slug is at most {CHANNEL_SLUG_MAX} characters (this one has {len(slug)}).", field="slug")
    if not _CHANNEL_SLUG.fullmatch(slug):
        raise ServiceError(
            "A slug uses only letters, digits, hyphens and underscores (it is part of the webhook's address).",
            field="slug",
        )
    return slug


def _channel_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ServiceError("A channel needs a name.", field="name")
    name = name.strip()
    if len(name) > CHANNEL_NAME_MAX:
        raise ServiceError(f"A name is at most {CHANNEL_NAME_MAX} characters (this one has {len(name)}).", field="name")
    return name


def channel_create(*, slug: str, name: str, kind: str, outbound_url: str = "") -> tuple[Channel, str]:
    """Make a channel; returns it and its secret, which is shown this once."""
    slug = _channel_slug(slug)
    name = _channel_name(name)
    if kind not in ChannelKind.values:
        raise ServiceError(
            "Choose what kind of channel it is: "
            + ", ".join(f"{label.lower()} ({value})" for value, label in ChannelKind.choices)
            + ".",
            field="kind",
        )
    try:
        outbound_url = outbound.validate_url(outbound_url or "")
    except outbound.OutboundRefused as exc:
        raise ServiceError(str(exc), field="outbound_url") from None
    secret = signing.new_secret()
    try:
        with transaction.atomic():
            channel = Channel.objects.create(slug=slug, name=name, kind=kind, outbound_url=outbound_url, secret=secret)
    except IntegrityError:
        raise ServiceError(f"A channel with slug {slug!r} already exists.", field="slug") from None
    return channel, secret


def channel_update(*, channel: Channel, name: str | None = None, outbound_url: str | None = None) -> Channel:
    fields = []
    if name is not None:
        channel.name = _channel_name(name)
        fields.append("name")
    if outbound_url is not None:
        try:
            channel.outbound_url = outbound.validate_url(outbound_url)
        except outbound.OutboundRefused as exc:
            raise ServiceError(str(exc), field="outbound_url") from None
        fields.append("outbound_url")
    if fields:
        channel.save(update_fields=fields)
    return channel


def channel_rotate_secret(*, channel: Channel) -> tuple[Channel, str]:
    """A new secret; the one it replaces keeps verifying inbound webhooks for 24 hours."""
    now = timezone.now()
    secret = signing.new_secret()
    with transaction.atomic():
        locked = Channel.objects.select_for_update().get(pk=channel.pk)
        locked.previous_secret = locked.secret
        locked.previous_secret_expires_at = now + SECRET_OVERLAP
        locked.secret = secret
        locked.secret_rotated_at = now
        locked.save(update_fields=["previous_secret", "previous_secret_expires_at", "secret", "secret_rotated_at"])
    return locked, secret


# --- Receipt and routing -----------------------------------------------------------------------


@dataclass(frozen=True)
class Inbound:
    """A query as a channel's webhook delivered it, already validated."""

    external_id: str
    text: str
    author_handle: str
    author_name: str = ""
    url: str = ""
    sender_created_at: datetime | None = None
    priority: str = Priority.NORMAL
    # A follow-up's thread key (engage.threads): the external id that started the thread,
    # or any earlier message's external id. Both empty for a new query.
    thread_id: str = ""
    in_reply_to: str = ""


def query_receive(*, channel: Channel, inbound: Inbound, received_at: datetime | None = None) -> tuple[int, bool]:
    """Store a delivered query once per ``(channel, external_id)``; ``(id, created)``.

    A redelivery — even one racing the first delivery — finds the stored row: the unique
    constraint decides, and the loser reads the winner's id after it committed.
    Routing, notifications and counting happen in jobs after the commit.
    """
    received_at = received_at or timezone.now()
    priority = inbound.priority or Priority.NORMAL
    if connection.vendor == "postgresql":
        return _query_receive_one_statement(channel=channel, inbound=inbound, received_at=received_at)
    existing = (
        Query.objects.filter(channel=channel, external_id=inbound.external_id).values_list("pk", flat=True).first()
    )
    if existing is None:
        existing = (
            CustomerMessage.objects.filter(channel=channel, external_id=inbound.external_id)
            .values_list("query_id", flat=True)
            .first()
        )
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            if CustomerMessage.objects.filter(channel=channel, external_id=inbound.external_id).exists():
                raise IntegrityError("a follow-up used this external id")  # found below
            query = _new_query(channel=channel, inbound=inbound, received_at=received_at, priority=priority)
            query.save(force_insert=True)
            first_message(query=query).save(force_insert=True)
            participation.record(
                _received_event(channel=channel, query_id=query.pk, received_at=received_at, priority=priority)
            )
            enqueue("engage.route_query", query.pk)
    except IntegrityError:
        existing = (
            Query.objects.filter(channel=channel, external_id=inbound.external_id).values_list("pk", flat=True).first()
        ) or (
            CustomerMessage.objects.filter(channel=channel, external_id=inbound.external_id)
            .values_list("query_id", flat=True)
            .first()
        )
        if existing is None:
            raise
        return existing, False
    return query.pk, True


def _received_event(*, channel: Channel, query_id: int, received_at: datetime, priority: str) -> Activity:
    return participation.activity(
        kind=ActivityKind.QUERY_RECEIVED,
        occurred_at=received_at,
        object_type="engage.query",
        object_id=query_id,
        key=f"query_received:{query_id}",
        data={"channel": channel.slug, "priority": priority},
    )


def _query_receive_one_statement(*, channel: Channel, inbound: Inbound, received_at: datetime) -> tuple[int, bool]:
    """:func:`query_receive` on PostgreSQL: the row, its event and its routing job in one
    statement (atomic on its own), the job handed to the broker after it."""
    priority = inbound.priority or Priority.NORMAL
    query = _new_query(channel=channel, inbound=inbound, received_at=received_at, priority=priority)
    # The event's id-dependent parts (object id, key) are filled in by the statement.
    event = participation.event_row(
        _received_event(channel=channel, query_id=0, received_at=received_at, priority=priority)
    )
    received = statements.receive(
        query=query, message=first_message(query=query), event=event, key_prefix="query_received:",
        job=jobs.outbox_row("engage.route_query"),
    )  # fmt: skip
    if received.job is not None:
        jobs.hand_over(received.job)
    if received.query_id is None:  # a racing delivery of the same id had not committed: it has now
        existing = Query.objects.filter(channel=channel, external_id=inbound.external_id).values_list("pk", flat=True)
        found = existing.first() or (
            CustomerMessage.objects.filter(channel=channel, external_id=inbound.external_id)
            .values_list("query_id", flat=True)
            .first()
        )
        if found is None:
            raise IntegrityError(f"no query holds {inbound.external_id!r} after a conflict")
        return found, False
    return received.query_id, received.created


def _new_query(*, channel: Channel, inbound: Inbound, received_at: datetime, priority: str) -> Query:
    return Query(
        channel=channel,
        external_id=inbound.external_id,
        text=inbound.text,
        author_handle=inbound.author_handle,
        author_name=inbound.author_name,
        url=inbound.url,
        sender_created_at=inbound.sender_created_at,
        priority=priority,
        received_at=received_at,
        sla_due_at=received_at + RESPONSE_TARGETS[Priority(priority)],
    )


def latest_customer_message(*, query: Query) -> CustomerMessage | None:
    """The customer's latest message on a query (read with its row lock held): what an answer
    published now replies to."""
    if query.latest_message_id is not None:
        return CustomerMessage.objects.filter(pk=query.latest_message_id).first()
    return CustomerMessage.objects.filter(query=query, external_id=query.external_id).first()


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


def query_route(*, query_id: int) -> Query | None:
    """Route a received query by topic keywords (API.md, "Routing"), once.

    Tolerates a missing row and a second run: a query already routed is left alone.
    """
    with transaction.atomic():
        query = Query.objects.select_for_update().filter(pk=query_id).first()
        if query is None or query.routed_at is not None:
            return query
        topics = list(Topic.objects.order_by("created_at", "id").only("id", "keywords", "department_id"))
        result = route(query.text, topics)
        now = timezone.now()
        query.routed_at = now
        fields = ["routed_at"]
        if result.department_id is not None and query.department_id is None:
            query.department_id = result.department_id
            fields.append("department")
        query.save(update_fields=fields)
        if result.topic_ids:
            query.topics.set(result.topic_ids)
        if query.department_id is not None and "department" in fields:
            participation.record(
                participation.activity(
                    kind=ActivityKind.QUERY_ROUTED,
                    occurred_at=now,
                    object_type="engage.query",
                    object_id=query.pk,
                    key=f"query_routed:{query.pk}",
                    department_id=query.department_id,
                    data={"topics": result.topic_ids, "matches": {str(k): v for k, v in result.matches.items()}},
                )
            )
            notify(
                user_ids=_department_member_ids(query.department_id),
                kind="engage.query_routed",
                title=f"New {query.priority} query for your department",
                body=query.text[:280],
                url=_query_url(query.pk),
                dedupe_key=f"query-routed:{query.pk}",
            )
    return query


# --- Claims --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    query_id: int
    claimed_by: int
    claimed_until: datetime
    renewed: bool


def _not_claimable(query_id: int, now: datetime) -> Conflict:
    row = Query.objects.filter(pk=query_id).values("state", "claimed_by", "claimed_until").first()
    if row is None:
        return Conflict("This query no longer exists.")
    status = query_status(state=row["state"], claimed_until=row["claimed_until"], at=now)
    if status == QueryStatus.CLAIMED:
        return Conflict(
            "Someone else holds this query.", claimed_by=row["claimed_by"], claimed_until=row["claimed_until"]
        )
    return Conflict(f"This query is {status.replace('_', ' ')}.", status=status)


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
                raise _not_claimable(query_id, now)
            participation.record(_claim_event(user=user, query_id=query_id, now=now))
    return Claim(query_id=query_id, claimed_by=user.pk, claimed_until=until, renewed=renewed)


def _claim_event(*, user: User, query_id: int, now: datetime) -> Activity:
    return participation.activity(
        kind=ActivityKind.QUERY_CLAIMED,
        occurred_at=now,
        object_type="engage.query",
        object_id=query_id,
        key=f"query_claimed:{query_id}:{user.pk}:{now.isoformat()}",
        actor=user,
    )


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
            raise _not_claimable(query_id, now)
    return Claim(query_id=query_id, claimed_by=user.pk, claimed_until=until, renewed=outcome.renewed)


def query_release(*, user: User, query_id: int) -> Query:
    """Give up a live claim. The person's draft stays, for them."""
    now = timezone.now()
    with transaction.atomic():
        query = query_get_for_user(user=user, id=query_id, lock=True)
        if not query.holds_live_claim(user.pk, now):
            raise Conflict("You do not hold this query.")
        query.claimed_by = None
        query.claimed_at = None
        query.claimed_until = None
        query.save(update_fields=["claimed_by", "claimed_at", "claimed_until"])
    return query


def query_draft_save(*, user: User, query_id: int, body: Any, message_ids: Any = None) -> QueryDraft:
    """Keep the person's unsent answer; it survives a lapsed claim and is offered back to them."""
    with transaction.atomic():
        query = query_get_for_user(user=user, id=query_id)
        if not isinstance(body, str):
            raise ServiceError("body must be text.", field="body")
        if len(body) > MAX_ANSWER_LENGTH:
            raise ServiceError(f"An answer is at most {MAX_ANSWER_LENGTH} characters.", field="body")
        ids = _clean_message_ids(message_ids, user=user)
        if query.state not in (QueryState.OPEN,):
            raise Conflict(f"This query is {query.status_at().replace('_', ' ')}.")
        draft, _ = QueryDraft.objects.update_or_create(
            query=query, author=user, defaults={"body": body, "message_ids": ids, "updated_at": timezone.now()}
        )
    return draft


# --- Answers and review ----------------------------------------------------------------------------


def _clean_message_ids(message_ids: Any, *, user: User) -> list[int]:
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
        participation.activity(
            kind=ActivityKind.ANSWER_PUBLISHED,
            occurred_at=now,
            object_type="engage.answer",
            object_id=answer.pk,
            key=f"answer_published:{answer.pk}",
            actor=answer.author,
            department_id=answer.author_department_id,
            data={
                "query_id": query.pk,
                "query_department_id": query.department_id,
                "messages": sorted(used),
            },
        )
    )
    delivery_create_for_answer(query=query, answer=answer)


def _needs_claim(status: str) -> Conflict:
    if status in (QueryStatus.OPEN, QueryStatus.CLAIMED):
        return Conflict("You need a live claim on this query to answer it.", status=status)
    return Conflict(f"This query is {status.replace('_', ' ')}.", status=status)


def _answer_publish_one_statement(*, user: User, query_id: int, body: Any) -> Answer | None:
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
    event = participation.event_row(
        participation.activity(
            kind=ActivityKind.ANSWER_PUBLISHED, occurred_at=now, object_type="engage.answer", object_id=0,
            key="answer_published:", actor=user, department_id=user.department_id,
            data={"query_id": query_id, "messages": []},  # and the query's department, in the statement
        )
    )  # fmt: skip
    delivery = Delivery(
        kind=DeliveryKind.ANSWER, query_id=query_id, next_attempt_at=now,
        payload=answer_payload(query=Query(pk=query_id), answer=answer),  # the ids are filled in by the statement
    )  # fmt: skip
    job = jobs.outbox_row("engage.deliver")
    published = statements.publish(scope=visibility_scope(user), answer=answer, event=event, delivery=delivery, job=job)
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
    status = query_status(state=published.state or "", claimed_until=published.claimed_until, at=now)
    if not (status == QueryStatus.CLAIMED and published.claimed_by_id == user.pk):
        raise _needs_claim(status)
    return None  # not a responder now, or a returned draft: the general way


def answer_submit(*, user: User, query_id: int, body: Any, message_ids: Any = None) -> Answer:
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
        ids = _clean_message_ids(message_ids, user=user)
        now = timezone.now()
        if not query.holds_live_claim(user.pk, now):
            raise _needs_claim(query.status_at(now))
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
                user_ids=_reviewer_ids(department_id=query.department_id, excluding=user.pk),
                kind="engage.answer_review",
                title="An answer awaits review",
                body=f"{user.name} answered: {query.text[:200]}",
                url=_query_url(query.pk),
                dedupe_key=f"answer-review:{answer.pk}:{now.isoformat()}",
            )
        QueryDraft.objects.filter(query=query, author=user).delete()
    return answer


def _review_locks(*, user: User, answer_id: int, comment: Any = None) -> tuple[Query, Answer]:
    """Check that ``user`` may review the answer (and, for a rejection, its ``comment``),
    then lock its query and the answer."""
    answer = answer_get_for_user(user=user, id=answer_id)
    if not can_review(user):
        raise PermissionDenied("Only reviewers review answers.")
    if answer.author_id == user.pk:
        raise PermissionDenied("You cannot review your own answer.")
    if comment is not None and (not isinstance(comment, str) or not comment.strip()):
        raise ServiceError("Say what should change.", field="comment")
    query = Query.objects.select_for_update().get(pk=answer.query_id)
    answer = Answer.objects.select_for_update().select_related("author").get(pk=answer.pk)
    if answer.status != AnswerStatus.PENDING_REVIEW:
        raise Conflict(f"This answer is {answer.status.replace('_', ' ')}, not awaiting review.", status=answer.status)
    return query, answer


def _record_review(*, reviewer: User, answer: Answer, outcome: str, now: datetime) -> None:
    submitted = answer.submitted_at.isoformat() if answer.submitted_at else ""
    participation.record(
        participation.activity(
            kind=ActivityKind.ANSWER_REVIEWED,
            occurred_at=now,
            object_type="engage.answer",
            object_id=answer.pk,
            key=f"answer_reviewed:{answer.pk}:{submitted}",
            actor=reviewer,
            data={"outcome": outcome, "author_id": answer.author_id},
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
            url=_query_url(query.pk),
            dedupe_key=f"answer-approved:{answer.pk}",
        )
    return answer


def answer_reject(*, user: User, answer_id: int, comment: Any) -> Answer:
    """A reviewer sends an answer back to its author with a comment; the author's claim is renewed."""
    with transaction.atomic():
        query, answer = _review_locks(user=user, answer_id=answer_id, comment=comment if comment is not None else "")
        now = timezone.now()
        answer.status = AnswerStatus.DRAFT
        answer.review_comment = str(comment).strip()[:5000]
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
            url=_query_url(query.pk),
            dedupe_key=f"answer-rejected:{answer.pk}:{now.isoformat()}",
        )
    return answer


# --- Escalation and closing ------------------------------------------------------------------------


def _holder_or_reviewer(*, user: User, query: Query, now: datetime, action: str) -> None:
    if query.holds_live_claim(user.pk, now) or can_review(user):
        return
    raise PermissionDenied(f"Only the person holding this query or a reviewer can {action} it.")


def _withdraw_in_review(query: Query) -> None:
    threads.revisions_withdraw(query=query)
    Answer.objects.filter(query=query, status__in=[AnswerStatus.PENDING_REVIEW, AnswerStatus.DRAFT]).update(
        status=AnswerStatus.WITHDRAWN
    )


def query_escalate(*, user: User, query_id: int, department: Any, note: Any = "") -> Query:
    """Route a query to another department, open for anyone there to claim."""
    with transaction.atomic():
        query = query_get_for_user(user=user, id=query_id, lock=True)
        now = timezone.now()
        if query.state in (QueryState.ANSWERED, QueryState.CLOSED):
            raise Conflict(f"This query is {query.state}.", status=query.state)
        _holder_or_reviewer(user=user, query=query, now=now, action="escalate")
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
        if query.state != QueryState.OPEN:
            status = query.status_at(now)
            raise Conflict(f"This query is {status.replace('_', ' ')}.", status=status)
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
            participation.activity(
                kind=ActivityKind.QUERY_ESCALATED,
                occurred_at=now,
                object_type="engage.query",
                object_id=query.pk,
                key=f"query_escalated:{query.pk}:{now.isoformat()}",
                actor=user,
                data={"from_department_id": query.escalated_from_id, "to_department_id": target.pk},
            )
        )
        notify(
            user_ids=_department_member_ids(target.pk),
            kind="engage.query_escalated",
            title=f"A query was escalated to {target.name}",
            body=query.escalation_note or query.text[:280],
            url=_query_url(query.pk),
            dedupe_key=f"query-escalated:{query.pk}:{now.isoformat()}",
        )
    return query


def query_close(*, user: User, query_id: int, reason: Any) -> Query:
    """Close as spam, duplicate or no action; closed queries leave the response metrics."""
    with transaction.atomic():
        query = query_get_for_user(user=user, id=query_id, lock=True)
        now = timezone.now()
        if query.state in (QueryState.ANSWERED, QueryState.CLOSED):  # nobody can: a state conflict
            raise Conflict(f"This query is {query.state}.", status=query.state)
        _holder_or_reviewer(user=user, query=query, now=now, action="close")
        if reason not in CloseReason.values:
            raise ServiceError(
                "Choose why it is being closed: "
                + ", ".join(f"{label.lower()} ({value})" for value, label in CloseReason.choices)
                + ".",
                field="reason",
            )
        if query.state not in (QueryState.OPEN, QueryState.PENDING_REVIEW):
            raise Conflict(f"This query is {query.state.replace('_', ' ')}.", status=query.state)
        if query.state == QueryState.PENDING_REVIEW and not can_review(user):
            raise PermissionDenied("Only a reviewer can close a query whose answer awaits review.")
        _withdraw_in_review(query)
        query.state = QueryState.CLOSED
        query.close_reason = reason
        query.closed_at = now
        query.closed_by = user
        query.claimed_until = None
        query.save(update_fields=["state", "close_reason", "closed_at", "closed_by", "claimed_until"])
    return query


# --- Insights ------------------------------------------------------------------------------------


def _product_member_ids() -> list[int]:
    return list(
        User.objects.filter(is_active=True, department__kind=DepartmentKind.PRODUCT).values_list("pk", flat=True)
    )


def insight_create(*, user: User, title: str, description: str, query_ids: list[int]) -> Insight:
    """Turn queries the person can see into an insight for the product department."""
    if not isinstance(title, str) or not title.strip():
        raise ServiceError("An insight needs a title.", field="title")
    if len(title.strip()) > INSIGHT_TITLE_MAX:
        raise ServiceError(
            f"A title is at most {INSIGHT_TITLE_MAX} characters (this one has {len(title.strip())}).", field="title"
        )
    description = "" if description is None else description
    if not isinstance(description, str):
        raise ServiceError("description must be text.", field="description")
    if len(description.strip()) > INSIGHT_DESCRIPTION_MAX:
        raise ServiceError(
            f"A description is at most {INSIGHT_DESCRIPTION_MAX:,} characters"
            f" (this one has {len(description.strip()):,}).",
            field="description",
        )
    if (
        not isinstance(query_ids, list)
        or not query_ids
        or not all(isinstance(item, int) and not isinstance(item, bool) for item in query_ids)
    ):
        raise ServiceError("Choose at least one query the insight comes from.", field="query_ids")
    wanted = set(query_ids)
    visible = set(queries_visible_to(user).filter(pk__in=wanted).values_list("pk", flat=True))
    if visible != wanted:
        missing = ", ".join(str(n) for n in sorted(wanted - visible))
        raise ServiceError(
            f"There is no query {missing} that you can see; choose the queries from the list.", field="query_ids"
        )
    now = timezone.now()
    with transaction.atomic():
        insight = Insight.objects.create(
            title=title.strip(),
            description=(description or "").strip(),
            submitted_by=user,
            department_id=user.department_id,
            created_at=now,
            status_changed_at=now,
        )
        insight.queries.set(sorted(wanted))
        InsightStatusChange.objects.create(
            insight=insight, from_status="", to_status=InsightStatus.SUBMITTED, changed_by=user, changed_at=now
        )
        participation.record(
            participation.activity(
                kind=ActivityKind.INSIGHT_SUBMITTED,
                occurred_at=now,
                object_type="engage.insight",
                object_id=insight.pk,
                key=f"insight_submitted:{insight.pk}",
                actor=user,
                data={"query_ids": sorted(wanted)},
            )
        )
        notify(
            user_ids=[pk for pk in _product_member_ids() if pk != user.pk],
            kind="engage.insight",
            title=f"New insight: {insight.title}",
            body=insight.description[:280],
            url=f"/insights/{insight.pk}/",
            dedupe_key=f"insight-submitted:{insight.pk}",
        )
    return insight


MOVABLE_INSIGHT_STATUSES = (
    InsightStatus.UNDER_REVIEW,
    InsightStatus.PLANNED,
    InsightStatus.SHIPPED,
    InsightStatus.DECLINED,
)


def insight_set_status(*, user: User, insight_id: int, status: str) -> Insight:
    """A product owner (or an admin) moves an insight; shipping tells answerers and threads."""
    with transaction.atomic():
        insight = insight_get_for_user(user=user, id=insight_id, lock=True)
        if not can_move_insights(user):
            raise PermissionDenied("Only members of a product department move insights.")
        if status not in MOVABLE_INSIGHT_STATUSES:
            raise ServiceError(
                "Choose where the insight moves: "
                + ", ".join(f"{s.label.lower()} ({s.value})" for s in MOVABLE_INSIGHT_STATUSES)
                + ".",
                field="status",
            )
        if insight.status == status:
            return insight
        if status not in INSIGHT_MOVES.get(insight.status, ()):
            allowed = " or ".join(s.label for s in INSIGHT_MOVES.get(insight.status, ())) or "nothing else"
            raise ServiceError(
                f"An insight that is {insight.get_status_display()} can move to {allowed}, not to "
                f"{InsightStatus(status).label}.",
                field="status",
            )
        now = timezone.now()
        change = InsightStatusChange.objects.create(
            insight=insight, from_status=insight.status, to_status=status, changed_by=user, changed_at=now
        )
        insight.status = status
        insight.status_changed_at = now
        insight.save(update_fields=["status", "status_changed_at"])
        participation.record(
            participation.activity(
                kind=ActivityKind.INSIGHT_STATUS_CHANGED,
                occurred_at=now,
                object_type="engage.insight",
                object_id=insight.pk,
                key=f"insight_status_changed:{insight.pk}:{change.pk}",
                actor=user,
                data={"from": change.from_status, "to": status},
            )
        )
        notify(
            user_ids=[insight.submitted_by_id],
            kind="engage.insight",
            title=f"Insight {insight.get_status_display().lower()}: {insight.title}",
            url=f"/insights/{insight.pk}/",
            dedupe_key=f"insight-status:{change.pk}",
        )
        if status == InsightStatus.SHIPPED:
            _tell_insight_shipped(insight=insight, now=now)
    return insight


def _tell_insight_shipped(*, insight: Insight, now: datetime) -> None:
    answered = Answer.objects.filter(query__insights=insight, status=AnswerStatus.PUBLISHED)
    answerer_ids = sorted(set(answered.values_list("author_id", flat=True)))
    notify(
        user_ids=answerer_ids,
        kind="engage.insight",
        title=f"Shipped, thanks to the community: {insight.title}",
        body="A query you answered led to this.",
        url=f"/insights/{insight.pk}/",
        dedupe_key=f"insight-shipped:{insight.pk}",
    )
    for query in insight.queries.select_related("channel"):
        payload = {
            "event": "insight_shipped",
            "query_external_id": query.external_id,
            "insight_id": insight.pk,
            "title": insight.title,
            "body": f"Thanks for your question: what you told us is now shipped — {insight.title}.",
            "published_at": now.isoformat(),
        }
        delivery, created = Delivery.objects.get_or_create(
            kind=DeliveryKind.INSIGHT_SHIPPED,
            insight=insight,
            query=query,
            defaults={"channel": query.channel, "payload": payload, "next_attempt_at": now},
        )
        if created:
            enqueue("engage.deliver", delivery.pk, 0)


# --- Outbound delivery ---------------------------------------------------------------------------


def answer_payload(*, query: Query, answer: Answer) -> dict[str, Any]:
    """The outbound body of API.md (Outbound delivery)."""
    reply = answer.in_reply_to
    return {
        "query_external_id": query.external_id,
        "thread_id": query.external_id,
        "in_reply_to": reply.external_id if reply is not None else None,
        "answer_id": answer.pk,
        "body": answer.body,
        "body_html": answer.body_html,
        "author": {"name": answer.author.name},
        "published_at": answer.published_at.isoformat() if answer.published_at else None,
    }


def delivery_create_for_answer(*, query: Query, answer: Answer) -> Delivery:
    """Queue the answer's delivery back to its channel. Call inside the publishing transaction."""
    delivery = Delivery.objects.create(
        kind=DeliveryKind.ANSWER,
        channel_id=query.channel_id,
        query=query,
        answer=answer,
        payload=answer_payload(query=query, answer=answer),
        next_attempt_at=timezone.now(),
    )
    enqueue("engage.deliver", delivery.pk, 0)
    return delivery


def _backoff(attempts: int) -> int:
    return int(DELIVERY_FIRST_BACKOFF_SECONDS * 2 ** max(0, attempts - 1))


def delivery_attempt(*, delivery_id: int, attempt: int | None = None) -> str:
    """Make one delivery attempt, if one is due; schedule the next or give up.

    Safe to run twice: an attempt is taken with a conditional ``UPDATE`` that moves
    ``next_attempt_at`` forward, so only one runner sends it. ``attempt`` is the number of
    attempts made when the job was queued: a job for an attempt still not made that
    finds the delivery leased (its worker was killed mid-attempt and the job came back
    at once) waits for the lease to end and tries then, rather than leaving it to the
    sweep minutes later.
    """
    now = timezone.now()
    taken = Delivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now + timedelta(seconds=1)
    ).update(next_attempt_at=now + DELIVERY_ATTEMPT_LEASE)
    if not taken:
        if attempt is None:
            return "skipped"
        leased_until = (
            Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING, attempts=attempt)
            .values_list("next_attempt_at", flat=True)
            .first()
        )
        if leased_until is None:
            return "skipped"  # made (or finished) by another runner
        wait = max(1, math.ceil((leased_until - now).total_seconds()))
        with transaction.atomic():
            enqueue("engage.deliver", delivery_id, attempt, delay_seconds=wait)
        return "waiting"
    delivery = Delivery.objects.select_related("channel").get(pk=delivery_id)
    channel = delivery.channel
    payload = delivery.payload
    if delivery.kind == DeliveryKind.ANSWER and delivery.answer_id is not None:
        payload = ratings.with_rating_link(payload, answer_id=delivery.answer_id)  # made here, not when published
    outcome = outbound.post_signed(channel.outbound_url, payload, secret=channel.secret, delivery_id=str(delivery.pk))
    finished = timezone.now()
    attempts = delivery.attempts + 1
    with transaction.atomic():
        update: dict[str, Any] = {
            "attempts": attempts,
            "target": outcome.target[:500],
            "last_status_code": outcome.status_code,
            "last_error": outcome.error,
        }
        if outcome.ok:
            update.update(status=DeliveryStatus.DELIVERED, delivered_at=finished)
            result = "delivered"
        elif outcome.permanent or attempts >= DELIVERY_MAX_ATTEMPTS:
            update.update(status=DeliveryStatus.DEAD, dead_at=finished)
            result = "dead"
        else:
            delay = _backoff(attempts)
            update.update(next_attempt_at=finished + timedelta(seconds=delay))
            result = "retry"
        Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING).update(**update)
        if result == "retry":
            enqueue("engage.deliver", delivery_id, attempts, delay_seconds=delay)
        elif result == "dead":
            logger.warning("delivery %s to %s is a dead letter: %s", delivery_id, channel.slug, outcome.error)
            notify(
                user_ids=list(
                    User.objects.filter(is_active=True, roles__slug=RoleName.ADMIN).values_list("pk", flat=True)
                ),
                kind="engage.delivery_dead",
                title=f"A delivery to {channel.name} failed for good",
                body=outcome.error[:500],
                url=f"{reverse('engage:deliveries')}?status=dead#delivery-{delivery_id}",
                dedupe_key=f"delivery-dead:{delivery_id}:{attempts}",
            )
    return result


def delivery_retry(*, delivery_id: int) -> Delivery:
    """An admin sends a dead letter again, from a fresh start."""
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().filter(pk=delivery_id).first()
        if delivery is None:
            from django.http import Http404

            raise Http404("No such delivery")
        if delivery.status != DeliveryStatus.DEAD:
            raise Conflict(f"Only dead letters are retried; this one is {delivery.status}.", status=delivery.status)
        delivery.status = DeliveryStatus.PENDING
        delivery.attempts = 0
        delivery.next_attempt_at = timezone.now()
        delivery.dead_at = None
        delivery.save(update_fields=["status", "attempts", "next_attempt_at", "dead_at"])
        enqueue("engage.deliver", delivery.pk, 0)
    return delivery


def deliveries_sweep(*, stale_after: timedelta = timedelta(minutes=5), limit: int = 500) -> int:
    """Re-queue pending deliveries whose job was lost (a worker killed mid-attempt)."""
    cutoff = timezone.now() - stale_after
    ids = list(
        Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lt=cutoff)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    with transaction.atomic():
        for delivery_id in ids:
            enqueue("engage.deliver", delivery_id)
    return len(ids)


def unrouted_queries_route(*, older_than: timedelta = timedelta(minutes=1), limit: int = 500) -> int:
    """Queue routing again for queries left unrouted (their job lost or failed for good)."""
    cutoff = timezone.now() - older_than
    ids = list(
        Query.objects.filter(routed_at__isnull=True, received_at__lt=cutoff)
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
    with transaction.atomic():
        for query_id in ids:
            enqueue("engage.route_query", query_id)
    return len(ids)


# --- Response-time breaches ----------------------------------------------------------------------


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
                recipients = _department_member_ids(department_id)
            if row["claimed_by_id"] and (
                row["state"] == QueryState.PENDING_REVIEW or (row["claimed_until"] and row["claimed_until"] > now)
            ):
                recipients.append(row["claimed_by_id"])
            notify(
                user_ids=recipients,
                kind="engage.sla_breach",
                title=f"A {row['priority']} query missed its response target",
                body=row["text"][:280],
                url=_query_url(row["pk"]),
                dedupe_key=f"sla-breach:{row['pk']}" + (f":{row['turn']}" if row["turn"] > 1 else ""),
            )
    return len(due)
