"""The message workflow: writing, revisions, review and withdrawal.

As API.md has it: ``draft → in_review → published | scheduled → expired``; a rejection
sends it back to ``draft`` with the comment. The author never approves. Every edit is a
new revision; an approval names (or defaults to) the newest revision and is refused (409)
when the reviewer saw an older one. Editing an approved message leaves the approved
revision live and puts the new one in review as its ``pending_revision``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

from django.contrib.postgres.search import SearchVector
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Department, RoleName, Topic, User
from config.activity import ActivityKind, activity, activity_key, announce
from config.errors import Conflict, ServiceError
from config.markdown import render_markdown
from config.policy import enforce
from content import policy, selectors, signals
from content.models import (
    APPROVED_STATUSES,
    SHORT_TEXT_MAX,
    Action,
    Message,
    MessageEvent,
    MessageRevision,
    PendingStatus,
    Status,
)
from content.services.common import (
    BODY_MAX,
    COMMENT_MAX,
    LONG_TEXT_MAX,
    TITLE_MAX,
    _clean_slugs,
    _clean_text,
    _notify,
    _now,
    _require_curator,
    _reviewer_ids,
    clean_http_url,
)


class MessageFields(TypedDict, total=False):
    """What an author writes; in an update, only the keys given change."""

    title: str
    body: str
    topics: list[str]  # topic slugs
    audience: list[str]  # department slugs; empty for everyone
    link_url: str
    short_text: str
    long_text: str
    publish_at: datetime | None
    expires_at: datetime | None


FIELD_NAMES = tuple(MessageFields.__annotations__)


@dataclass(frozen=True)
class _Clean:
    title: str
    body: str
    topics: list[Topic]
    audience: list[Department]
    link_url: str
    short_text: str
    long_text: str
    publish_at: datetime | None
    expires_at: datetime | None

    def snapshot(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "body": self.body,
            "topics": sorted(t.slug for t in self.topics),
            "audience": sorted(d.slug for d in self.audience),
            "link_url": self.link_url,
            "short_text": self.short_text,
            "long_text": self.long_text,
            "publish_at": self.publish_at,
            "expires_at": self.expires_at,
        }


def latest_revision_of(message: Message, *, with_author: bool = False) -> MessageRevision:
    """The newest revision (every message has one from its creation on)."""
    assert message.latest_revision_id is not None
    revisions = MessageRevision.objects.select_related("author") if with_author else MessageRevision.objects
    return revisions.get(pk=message.latest_revision_id)


def _clean(fields: dict[str, Any], *, now: datetime, check_times: bool = True) -> _Clean:
    topic_slugs = _clean_slugs(fields.get("topics"), field="topics")
    topics = list(Topic.objects.filter(slug__in=topic_slugs))
    missing = sorted(set(topic_slugs) - {t.slug for t in topics})
    if missing:
        raise ServiceError(f"Unknown topics: {', '.join(missing)}", field="topics")
    department_slugs = _clean_slugs(fields.get("audience"), field="audience")
    departments = list(Department.objects.filter(slug__in=department_slugs))
    missing = sorted(set(department_slugs) - {d.slug for d in departments})
    if missing:
        raise ServiceError(f"Unknown departments: {', '.join(missing)}", field="audience")
    publish_at = fields.get("publish_at")
    expires_at = fields.get("expires_at")
    for name, value in (("publish_at", publish_at), ("expires_at", expires_at)):
        if value is not None and (not isinstance(value, datetime) or timezone.is_naive(value)):
            raise ServiceError("Give a time with its zone.", field=name)
    if publish_at and expires_at and expires_at <= publish_at:
        raise ServiceError("The expiry must come after the publication time.", field="expires_at")
    if check_times and expires_at and expires_at <= now:
        raise ServiceError("The expiry must be in the future.", field="expires_at")
    return _Clean(
        title=_clean_text(fields.get("title"), field="title", max_length=TITLE_MAX, required=True),
        body=_clean_text(fields.get("body"), field="body", max_length=BODY_MAX, required=True),
        topics=topics,
        audience=departments,
        link_url=clean_http_url(fields.get("link_url") or "", field="link_url"),
        short_text=_clean_text(fields.get("short_text"), field="short_text", max_length=SHORT_TEXT_MAX),
        long_text=_clean_text(fields.get("long_text"), field="long_text", max_length=LONG_TEXT_MAX),
        publish_at=publish_at,
        expires_at=expires_at,
    )


def _revision_fields(revision: MessageRevision) -> dict[str, Any]:
    return {
        "title": revision.title,
        "body": revision.body,
        "topics": list(revision.topics),
        "audience": list(revision.audience),
        "link_url": revision.link_url,
        "short_text": revision.short_text,
        "long_text": revision.long_text,
        "publish_at": revision.publish_at,
        "expires_at": revision.expires_at,
    }


def _apply_to_message(message: Message, clean: _Clean | MessageRevision) -> None:
    """Make ``message``'s own fields show ``clean`` (saved by the caller)."""
    message.title = clean.title
    message.body = clean.body
    message.body_html = render_markdown(clean.body)
    message.link_url = clean.link_url
    message.short_text = clean.short_text
    message.long_text = clean.long_text
    message.publish_at = clean.publish_at
    message.expires_at = clean.expires_at


