"""Writes for approved messaging: the review workflow, scheduling, shares and clicks.

Every change is made here and only here; the API, the web pages, the jobs and the demo
call these functions. Each takes ``now`` (default: the clock) so the schedule can be
tested by moving time rather than by waiting.

Workflow, as API.md has it: ``draft → in_review → published | scheduled → expired``;
a rejection sends it back to ``draft`` with the comment. The author never approves. Every
edit is a new revision; an approval names (or defaults to) the newest revision and is
refused (409) when the reviewer saw an older one. Editing an approved message leaves the
approved revision live and puts the new one in review as its ``pending_revision``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from accounts import notifications
from accounts.models import Department, RoleName, Topic, User
from config.activity import Activity, ActivityKind, announce
from config.errors import Conflict, ServiceError
from config.markdown import render_markdown
from config.policy import enforce, is_own_work
from content import policy, selectors, signals
from content.models import (
    APPROVED_STATUSES,
    SHORT_TEXT_MAX,
    Action,
    Channel,
    Message,
    MessageEvent,
    MessageRevision,
    PendingStatus,
    Share,
    ShareClick,
    Status,
)

TITLE_MAX = 200
BODY_MAX = 20_000
LONG_TEXT_MAX = 3_000
COMMENT_MAX = 5_000


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


_QUIET: ContextVar[bool] = ContextVar("content_quiet_notifications", default=False)


@contextmanager
def notifications_paused() -> Iterator[None]:
    """Replay history without telling anyone (the demo reviews messages months in the past)."""
    token = _QUIET.set(True)
    try:
        yield
    finally:
        _QUIET.reset(token)


def _notify(**kwargs: Any) -> None:
    if not _QUIET.get():
        notifications.notify(**kwargs)


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _require_curator(user: User) -> None:
    if not user.has_role(RoleName.CURATOR):
        raise PermissionDenied("Writing messages needs the curator role.")


def _require_reviewer(user: User) -> None:
    if not user.has_role(RoleName.REVIEWER):
        raise PermissionDenied("Reviewing messages needs the reviewer role.")


def clean_http_url(value: str, *, field: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    if len(value) > 500 or not re.match(r"^https?://[^\s/$.?#][^\s]*$", value, re.IGNORECASE):
        raise ServiceError("Enter an http:// or https:// address.", field=field)
    return value


def _clean_text(value: Any, *, field: str, max_length: int, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ServiceError("Must be text.", field=field)
    value = value.strip()
    if required and not value:
        raise ServiceError("This cannot be empty.", field=field)
    if len(value) > max_length:
        raise ServiceError(f"At most {max_length} characters ({len(value)} given).", field=field)
    return value


def _clean_slugs(values: Any, *, field: str) -> list[str]:
    if values is None:
        return []
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, str) for v in values):
        raise ServiceError("Must be a list of slugs.", field=field)
    return sorted({v.strip() for v in values if v.strip()})


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
    from django.contrib.postgres.search import SearchVector

    config = selectors.SEARCH_CONFIG
    vector = (
        SearchVector("title", weight="A", config=config)
        + SearchVector("short_text", "long_text", weight="B", config=config)
        + SearchVector("body", weight="C", config=config)
    )
    Message.objects.filter(pk=message_id).update(search_vector=vector)


def _message_url(message_id: int) -> str:
    return reverse("content:message_detail", args=[message_id])


def _reviewer_ids(*, exclude: set[int]) -> list[int]:
    reviewers = User.objects.filter(is_active=True, roles__slug=RoleName.REVIEWER).values_list("id", flat=True)
    ids = {pk for pk in reviewers if pk not in exclude}
    if not ids:  # nobody holds the role: the administrators review
        admins = User.objects.filter(is_active=True, roles__slug=RoleName.ADMIN).values_list("id", flat=True)
        ids = {pk for pk in admins if pk not in exclude}
    return sorted(ids)


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
    latest = latest_revision_of(message)
    if user.pk not in (message.author_id, latest.author_id):
        raise PermissionDenied("Only the author submits a message for review.")
    if message.status == Status.DRAFT:
        message.status = Status.IN_REVIEW
    elif message.status in APPROVED_STATUSES and message.pending_status == PendingStatus.DRAFT:
        message.pending_status = PendingStatus.IN_REVIEW
    else:
        raise Conflict(
            f"A message that is {_state_label(message, now)} cannot be submitted.", status=message.status_at(now)
        )
    message.updated_at = now
    message.save(update_fields=["status", "pending_status", "updated_at"])
    _event(message, Action.SUBMITTED, actor=user, at=now, revision=latest)
    _notify_reviewers(message, latest)
    return message


def _state_label(message: Message, now: datetime) -> str:
    label = Status(message.status_at(now)).label.lower()
    if message.pending_status:
        label += f" with a pending revision ({PendingStatus(message.pending_status).label.lower()})"
    return label


def _under_review(message: Message) -> bool:
    return message.status == Status.IN_REVIEW or message.pending_status == PendingStatus.IN_REVIEW


def _check_review(*, user: User, message: Message, revision_id: int | None, now: datetime) -> MessageRevision:
    _require_reviewer(user)
    latest = latest_revision_of(message, with_author=True)
    if is_own_work(user.pk, message.author_id, latest.author_id):
        raise PermissionDenied("Authors cannot review their own messages.")
    if not _under_review(message):
        raise Conflict(f"This message is {_state_label(message, now)}, not in review.", status=message.status_at(now))
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
        activity=Activity(
            kind=ActivityKind.MESSAGE_PUBLISHED,
            occurred_at=at,
            object_type="content.message",
            object_id=message.pk,
            key=f"content:message_published:{message.pk}",
            actor_id=author.pk,
            department_id=author.department_id,
            data={"approved_by": message.approved_by_id, "revision_id": message.revision_id},
        ),
    )


# --- The schedule -----------------------------------------------------------------------


def messages_apply_schedule(*, now: datetime | None = None, batch_size: int = 200) -> dict[str, int]:
    """Bring stored statuses up to date with the times: publish what is due, expire what is over.

    Idempotent and safe to run concurrently: each row changes with a conditional update
    whose row count decides who records the event. Events carry the time the change
    really happened (``publish_at`` / ``expires_at``), not the time the job ran.
    """
    now = _now(now)
    published = expired = 0
    due_ids = list(
        Message.objects.filter(status=Status.SCHEDULED, publish_at__lte=now).values_list("id", flat=True)[:batch_size]
    )
    for message_id in due_ids:
        published += _publish_due(message_id, now=now)
    over_ids = list(
        Message.objects.filter(status__in=[Status.SCHEDULED, Status.PUBLISHED], expires_at__lte=now).values_list(
            "id", flat=True
        )[:batch_size]
    )
    for message_id in over_ids:
        expired += _expire_due(message_id, now=now)
    return {"published": published, "expired": expired}


@transaction.atomic
def _publish_due(message_id: int, *, now: datetime) -> int:
    message = Message.objects.select_for_update().filter(pk=message_id).first()
    if message is None or message.status != Status.SCHEDULED or message.publish_at is None or message.publish_at > now:
        return 0
    changed = Message.objects.filter(pk=message_id, status=Status.SCHEDULED).update(status=Status.PUBLISHED)
    if not changed:
        return 0
    went_live = message.publish_at  # approval came earlier, or it would have gone live then
    _event(message, Action.PUBLISHED, actor=None, at=went_live, revision=message.revision)
    if message.first_published_at is None:
        Message.objects.filter(pk=message_id, first_published_at__isnull=True).update(first_published_at=went_live)
        message.status = Status.PUBLISHED
        _announce_published(message, at=went_live)
    return 1


@transaction.atomic
def _expire_due(message_id: int, *, now: datetime) -> int:
    message = Message.objects.select_for_update().filter(pk=message_id).first()
    if message is None or message.expires_at is None or message.expires_at > now:
        return 0
    changed = Message.objects.filter(
        pk=message_id, status__in=[Status.SCHEDULED, Status.PUBLISHED], expires_at__lte=now
    ).update(status=Status.EXPIRED)
    if not changed:
        return 0
    if message.status == Status.SCHEDULED and message.publish_at and message.publish_at < message.expires_at:
        # It was due (and visible) between the two times even though no job saw it.
        _event(message, Action.PUBLISHED, actor=None, at=message.publish_at, revision=message.revision)
        if message.first_published_at is None:
            Message.objects.filter(pk=message_id, first_published_at__isnull=True).update(
                first_published_at=message.publish_at
            )
            _announce_published(message, at=message.publish_at)
    _event(message, Action.EXPIRED, actor=None, at=message.expires_at, revision=message.revision)
    return 1


# --- Shares and clicks ---------------------------------------------------------------------


def share_text(message: Message, *, channel: str, url: str) -> str:
    """What an employee posts: the variant for the channel, then the tracking link."""
    if channel == Channel.X:
        text = message.short_text or message.title
    elif channel == Channel.EMAIL:
        text = message.long_text or message.body
    else:
        text = message.long_text or message.short_text or message.title
    return f"{text}\n\n{url}"


def share_url(share: Share) -> str:
    return settings.ENGAGE_SITE_URL + reverse("content:share_redirect", args=[share.code])


SHARE_REQUEST_KEY_MAX = 64


@transaction.atomic
def share_create(
    *, user: User, message_id: int, channel: str, request_key: str = "", now: datetime | None = None
) -> Share:
    """A tracking link for ``user`` sharing a live message to ``channel``.

    With a ``request_key`` (the share form's one-time key) the call is idempotent: the same
    person, channel and key get the share already made, however close together the requests
    come (a unique constraint decides, not a read before the write).
    """
    now = _now(now)
    message = selectors.message_get_for_user(user=user, id=message_id, now=now)
    if channel not in Channel.values:
        raise ServiceError(f"Choose where to share it: {', '.join(Channel.labels)}.", field="channel")
    if len(request_key) > SHARE_REQUEST_KEY_MAX:
        raise ServiceError(f"The request key is longer than {SHARE_REQUEST_KEY_MAX} characters.", field="request_key")
    if not message.is_live(now):
        raise Conflict("Only a published message can be shared.", status=message.status_at(now))
    for _attempt in range(5):
        try:
            with transaction.atomic():
                share = Share.objects.create(
                    message=message,
                    user=user,
                    department_id=user.department_id,
                    channel=channel,
                    code=secrets.token_urlsafe(9),
                    created_at=now,
                    request_key=request_key,
                )
            break
        except IntegrityError:
            if request_key:
                earlier = Share.objects.filter(
                    user=user, channel=channel, request_key=request_key, message=message
                ).first()
                if earlier is not None:
                    return earlier  # the same request again: already made and announced
            continue  # otherwise a code collision, astronomically rare: draw again
    else:
        raise RuntimeError("could not draw a unique share code")
    announce(
        signals.activity,
        sender=Share,
        activity=Activity(
            kind=ActivityKind.MESSAGE_SHARED,
            occurred_at=now,
            object_type="content.message",
            object_id=message.pk,
            key=f"content:message_shared:{share.pk}",
            actor_id=user.pk,
            department_id=user.department_id,
            data={"share_id": share.pk, "channel": channel},
        ),
    )
    return share


# A client that says it is a robot, a crawler or a link previewer is not a visitor.
BOT_USER_AGENT = re.compile(
    r"bot|crawl|spider|slurp|preview|facebookexternalhit|facebookcatalog|embedly|whatsapp|skypeuri|"
    r"headless|lighthouse|pingdom|uptime|monitor|curl/|wget/|python-requests|python-urllib|httpx|"
    r"go-http-client|java/|okhttp|libwww|feedfetcher|scrapy|phantomjs",
    re.IGNORECASE,
)


def is_bot(user_agent: str) -> bool:
    return bool(BOT_USER_AGENT.search(user_agent or ""))


def visitor_key(*, address: str, user_agent: str, day: str) -> str:
    """A keyed hash of who the visitor seems to be on ``day``; the address is not kept."""
    secret = hashlib.sha256(f"engage-share-visitor:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(secret, f"{address}|{user_agent}|{day}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Followed:
    share: Share
    target: str
    counted: bool


def share_follow(*, code: str, address: str, user_agent: str, now: datetime | None = None) -> Followed | None:
    """Where a share link leads, counting the click once per visitor and day (bots never).

    ``None`` for a code that does not exist.
    """
    now = _now(now)
    share = Share.objects.select_related("message").filter(code=code).first()
    if share is None:
        return None
    target = share.message.link_url or reverse("content:share_landing", args=[share.code])
    if is_bot(user_agent):
        return Followed(share=share, target=target, counted=False)
    day = timezone.localdate(now)
    visitor = visitor_key(address=address, user_agent=user_agent[:500], day=day.isoformat())
    with transaction.atomic():
        try:
            with transaction.atomic():
                click = ShareClick.objects.create(share=share, visitor=visitor, day=day, clicked_at=now)
        except IntegrityError:
            return Followed(share=share, target=target, counted=False)
        Share.objects.filter(pk=share.pk).update(click_count=F("click_count") + 1)
        announce(
            signals.activity,
            sender=ShareClick,
            activity=Activity(
                kind=ActivityKind.SHARE_LINK_CLICKED,
                occurred_at=now,
                object_type="content.message",
                object_id=share.message_id,
                key=f"content:share_link_clicked:{click.pk}",
                actor_id=None,
                department_id=share.department_id,
                data={"share_id": share.pk, "sharer_id": share.user_id, "channel": share.channel},
            ),
        )
    return Followed(share=share, target=target, counted=True)


def schedule_apply(*, now: datetime | None = None) -> dict[str, int]:
    """The scheduled job's work: messages (and toolkits) published and expired on time."""
    now = _now(now)
    return {**messages_apply_schedule(now=now), **toolkits_apply_schedule(now=now)}


# --- Toolkits ----------------------------------------------------------------------------------

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
NOTE_MAX = 1_000
DESCRIPTION_MAX = 10_000


class UploadTooLarge(ServiceError):
    """An upload over the limit (413)."""


class ToolkitFields(TypedDict, total=False):
    title: str
    description: str
    campaign: str
    audience: list[str]
    publish_at: datetime | None
    expires_at: datetime | None


TOOLKIT_FIELD_NAMES = tuple(ToolkitFields.__annotations__)


def _sniff_zip_office(head: bytes, upload: Any) -> bool:
    """An Office Open XML document: a zip whose directory names ``[Content_Types].xml``."""
    import zipfile

    if not head.startswith(b"PK\x03\x04"):
        return False
    try:
        upload.seek(0)
        with zipfile.ZipFile(upload) as archive:
            return "[Content_Types].xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    finally:
        upload.seek(0)


def _sniff_text(head: bytes, upload: Any) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:  # a multi-byte character cut at the end of the sample is fine
        if exc.start < len(head) - 3:
            return False
    lowered = head.lstrip().lower()
    return not lowered.startswith((b"<!doctype", b"<html", b"<svg", b"<?xml", b"<script"))


def _magic(*prefixes: bytes) -> Any:
    return lambda head, upload: head.startswith(prefixes)


def _sniff_webp(head: bytes, upload: Any) -> bool:
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP"


# extension → (content type served, check of the first bytes)
ALLOWED_UPLOADS: dict[str, tuple[str, Any]] = {
    ".pdf": ("application/pdf", _magic(b"%PDF-")),
    ".png": ("image/png", _magic(b"\x89PNG\r\n\x1a\n")),
    ".jpg": ("image/jpeg", _magic(b"\xff\xd8\xff")),
    ".jpeg": ("image/jpeg", _magic(b"\xff\xd8\xff")),
    ".gif": ("image/gif", _magic(b"GIF87a", b"GIF89a")),
    ".webp": ("image/webp", _sniff_webp),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", _sniff_zip_office),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _sniff_zip_office),
    ".pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", _sniff_zip_office),
    ".txt": ("text/plain; charset=utf-8", _sniff_text),
    ".csv": ("text/csv; charset=utf-8", _sniff_text),
    ".md": ("text/markdown; charset=utf-8", _sniff_text),
}


