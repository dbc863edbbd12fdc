"""Toolkits: a curator's bundle of approved messages, published courses, links and files,
with the same review as messages and a count of each item's uses per person and day."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict

from django.core.files.base import File
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from accounts.models import Department, User
from config.activity import ActivityKind, activity, activity_key, announce
from config.errors import Conflict, ServiceError
from config.markdown import render_markdown
from config.policy import enforce
from content import policy, selectors, signals
from content.models import (
    APPROVED_STATUSES,
    Action,
    ItemKind,
    Message,
    Status,
    Toolkit,
    ToolkitEvent,
    ToolkitItem,
    ToolkitItemUse,
)
from content.services.common import (
    COMMENT_MAX,
    TITLE_MAX,
    _clean_slugs,
    _clean_text,
    _notify,
    _now,
    _require_curator,
    _reviewer_ids,
    clean_http_url,
)
from content.services.uploads import upload_check
from training.models import Course, CourseStatus

NOTE_MAX = 1_000
DESCRIPTION_MAX = 10_000


class ToolkitFields(TypedDict, total=False):
    title: str
    description: str
    campaign: str
    audience: list[str]
    publish_at: datetime | None
    expires_at: datetime | None


TOOLKIT_FIELD_NAMES = tuple(ToolkitFields.__annotations__)


def _toolkit_event(toolkit: Toolkit, action: str, *, actor: User | None, at: datetime, comment: str = "") -> None:
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


def _toolkit_locked(*, user: User, toolkit_id: int, now: datetime) -> Toolkit:
    return selectors.toolkit_get_for_user(user=user, id=toolkit_id, lock=True, now=now)


def _require_draft(toolkit: Toolkit, now: datetime) -> None:
    if toolkit.status != Status.DRAFT:
        raise Conflict(
            f"A toolkit that is {Status(toolkit.status_at(now)).label.lower()} cannot be changed; reopen it first.",
            status=toolkit.status_at(now),
        )


def _toolkit_to_change(*, user: User, toolkit_id: int, now: datetime) -> Toolkit:
    """The toolkit, locked, for a change to it or its items: curators only, and only a draft."""
    toolkit = _toolkit_locked(user=user, toolkit_id=toolkit_id, now=now)
    _require_curator(user)
    _require_draft(toolkit, now)
    return toolkit


@transaction.atomic
def toolkit_create(*, author: User, fields: ToolkitFields, now: datetime | None = None) -> Toolkit:
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
def toolkit_update(*, user: User, toolkit_id: int, fields: ToolkitFields, now: datetime | None = None) -> Toolkit:
    now = _now(now)
    toolkit = _toolkit_to_change(user=user, toolkit_id=toolkit_id, now=now)
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
    upload: File[bytes] | None = None,
    title: str = "",
    note: str = "",
    now: datetime | None = None,
) -> ToolkitItem:
    """Add an item at the end of a draft toolkit (files checked for type and size)."""
    now = _now(now)
    toolkit = _toolkit_to_change(user=user, toolkit_id=toolkit_id, now=now)
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
        assert upload is not None  # upload_check refuses a missing file
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
    toolkit = _toolkit_to_change(user=user, toolkit_id=toolkit_id, now=now)
    # Locked first, so a download's use either waits for the removal or is removed with it.
    item = toolkit.items.select_for_update().filter(pk=item_id).first()
    if item is None:
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
    toolkit = _toolkit_to_change(user=user, toolkit_id=toolkit_id, now=now)
    current = list(toolkit.items.values_list("id", flat=True))
    if sorted(current) != sorted(item_ids) or len(set(item_ids)) != len(item_ids):
        raise ServiceError("Name every item of the toolkit exactly once.", field="item_ids")
    for position, item_id in enumerate(item_ids, start=1):
        ToolkitItem.objects.filter(pk=item_id, toolkit=toolkit).update(position=position)
    toolkit.updated_at = now
    toolkit.save(update_fields=["updated_at"])
    _toolkit_event(toolkit, Action.EDITED, actor=user, at=now, comment="Items reordered")


@transaction.atomic
def toolkit_submit(*, user: User, toolkit_id: int, now: datetime | None = None) -> Toolkit:
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
        url=_toolkit_url(toolkit.pk),
        dedupe_key=f"content:toolkit_review_requested:{toolkit.pk}:{int(now.timestamp())}",
    )
    return toolkit


def _toolkit_url(toolkit_id: int) -> str:
    return reverse("content:toolkit_detail", args=[toolkit_id])


def _tell_author(toolkit: Toolkit, *, decision: str, title: str, body: str, at: datetime) -> None:
    """The author hears a reviewer's decision (``approved`` or ``rejected``): once per decision."""
    _notify(
        user_ids=[toolkit.author_id],
        kind="content_review_result",
        title=f"{title}: toolkit {toolkit.title}"[:200],
        body=body,
        url=_toolkit_url(toolkit.pk),
        dedupe_key=f"content:toolkit_{decision}:{toolkit.pk}:{int(at.timestamp())}",
    )


