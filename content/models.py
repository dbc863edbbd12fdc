"""Approved messaging and toolkits.

A :class:`Message`'s own fields are the message *as it stands*: the approved (live)
revision once one has been approved, otherwise the working draft. Every edit adds a
:class:`MessageRevision` (an immutable snapshot); an edit of an approved message becomes
the message's *pending* revision (``latest_revision`` ≠ ``revision``, ``pending_status``
set) and goes live only when a reviewer approves that very revision.

Whether a message is visible is computed from its times (``publish_at``, ``expires_at``)
as well as its stored status, so a scheduling job that runs late never shows an expired
message nor hides a due one; the jobs only bring the stored status up to date.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    SCHEDULED = "scheduled", "Scheduled"
    PUBLISHED = "published", "Published"
    EXPIRED = "expired", "Expired"


# Statuses of something a reviewer has approved (it has a live revision).
APPROVED_STATUSES = (Status.SCHEDULED, Status.PUBLISHED, Status.EXPIRED)


class PendingStatus(models.TextChoices):
    NONE = "", "None"
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"


class Channel(models.TextChoices):
    LINKEDIN = "linkedin", "LinkedIn"
    X = "x", "X"
    FACEBOOK = "facebook", "Facebook"
    INSTAGRAM = "instagram", "Instagram"
    EMAIL = "email", "Email"
    OTHER = "other", "Other"


SHORT_TEXT_MAX = 280


def status_at(*, status: str, publish_at: datetime | None, expires_at: datetime | None, now: datetime) -> str:
    """The status as of ``now``: approved things follow their times, whatever the jobs did."""
    if status not in APPROVED_STATUSES:
        return status
    if expires_at is not None and expires_at <= now:
        return Status.EXPIRED
    if publish_at is not None and publish_at > now:
        return Status.SCHEDULED
    return Status.PUBLISHED


def live_q(now: datetime, prefix: str = "") -> Q:
    """Rows approved, due and not expired at ``now`` (the only ones employees see)."""
    return (
        Q(**{f"{prefix}status__in": [Status.SCHEDULED, Status.PUBLISHED]})
        & (Q(**{f"{prefix}publish_at__isnull": True}) | Q(**{f"{prefix}publish_at__lte": now}))
        & (Q(**{f"{prefix}expires_at__isnull": True}) | Q(**{f"{prefix}expires_at__gt": now}))
    )


class Message(models.Model):
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="authored_messages")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    # The message as it stands (the live revision once approved, else the working draft).
    title = models.CharField(max_length=200)
    body = models.TextField()
    body_html = models.TextField(editable=False)
    link_url = models.URLField(max_length=500, blank=True)
    short_text = models.CharField(max_length=SHORT_TEXT_MAX, blank=True)
    long_text = models.TextField(blank=True)
    topics = models.ManyToManyField("accounts.Topic", blank=True, related_name="messages")
    audience = models.ManyToManyField("accounts.Department", blank=True, related_name="targeted_messages")
    publish_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # The revision the fields above show, and the newest one (the pending one when they differ).
    revision = models.ForeignKey(
        "MessageRevision", on_delete=models.PROTECT, null=True, blank=True, related_name="+", editable=False
    )
    latest_revision = models.ForeignKey(
        "MessageRevision", on_delete=models.PROTECT, null=True, blank=True, related_name="+", editable=False
    )
    pending_status = models.CharField(max_length=20, choices=PendingStatus.choices, blank=True, default="")
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    first_published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # PostgreSQL full-text search over the live fields; kept up to date by the services
    # that write them (a GIN index is made by the migration on PostgreSQL only).
    search_vector = SearchVectorField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [
            models.Index(fields=["status", "publish_at", "expires_at"], name="message_visibility_idx"),
            models.Index(fields=["-updated_at", "-id"], name="message_updated_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__isnull=True)
                | Q(publish_at__isnull=True)
                | Q(expires_at__gt=models.F("publish_at")),
                name="message_expires_after_publish",
            ),
            models.CheckConstraint(
                condition=Q(pending_status="") | Q(status__in=APPROVED_STATUSES),
                name="message_pending_only_when_approved",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def status_at(self, now: datetime | None = None) -> str:
        return status_at(
            status=self.status, publish_at=self.publish_at, expires_at=self.expires_at, now=now or timezone.now()
        )

    def is_live(self, now: datetime | None = None) -> bool:
        return self.status_at(now) == Status.PUBLISHED

    @property
    def has_pending_revision(self) -> bool:
        return bool(self.pending_status) and self.latest_revision_id != self.revision_id


class MessageRevision(models.Model):
    """An immutable snapshot of a message as someone saved it."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=200)
    body = models.TextField()
    body_html = models.TextField()
    link_url = models.URLField(max_length=500, blank=True)
    short_text = models.CharField(max_length=SHORT_TEXT_MAX, blank=True)
    long_text = models.TextField(blank=True)
    topics = models.JSONField(default=list, blank=True)  # slugs, as saved
    audience = models.JSONField(default=list, blank=True)  # department slugs, as saved
    publish_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["message", "-number"]
        constraints = [models.UniqueConstraint(fields=["message", "number"], name="message_revision_number_unique")]

    def __str__(self) -> str:
        return f"{self.title} (revision {self.number})"