def upload_check(upload: Any) -> tuple[str, str]:
    """Refuse what is too big or not what it claims to be; returns (clean name, content type).

    The extension must be on the allow-list and the first bytes must match it (the
    browser's declared type is ignored: it is whatever the sender says).
    """
    from pathlib import PurePosixPath

    size = getattr(upload, "size", None)
    if size is None:
        raise ServiceError("Attach a file.", field="file")
    if size > MAX_UPLOAD_BYTES:
        raise UploadTooLarge(f"Files may be at most {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.", field="file")
    if size == 0:
        raise ServiceError("The file is empty.", field="file")
    raw_name = (getattr(upload, "name", "") or "").replace("\\", "/")
    name = PurePosixPath(raw_name).name.strip()[:200] or "file"
    suffix = PurePosixPath(name).suffix.lower()
    allowed = ALLOWED_UPLOADS.get(suffix)
    if allowed is None:
        kinds = ", ".join(sorted(ALLOWED_UPLOADS))
        raise ServiceError(f"Files of type {suffix or '(none)'} are not accepted; use one of {kinds}.", field="file")
    content_type, check = allowed
    upload.seek(0)
    head = upload.read(2048)
    upload.seek(0)
    if not check(head, upload):
        raise ServiceError(f"The file's content is not a {suffix} file.", field="file")
    return name, content_type