def _check_toolkit_review(*, user: User, toolkit: Toolkit, now: datetime) -> None:
    enforce(policy.toolkit_review(user, toolkit, now))


@transaction.atomic
def toolkit_approve(*, user: User, toolkit_id: int, now: datetime | None = None) -> Toolkit:
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
    _tell_author(
        toolkit,
        decision="approved",
        title="Approved",
        body=f"{user.name} approved the toolkit “{toolkit.title}”.",
        at=now,
    )
    return toolkit


@transaction.atomic
def toolkit_reject(*, user: User, toolkit_id: int, comment: str, now: datetime | None = None) -> Toolkit:
    now = _now(now)
    comment = _clean_text(comment, field="comment", max_length=COMMENT_MAX, required=True)
    toolkit = _toolkit_locked(user=user, toolkit_id=toolkit_id, now=now)
    _check_toolkit_review(user=user, toolkit=toolkit, now=now)
    toolkit.status = Status.DRAFT
    toolkit.updated_at = now
    toolkit.save(update_fields=["status", "updated_at"])
    _toolkit_event(toolkit, Action.REJECTED, actor=user, at=now, comment=comment)
    _tell_author(
        toolkit,
        decision="rejected",
        title="Changes requested",
        body=f"{user.name} sent the toolkit “{toolkit.title}” back:\n\n{comment}",
        at=now,
    )
    return toolkit


@transaction.atomic
def toolkit_reopen(*, user: User, toolkit_id: int, now: datetime | None = None) -> Toolkit:
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
    if connection.vendor != "postgresql":
        return ToolkitItem.objects.filter(pk=item_id).exists()  # SQLite: one writer at a time
    with connection.cursor() as cursor:
        for table, pk in ((Toolkit._meta.db_table, toolkit_id), (ToolkitItem._meta.db_table, item_id)):
            cursor.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR KEY SHARE", [pk])  # noqa: S608
            if cursor.fetchone() is None:
                return False
    return True


@transaction.atomic
def toolkit_item_use(*, user: User, toolkit_id: int, item_id: int, now: datetime | None = None) -> ToolkitItem:
    """Record that ``user`` used an item of a live toolkit (counted per person, item and day)."""
    now = _now(now)
    toolkit = selectors.toolkit_get_for_user(user=user, id=toolkit_id, now=now)
    item = selectors.toolkit_item_get_for_user(user=user, toolkit=toolkit, item_id=item_id, now=now)
    if not toolkit.is_live(now):
        return item  # curators trying a draft out: not a use
    if not _item_held_for_use(toolkit.pk, item.pk):
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
    announce(
        signals.activity,
        sender=ToolkitItemUse,
        activity=activity(
            kind=ActivityKind.TOOLKIT_ITEM_USED,
            occurred_at=now,
            object_type="content.toolkit",
            object_id=toolkit.pk,
            key=activity_key(ActivityKind.TOOLKIT_ITEM_USED, item.pk, user.pk, day),
            actor=user,
            data=data,
        ),
    )
    return item


def toolkits_apply_schedule(*, now: datetime | None = None) -> dict[str, int]:
    """Scheduled toolkits go live at ``publish_at``; toolkits past ``expires_at`` expire."""
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