def _set_relations(message: Message, *, topics: list[str], audience: list[str]) -> None:
    message.topics.set(Topic.objects.filter(slug__in=topics))
    message.audience.set(Department.objects.filter(slug__in=audience))


def _new_revision(message: Message, *, author: User, clean: _Clean, number: int, now: datetime) -> MessageRevision:
    snapshot = clean.snapshot()
    return MessageRevision.objects.create(
        message=message,
        number=number,
        author=author,
        body_html=render_markdown(clean.body),
        created_at=now,
        **snapshot,
    )


def _event(
    message: Message,
    action: str,
    *,
    actor: User | None,
    at: datetime,
    revision: MessageRevision | None = None,
    comment: str = "",
) -> MessageEvent:
    return MessageEvent.objects.create(
        message=message, action=action, actor=actor, at=at, revision=revision, comment=comment
    )


def _refresh_search(message_id: int) -> None:
    """Recompute the stored full-text vector from the message's (live) fields."""
    if connection.vendor != "postgresql":
        return
    config = selectors.SEARCH_CONFIG
    vector = (
        SearchVector("title", weight="A", config=config)
        + SearchVector("short_text", "long_text", weight="B", config=config)
        + SearchVector("body", weight="C", config=config)
    )
    Message.objects.filter(pk=message_id).update(search_vector=vector)


def _message_url(message_id: int) -> str:
    return reverse("content:message_detail", args=[message_id])


def _authors(message: Message) -> set[int]:
    ids = {message.author_id}
    if message.latest_revision_id:
        latest = MessageRevision.objects.only("author_id").get(pk=message.latest_revision_id)
        ids.add(latest.author_id)
    return ids


def _notify_reviewers(message: Message, revision: MessageRevision) -> None:
    _notify(
        user_ids=_reviewer_ids(exclude=_authors(message)),
        kind="content_review_requested",
        title=f"Review requested: {message.title if not message.has_pending_revision else revision.title}"[:200],
        body=f"Revision {revision.number} of “{revision.title}” waits for your review.",
        url=_message_url(message.pk),
        dedupe_key=f"content:review_requested:{revision.pk}",
    )


# --- Writing ---------------------------------------------------------------------------