def _toolkit_event(toolkit: Any, action: str, *, actor: User | None, at: datetime, comment: str = "") -> None:
    from content.models import ToolkitEvent

    ToolkitEvent.objects.create(toolkit=toolkit, action=action, actor=actor, at=at, comment=comment)


def _clean_toolkit(fields: dict[str, Any], *, now: datetime, check_times: bool = True) -> dict[str, Any]:
    department_slugs = _clean_slugs(fields.get("audience"), field="audience")
    departments = list(Department.objects.filter(slug__in=department_slugs))
    missing = sorted(set(department_slugs) - {d.slug for d in departments})
    if missing:
        raise ServiceError(f"Unknown departments: {', '.join(missing)}", field="audience")
    publish_at, expires_at = fields.get("publish_at"), fields.get("expires_at")
    for name, value in (("publish_at", publish_at), ("expires_at", expires_at)):
        if value is not None and (not isinstance(value, datetime) or timezone.is_naive(value)):
            raise ServiceError("Give a time with its zone.", field=name)
    if publish_at and expires_at and expires_at <= publish_at:
        raise ServiceError("The expiry must come after the publication time.", field="expires_at")
    if check_times and expires_at and expires_at <= now:
        raise ServiceError("The expiry must be in the future.", field="expires_at")
    return {
        "title": _clean_text(fields.get("title"), field="title", max_length=TITLE_MAX, required=True),
        "description": _clean_text(fields.get("description"), field="description", max_length=DESCRIPTION_MAX),
        "campaign": _clean_text(fields.get("campaign"), field="campaign", max_length=120),
        "audience": departments,
        "publish_at": publish_at,
        "expires_at": expires_at,
    }