class Action(models.TextChoices):
    CREATED = "created", "Created"
    EDITED = "edited", "Edited"
    SUBMITTED = "submitted", "Submitted for review"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    SCHEDULED = "scheduled", "Scheduled"
    PUBLISHED = "published", "Published"
    EXPIRED = "expired", "Expired"
    WITHDRAWN = "withdrawn", "Withdrawn"
    ITEM_ADDED = "item_added", "Item added"
    ITEM_REMOVED = "item_removed", "Item removed"
    REOPENED = "reopened", "Reopened for editing"


class AuditEvent(models.Model):
    """Who did what, when (``actor`` is empty for what the scheduler did)."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    comment = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True


class MessageEvent(AuditEvent):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="events")
    revision = models.ForeignKey(MessageRevision, on_delete=models.CASCADE, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["message", "at"], name="message_event_idx")]

    def __str__(self) -> str:
        return f"{self.action} on message {self.message_id}"


class Share(models.Model):
    """A message shared by an employee to a channel, with its tracking link's code."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="shares")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="message_shares")
    # The sharer's department when they shared: usage by department does not move when people do.
    department = models.ForeignKey(
        "accounts.Department", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    channel = models.CharField(max_length=20, choices=Channel.choices)
    code = models.CharField(max_length=24, unique=True)
    click_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    # The share form's one-time key: a double click (or a retried request) sends the same key
    # and gets the same share back. Empty for requests that carry none.
    request_key = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "message", "channel", "request_key"],
                condition=~models.Q(request_key=""),
                name="share_request_key_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["message", "created_at"], name="share_message_idx"),
            models.Index(fields=["user", "created_at"], name="share_user_idx"),
            models.Index(fields=["created_at"], name="share_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.message_id} to {self.channel} by {self.user_id}"


class ShareClick(models.Model):
    """A visitor following a share link, counted once per visitor and day.

    ``visitor`` is a keyed hash of the address, the user agent and the day: no address is
    stored, and the same visitor cannot be followed from one day to the next.
    """

    share = models.ForeignKey(Share, on_delete=models.CASCADE, related_name="clicks")
    visitor = models.CharField(max_length=64)
    day = models.DateField()
    clicked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["share", "visitor", "day"], name="share_click_once_per_visitor_day")
        ]
        indexes = [models.Index(fields=["clicked_at"], name="share_click_time_idx")]

    def __str__(self) -> str:
        return f"click on share {self.share_id} on {self.day}"


# --- Toolkits ------------------------------------------------------------------------------