@transaction.atomic
def message_create(*, author: User, fields: MessageFields, now: datetime | None = None) -> Message:
    """A new draft with its first revision."""
    now = _now(now)
    _require_curator(author)
    unknown = set(fields) - set(FIELD_NAMES)
    if unknown:
        raise ServiceError(f"Unknown fields: {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    clean = _clean(dict(fields), now=now)
    message = Message(author=author, status=Status.DRAFT, created_at=now, updated_at=now)
    _apply_to_message(message, clean)
    message.save()
    revision = _new_revision(message, author=author, clean=clean, number=1, now=now)
    message.revision = message.latest_revision = revision
    message.save(update_fields=["revision", "latest_revision"])
    message.topics.set(clean.topics)
    message.audience.set(clean.audience)
    _event(message, Action.CREATED, actor=author, at=now, revision=revision)
    _refresh_search(message.pk)
    return message


@transaction.atomic
def message_update(*, user: User, message_id: int, fields: MessageFields, now: datetime | None = None) -> Message:
    """Save an edit as a new revision.

    A draft or a message in review takes the edit at once (still in review: a reviewer
    must approve this newest revision). An approved message keeps its live revision and
    the edit goes to review as its pending revision.
    """
    now = _now(now)
    message = selectors.message_get_for_user(user=user, id=message_id, lock=True, now=now)
    _require_curator(user)
    latest = latest_revision_of(message)
    unknown = set(fields) - set(FIELD_NAMES)
    if unknown:
        raise ServiceError(f"Unknown fields: {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    merged = {**_revision_fields(latest), **fields}
    times_changed = any(
        name in fields and dict(fields)[name] != getattr(latest, name) for name in ("publish_at", "expires_at")
    )
    clean = _clean(merged, now=now, check_times=times_changed)
    if clean.snapshot() == _revision_fields(latest):
        return message  # nothing changed: no new revision
    revision = _new_revision(message, author=user, clean=clean, number=latest.number + 1, now=now)
    message.latest_revision = revision
    message.updated_at = now
    _event(message, Action.EDITED, actor=user, at=now, revision=revision)
    if message.status in APPROVED_STATUSES:
        message.pending_status = PendingStatus.IN_REVIEW
        message.save(update_fields=["latest_revision", "pending_status", "updated_at"])
        _event(message, Action.SUBMITTED, actor=user, at=now, revision=revision)
        _notify_reviewers(message, revision)
        return message
    _apply_to_message(message, clean)
    message.revision = revision
    message.save()
    message.topics.set(clean.topics)
    message.audience.set(clean.audience)
    _refresh_search(message.pk)
    return message


@transaction.atomic
def message_submit(*, user: User, message_id: int, now: datetime | None = None) -> Message:
    """Send the newest revision to the reviewers (the author, or whoever wrote that revision)."""
    now = _now(now)
    message = selectors.message_get_for_user(user=user, id=message_id, lock=True, now=now)
    message.latest_revision = latest = latest_revision_of(message)
    enforce(policy.message_submit(user, message, now))
    if message.status == Status.DRAFT:
        message.status = Status.IN_REVIEW
    else:
        message.pending_status = PendingStatus.IN_REVIEW
    message.updated_at = now
    message.save(update_fields=["status", "pending_status", "updated_at"])
    _event(message, Action.SUBMITTED, actor=user, at=now, revision=latest)
    _notify_reviewers(message, latest)
    return message


def _state_label(message: Message, now: datetime) -> str:
    return policy.message_label(message, now)


def _check_review(*, user: User, message: Message, revision_id: int | None, now: datetime) -> MessageRevision:
    """content.policy.message_review on the locked message, then the revision the reviewer saw."""
    message.latest_revision = latest = latest_revision_of(message, with_author=True)
    enforce(policy.message_review(user, message, now))
    if revision_id is not None and revision_id != latest.pk:
        raise Conflict(
            f"The message changed since that revision; revision {latest.number} is the one in review.",
            revision=latest.pk,
        )
    return latest


@transaction.atomic
def message_approve(
    *, user: User, message_id: int, revision_id: int | None = None, now: datetime | None = None
) -> Message:
    """Approve the revision in review: it goes live now, or at its ``publish_at``."""
    now = _now(now)
    message = selectors.message_get_for_user(user=user, id=message_id, lock=True, now=now)
    revision = _check_review(user=user, message=message, revision_id=revision_id, now=now)
    if revision.expires_at is not None and revision.expires_at <= now:
        raise Conflict("Its expiry has passed; edit the times before approving.", field="expires_at")
    _apply_to_message(message, revision)
    message.revision = revision
    message.pending_status = PendingStatus.NONE
    message.approved_at = now
    message.approved_by = user
    message.updated_at = now
    live = revision.publish_at is None or revision.publish_at <= now
    message.status = Status.PUBLISHED if live else Status.SCHEDULED
    first_publication = live and message.first_published_at is None
    if first_publication:
        message.first_published_at = now
    message.save()
    _set_relations(message, topics=revision.topics, audience=revision.audience)
    _event(message, Action.APPROVED, actor=user, at=now, revision=revision)
    _event(message, Action.PUBLISHED if live else Action.SCHEDULED, actor=user, at=now, revision=revision)
    _refresh_search(message.pk)
    if first_publication:
        _announce_published(message, at=now)
    when = "is live" if live else f"goes live at {timezone.localtime(revision.publish_at):%Y-%m-%d %H:%M}"
    _notify_review_result(
        message,
        revision,
        reviewer=user,
        title=f"Approved: {revision.title}",
        body=f"{user.name} approved revision {revision.number} of “{revision.title}”; it {when}.",
        dedupe_key=f"content:approved:{revision.pk}",
    )
    return message


def _notify_review_result(
    message: Message, revision: MessageRevision, *, reviewer: User, title: str, body: str, dedupe_key: str
) -> None:
    """Tell the message's author and the revision's author (not the reviewer) how review went."""
    _notify(
        user_ids=sorted({message.author_id, revision.author_id} - {reviewer.pk}),
        kind="content_review_result",
        title=title[:200],
        body=body,
        url=_message_url(message.pk),
        dedupe_key=dedupe_key,
    )


@transaction.atomic
def message_reject(
    *, user: User, message_id: int, comment: str, revision_id: int | None = None, now: datetime | None = None
) -> Message:
    """Send the revision in review back to its author with ``comment``; a live revision stays live."""
    now = _now(now)
    comment = _clean_text(comment, field="comment", max_length=COMMENT_MAX, required=True)
    message = selectors.message_get_for_user(user=user, id=message_id, lock=True, now=now)
    revision = _check_review(user=user, message=message, revision_id=revision_id, now=now)
    if message.status == Status.IN_REVIEW:
        message.status = Status.DRAFT
    else:
        message.pending_status = PendingStatus.DRAFT
    message.updated_at = now
    message.save(update_fields=["status", "pending_status", "updated_at"])
    _event(message, Action.REJECTED, actor=user, at=now, revision=revision, comment=comment)
    _notify_review_result(
        message,
        revision,
        reviewer=user,
        title=f"Changes requested: {revision.title}",
        body=f"{user.name} sent revision {revision.number} of “{revision.title}” back:\n\n{comment}",
        dedupe_key=f"content:rejected:{revision.pk}:{int(now.timestamp())}",
    )
    return message


@transaction.atomic
def message_withdraw(*, user: User, message_id: int, comment: str = "", now: datetime | None = None) -> Message:
    """Take an approved message down at once (it expires now)."""
    now = _now(now)
    message = selectors.message_get_for_user(user=user, id=message_id, lock=True, now=now)
    if not user.has_role(RoleName.CURATOR, RoleName.REVIEWER):
        raise PermissionDenied("Withdrawing needs the curator or reviewer role.")
    if message.status_at(now) not in (Status.PUBLISHED, Status.SCHEDULED):
        raise Conflict(
            f"A message that is {_state_label(message, now)} cannot be withdrawn.", status=message.status_at(now)
        )
    message.expires_at = now
    if message.publish_at is not None and message.publish_at >= now:
        message.publish_at = None  # never went live; keep the times consistent
    message.status = Status.EXPIRED
    message.updated_at = now
    message.save(update_fields=["expires_at", "publish_at", "status", "updated_at"])
    comment = _clean_text(comment, field="comment", max_length=COMMENT_MAX)
    _event(message, Action.WITHDRAWN, actor=user, at=now, revision=message.revision, comment=comment)
    return message


def _announce_published(message: Message, *, at: datetime) -> None:
    author = User.objects.only("id", "department_id").get(pk=message.author_id)
    announce(
        signals.activity,
        sender=Message,
        activity=activity(
            kind=ActivityKind.MESSAGE_PUBLISHED,
            occurred_at=at,
            object_type="content.message",
            object_id=message.pk,
            key=activity_key(ActivityKind.MESSAGE_PUBLISHED, message.pk),
            actor=author,
            data={"approved_by": message.approved_by_id, "revision_id": message.revision_id},
        ),
    )