def _toolkit_locked(*, user: User, toolkit_id: int, now: datetime) -> Any:
    return selectors.toolkit_get_for_user(user=user, id=toolkit_id, lock=True, now=now)


def _require_draft(toolkit: Any, now: datetime) -> None:
    if toolkit.status != Status.DRAFT:
        raise Conflict(
            f"A toolkit that is {Status(toolkit.status_at(now)).label.lower()} cannot be changed; reopen it first.",
            status=toolkit.status_at(now),
        )


@transaction.atomic
def toolkit_create(*, author: User, fields: ToolkitFields, now: datetime | None = None) -> Any:
    from content.models import Toolkit

    now = _now(now)
    _require_curator(author)
    clean = _clean_toolkit(dict(fields), now=now)
    audience = clean.pop("audience")
    toolkit = Toolkit.objects.create(
        author=author,
        description_html=render_markdown(clean["description"]),
        created_at=now,
        updated_at=now,
        **clean,
    )
    toolkit.audience.set(audience)
    _toolkit_event(toolkit, Action.CREATED, actor=author, at=now)
    return toolkit


@transaction.atomic
def toolkit_update(*, user: User, toolkit_id: int, fields: ToolkitFields, now: datetime | None = None) -> Any:
    now = _now(now)
    toolkit = _toolkit_locked(user=user, toolkit_id=toolkit_id, now=now)
    _require_curator(user)
    _require_draft(toolkit, now)
    unknown = set(fields) - set(TOOLKIT_FIELD_NAMES)
    if unknown:
        raise ServiceError(f"Unknown fields: {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    current = {
        "title": toolkit.title,
        "description": toolkit.description,
        "campaign": toolkit.campaign,
        "audience": [d.slug for d in toolkit.audience.all()],
        "publish_at": toolkit.publish_at,
        "expires_at": toolkit.expires_at,
    }
    given = dict(fields)
    times_changed = any(name in given and given[name] != current[name] for name in ("publish_at", "expires_at"))
    clean = _clean_toolkit({**current, **fields}, now=now, check_times=times_changed)
    audience = clean.pop("audience")
    for name, value in clean.items():
        setattr(toolkit, name, value)
    toolkit.description_html = render_markdown(toolkit.description)
    toolkit.updated_at = now
    toolkit.save()
    toolkit.audience.set(audience)
    _toolkit_event(toolkit, Action.EDITED, actor=user, at=now)
    return toolkit