class Toolkit(models.Model):
    """An ordered bundle of messages, courses, files and links for an audience or a campaign.

    Reviewed and scheduled like a message. It is edited only as a draft: reopening an
    approved toolkit takes it back to draft (out of sight) until it is approved again, so
    nobody ever sees a bundle no reviewer saw.
    """

    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="authored_toolkits")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    description_html = models.TextField(blank=True, editable=False)
    campaign = models.CharField(max_length=120, blank=True)
    audience = models.ManyToManyField("accounts.Department", blank=True, related_name="targeted_toolkits")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    publish_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    first_published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["status", "publish_at", "expires_at"], name="toolkit_visibility_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__isnull=True)
                | Q(publish_at__isnull=True)
                | Q(expires_at__gt=models.F("publish_at")),
                name="toolkit_expires_after_publish",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def status_at(self, now: datetime | None = None) -> str:
        return status_at(
            status=self.status, publish_at=self.publish_at, expires_at=self.expires_at, now=now or timezone.now()
        )

    def is_live(self, now: datetime | None = None) -> bool:
        return self.status_at(now) == Status.PUBLISHED


class ToolkitEvent(AuditEvent):
    toolkit = models.ForeignKey(Toolkit, on_delete=models.CASCADE, related_name="events")

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["toolkit", "at"], name="toolkit_event_idx")]

    def __str__(self) -> str:
        return f"{self.action} on toolkit {self.toolkit_id}"


class ItemKind(models.TextChoices):
    MESSAGE = "message", "Message"
    COURSE = "course", "Course"
    FILE = "file", "File"
    LINK = "link", "Link"


def toolkit_upload_to(instance: ToolkitItem, filename: str) -> str:
    # The stored name is ours, never the uploader's: no path tricks, no clashes.
    import secrets
    from pathlib import PurePosixPath

    suffix = PurePosixPath(filename).suffix.lower()[:10]
    return f"toolkits/{timezone.now():%Y/%m}/{secrets.token_hex(12)}{suffix}"


class ToolkitItem(models.Model):
    toolkit = models.ForeignKey(Toolkit, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=10, choices=ItemKind.choices)
    title = models.CharField(max_length=200, blank=True)
    note = models.TextField(blank=True)
    message = models.ForeignKey(Message, on_delete=models.PROTECT, null=True, blank=True, related_name="toolkit_items")
    course = models.ForeignKey(
        "training.Course", on_delete=models.PROTECT, null=True, blank=True, related_name="toolkit_items"
    )
    file = models.FileField(upload_to=toolkit_upload_to, blank=True, max_length=200)
    file_name = models.CharField(max_length=255, blank=True)
    file_size = models.PositiveIntegerField(null=True, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    url = models.URLField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["toolkit", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="message") & Q(message__isnull=False) & Q(course__isnull=True))
                | (Q(kind="course") & Q(course__isnull=False) & Q(message__isnull=True))
                | (Q(kind="file") & ~Q(file="") & Q(message__isnull=True) & Q(course__isnull=True))
                | (Q(kind="link") & ~Q(url="") & Q(message__isnull=True) & Q(course__isnull=True)),
                name="toolkit_item_kind_matches",
            ),
        ]

    def __str__(self) -> str:
        return self.display_title

    @property
    def display_title(self) -> str:
        if self.title:
            return self.title
        if self.kind == ItemKind.MESSAGE and self.message is not None:
            return self.message.title
        if self.kind == ItemKind.COURSE and self.course is not None:
            return self.course.title
        if self.kind == ItemKind.FILE:
            return self.file_name
        return self.url


class ToolkitItemUse(models.Model):
    """Someone used a toolkit item (opened a file or link, a message, a course), per day."""

    item = models.ForeignKey(ToolkitItem, on_delete=models.CASCADE, related_name="uses")
    toolkit = models.ForeignKey(Toolkit, on_delete=models.CASCADE, related_name="uses")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="toolkit_uses")
    department = models.ForeignKey(
        "accounts.Department", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    day = models.DateField()
    count = models.PositiveIntegerField(default=1)
    first_at = models.DateTimeField(default=timezone.now)
    last_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["item", "user", "day"], name="toolkit_use_once_per_day")]
        indexes = [models.Index(fields=["toolkit", "day"], name="toolkit_use_day_idx")]

    def __str__(self) -> str:
        return f"item {self.item_id} used by {self.user_id} on {self.day}"