@transaction.atomic
def toolkit_item_add(
    *,
    user: User,
    toolkit_id: int,
    kind: str,
    message_id: int | None = None,
    course_id: int | None = None,
    url: str = "",
    upload: Any = None,
    title: str = "",
    note: str = "",
    now: datetime | None = None,
) -> Any:
    """Add an item at the end of a draft toolkit (files checked for type and size)."""
    from content.models import ItemKind, ToolkitItem

    now = _now(now)
    toolkit = _toolkit_locked(user=user, toolkit_id=toolkit_id, now=now)
    _require_curator(user)
    _require_draft(toolkit, now)
    if kind not in ItemKind.values:
        raise ServiceError(f"Choose one of: {', '.join(ItemKind.values)}.", field="kind")
    item = ToolkitItem(
        toolkit=toolkit,
        kind=kind,
        title=_clean_text(title, field="title", max_length=TITLE_MAX),
        note=_clean_text(note, field="note", max_length=NOTE_MAX),
        created_at=now,
    )
    if kind == ItemKind.MESSAGE:
        if not message_id:
            raise ServiceError("Choose a message.", field="message")
        message = Message.objects.filter(pk=message_id).first()
        if message is None:
            raise ServiceError("No such message.", field="message")
        if message.status not in APPROVED_STATUSES:
            raise ServiceError("Only approved messages go into toolkits.", field="message")
        item.message = message
    elif kind == ItemKind.COURSE:
        from training.models import Course, CourseStatus

        if not course_id:
            raise ServiceError("Choose a course.", field="course")
        course = Course.objects.filter(pk=course_id).first()
        if course is None:
            raise ServiceError("No such course.", field="course")
        if course.status != CourseStatus.PUBLISHED:
            raise ServiceError("Only published courses go into toolkits.", field="course")
        item.course = course
    elif kind == ItemKind.LINK:
        item.url = clean_http_url(url, field="url")
        if not item.url:
            raise ServiceError("Give the link's address.", field="url")
    else:
        name, content_type = upload_check(upload)
        item.file_name, item.content_type, item.file_size = name, content_type, upload.size
        item.file.save(name, upload, save=False)
    last = toolkit.items.order_by("-position").values_list("position", flat=True).first()
    item.position = (last or 0) + 1
    try:
        item.save()
    except Exception:
        if item.file:
            item.file.delete(save=False)
        raise
    toolkit.updated_at = now
    toolkit.save(update_fields=["updated_at"])
    _toolkit_event(toolkit, Action.ITEM_ADDED, actor=user, at=now, comment=item.display_title)
    return item


@transaction.atomic
def toolkit_item_remove(*, user: User, toolkit_id: int, item_id: int, now: datetime | None = None) -> None:
    now = _now(now)
    toolkit = _toolkit_locked(user=user, toolkit_id=toolkit_id, now=now)
    _require_curator(user)
    _require_draft(toolkit, now)
    # Locked first, so a download's use either waits for the removal or is removed with it.
    item = toolkit.items.select_for_update().filter(pk=item_id).first()
    if item is None:
        from django.http import Http404

        raise Http404("No such item.")
    title = item.display_title
    stored = item.file.name if item.file else ""
    storage = item.file.storage if item.file else None
    item.delete()
    if stored and storage is not None:
        transaction.on_commit(lambda: storage.delete(stored))
    toolkit.updated_at = now
    toolkit.save(update_fields=["updated_at"])
    _toolkit_event(toolkit, Action.ITEM_REMOVED, actor=user, at=now, comment=title)


@transaction.atomic
def toolkit_items_reorder(*, user: User, toolkit_id: int, item_ids: list[int], now: datetime | None = None) -> None:
    """Put the items in this order; ``item_ids`` must name each item once."""
    now = _now(now)
    toolkit = _toolkit_locked(user=user, toolkit_id=toolkit_id, now=now)
    _require_curator(user)
    _require_draft(toolkit, now)
    current = list(toolkit.items.values_list("id", flat=True))
    if sorted(current) != sorted(item_ids) or len(set(item_ids)) != len(item_ids):
        raise ServiceError("Name every item of the toolkit exactly once.", field="item_ids")
    from content.models import ToolkitItem

    for position, item_id in enumerate(item_ids, start=1):
        ToolkitItem.objects.filter(pk=item_id, toolkit=toolkit).update(position=position)
    toolkit.updated_at = now
    toolkit.save(update_fields=["updated_at"])
    _toolkit_event(toolkit, Action.EDITED, actor=user, at=now, comment="Items reordered")


@transaction.atomic
def toolkit_submit(*, user: User, toolkit_id: int, now: datetime | None = None) -> Any:
    now = _now(now)
    toolkit = _toolkit_locked(user=user, toolkit_id=toolkit_id, now=now)
    enforce(policy.toolkit_submit(user, toolkit, now))
    if not toolkit.items.exists():
        raise ServiceError("Add at least one item before submitting.", field="items")
    toolkit.status = Status.IN_REVIEW
    toolkit.updated_at = now
    toolkit.save(update_fields=["status", "updated_at"])
    _toolkit_event(toolkit, Action.SUBMITTED, actor=user, at=now)
    _notify(
        user_ids=_reviewer_ids(exclude={toolkit.author_id}),
        kind="content_review_requested",
        title=f"Review requested: toolkit {toolkit.title}"[:200],
        body=f"The toolkit “{toolkit.title}” waits for your review.",
        url=reverse("content:toolkit_detail", args=[toolkit.pk]),
        dedupe_key=f"content:toolkit_review_requested:{toolkit.pk}:{int(now.timestamp())}",
    )
    return toolkit


def _check_toolkit_review(*, user: User, toolkit: Any, now: datetime) -> None:
    enforce(policy.toolkit_review(user, toolkit, now))


@transaction.atomic
def toolkit_approve(*, user: User, toolkit_id: int, now: datetime | None = None) -> Any:
    now = _now(now)
    toolkit = _toolkit_locked(user=user, toolkit_id=toolkit_id, now=now)
    _check_toolkit_review(user=user, toolkit=toolkit, now=now)
    if toolkit.expires_at is not None and toolkit.expires_at <= now:
        raise Conflict("Its expiry has passed; reopen it and change the times.", field="expires_at")
    live = toolkit.publish_at is None or toolkit.publish_at <= now
    toolkit.status = Status.PUBLISHED if live else Status.SCHEDULED
    toolkit.approved_at, toolkit.approved_by, toolkit.updated_at = now, user, now
    if live and toolkit.first_published_at is None:
        toolkit.first_published_at = now
    toolkit.save()
    _toolkit_event(toolkit, Action.APPROVED, actor=user, at=now)
    _toolkit_event(toolkit, Action.PUBLISHED if live else Action.SCHEDULED, actor=user, at=now)
    _notify(
        user_ids=[toolkit.author_id],
        kind="content_review_result",
        title=f"Approved: toolkit {toolkit.title}"[:200],
        body=f"{user.name} approved the toolkit “{toolkit.title}”.",
        url=reverse("content:toolkit_detail", args=[toolkit.pk]),
        dedupe_key=f"content:toolkit_approved:{toolkit.pk}:{int(now.timestamp())}",
    )
    return toolkit


@transaction.atomic
def toolkit_reject(*, user: User, toolkit_id: int, comment: str, now: datetime | None = None) -> Any:
    now = _now(now)
    comment = _clean_text(comment, field="comment", max_length=COMMENT_MAX, required=True)
    toolkit = _toolkit_locked(user=user, toolkit_id=toolkit_id, now=now)
    _check_toolkit_review(user=user, toolkit=toolkit, now=now)
    toolkit.status = Status.DRAFT
    toolkit.updated_at = now
    toolkit.save(update_fields=["status", "updated_at"])
    _toolkit_event(toolkit, Action.REJECTED, actor=user, at=now, comment=comment)
    _notify(
        user_ids=[toolkit.author_id],
        kind="content_review_result",
        title=f"Changes requested: toolkit {toolkit.title}"[:200],
        body=f"{user.name} sent the toolkit “{toolkit.title}” back:\n\n{comment}",
        url=reverse("content:toolkit_detail", args=[toolkit.pk]),
        dedupe_key=f"content:toolkit_rejected:{toolkit.pk}:{int(now.timestamp())}",
    )
    return toolkit


@transaction.atomic
def toolkit_reopen(*, user: User, toolkit_id: int, now: datetime | None = None) -> Any:
    """Back to draft for editing: out of sight until approved again."""
    now = _now(now)
    toolkit = _toolkit_locked(user=user, toolkit_id=toolkit_id, now=now)
    enforce(policy.toolkit_reopen(user, toolkit, now))
    toolkit.status = Status.DRAFT
    toolkit.updated_at = now
    toolkit.save(update_fields=["status", "updated_at"])
    _toolkit_event(toolkit, Action.REOPENED, actor=user, at=now)
    return toolkit


def _item_held_for_use(toolkit_id: int, item_id: int) -> bool:
    """Whether the item is still there, held (``FOR KEY SHARE``) with its toolkit until this
    use commits.

    A curator's removal locks the toolkit, then the item (``toolkit_item_remove``), in the
    same order: either it waits for this use and removes it with the item, or this use
    waits for the removal and finds the item gone. Without the hold, a use inserted after
    the removal had looked for uses failed its foreign key at commit (a 500).
    """
    from content.models import Toolkit, ToolkitItem

    if connection.vendor != "postgresql":
        return ToolkitItem.objects.filter(pk=item_id).exists()  # SQLite: one writer at a time
    with connection.cursor() as cursor:
        for table, pk in ((Toolkit._meta.db_table, toolkit_id), (ToolkitItem._meta.db_table, item_id)):
            cursor.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR KEY SHARE", [pk])  # noqa: S608
            if cursor.fetchone() is None:
                return False
    return True


@transaction.atomic
def toolkit_item_use(*, user: User, toolkit_id: int, item_id: int, now: datetime | None = None) -> Any:
    """Record that ``user`` used an item of a live toolkit (counted per person, item and day)."""
    from content.models import ToolkitItemUse

    now = _now(now)
    toolkit = selectors.toolkit_get_for_user(user=user, id=toolkit_id, now=now)
    item = selectors.toolkit_item_get_for_user(user=user, toolkit=toolkit, item_id=item_id, now=now)
    if not toolkit.is_live(now):
        return item  # curators trying a draft out: not a use
    if not _item_held_for_use(toolkit.pk, item.pk):
        from django.http import Http404

        raise Http404("This item has just been removed.")
    day = timezone.localdate(now)
    try:
        with transaction.atomic():
            ToolkitItemUse.objects.create(
                item=item,
                toolkit=toolkit,
                user=user,
                department_id=user.department_id,
                day=day,
                first_at=now,
                last_at=now,
            )
    except IntegrityError:
        ToolkitItemUse.objects.filter(item=item, user=user, day=day).update(count=F("count") + 1, last_at=now)
        return item
    data: dict[str, Any] = {"item_id": item.pk, "item_kind": item.kind}
    if item.message_id:
        data["message_id"] = item.message_id
    if item.course_id:
        data["course_id"] = item.course_id
    from content.models import ToolkitItemUse as Sender

    announce(
        signals.activity,
        sender=Sender,
        activity=Activity(
            kind=ActivityKind.TOOLKIT_ITEM_USED,
            occurred_at=now,
            object_type="content.toolkit",
            object_id=toolkit.pk,
            key=f"content:toolkit_item_used:{item.pk}:{user.pk}:{day.isoformat()}",
            actor_id=user.pk,
            department_id=user.department_id,
            data=data,
        ),
    )
    return item


def toolkits_apply_schedule(*, now: datetime | None = None) -> dict[str, int]:
    """Scheduled toolkits go live at ``publish_at``; toolkits past ``expires_at`` expire."""
    from content.models import Toolkit

    now = _now(now)
    published = expired = 0
    for toolkit in Toolkit.objects.filter(status=Status.SCHEDULED, publish_at__lte=now).only("id", "publish_at")[:200]:
        with transaction.atomic():
            if Toolkit.objects.filter(pk=toolkit.pk, status=Status.SCHEDULED, publish_at__lte=now).update(
                status=Status.PUBLISHED
            ):
                Toolkit.objects.filter(pk=toolkit.pk, first_published_at__isnull=True).update(
                    first_published_at=toolkit.publish_at
                )
                _toolkit_event(toolkit, Action.PUBLISHED, actor=None, at=toolkit.publish_at or now)
                published += 1
    over = Toolkit.objects.filter(status__in=[Status.SCHEDULED, Status.PUBLISHED], expires_at__lte=now)
    for toolkit in over.only("id", "expires_at")[:200]:
        with transaction.atomic():
            if Toolkit.objects.filter(
                pk=toolkit.pk, status__in=[Status.SCHEDULED, Status.PUBLISHED], expires_at__lte=now
            ).update(status=Status.EXPIRED):
                _toolkit_event(toolkit, Action.EXPIRED, actor=None, at=toolkit.expires_at or now)
                expired += 1
    return {"toolkits_published": published, "toolkits_expired": expired}
