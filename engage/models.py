"""Community queries, their claims and answers, insights, outbound deliveries, and the
participation log.

A query's *status* as API.md defines it is read "as of the moment": the stored ``state``
says whether it is open, in review, answered or closed, and an open query whose
``claimed_until`` lies in the future reads ``claimed``. A lapsed lease therefore reads
``open`` without any job (see :func:`query_status`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Department, Topic


class ChannelKind(models.TextChoices):
    TWITTER = "twitter", "Twitter / X"
    LINKEDIN = "linkedin", "LinkedIn"
    FACEBOOK = "facebook", "Facebook"
    INSTAGRAM = "instagram", "Instagram"
    FORUM = "forum", "Community forum"
    EMAIL = "email", "Email"
    WEB = "web", "Web"
    OTHER = "other", "Other"


class ConnectorKind(models.TextChoices):
    """How a channel talks to its source (``engage.connectors``); its ``kind`` is only a label."""

    WEBHOOK = "webhook", "Signed webhook"
    DISCOURSE = "discourse", "Discourse"
    SLACK = "slack", "Slack"
    EMAIL = "email", "Email (IMAP and SMTP)"


class Channel(models.Model):
    """Where queries come from, and where their answers go back to.

    The secret signs both directions (HMAC-SHA256), so it is kept usable; it is shown
    once, when made or rotated. After a rotation the previous secret keeps verifying
    inbound webhooks until ``previous_secret_expires_at``.

    ``connector`` names the adapter (``engage.connectors``); ``config`` is its plain
    settings, ``credentials`` its secrets, encrypted (``engage.connectors.vault``) and never
    shown again; ``cursor`` what its poller has read (an IMAP mailbox's last UID). The
    health fields say when it last heard from the source, last failed and last replied.
    """

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=ChannelKind.choices, default=ChannelKind.OTHER)
    outbound_url = models.CharField(max_length=500, blank=True)
    secret = models.CharField(max_length=128)
    previous_secret = models.CharField(max_length=128, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)
    connector = models.CharField(max_length=20, choices=ConnectorKind.choices, default=ConnectorKind.WEBHOOK)
    config = models.JSONField(default=dict, blank=True)
    credentials = models.TextField(blank=True)  # a Fernet token of a JSON object; engage.connectors.vault
    cursor = models.JSONField(default=dict, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_reply_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def verifying_secrets(self, at: datetime | None = None) -> list[str]:
        """The secrets an inbound signature may be made with at ``at``."""
        at = at or timezone.now()
        secrets = [self.secret]
        if self.previous_secret and self.previous_secret_expires_at and self.previous_secret_expires_at > at:
            secrets.append(self.previous_secret)
        return secrets


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


# Default response-time targets (API.md), counted from ``received_at``.
RESPONSE_TARGETS = {
    Priority.URGENT: timedelta(hours=1),
    Priority.HIGH: timedelta(hours=4),
    Priority.NORMAL: timedelta(hours=24),
    Priority.LOW: timedelta(hours=72),
}


class QueryState(models.TextChoices):
    """What is stored. ``claimed`` is not a state: it is an open query with a live lease."""

    OPEN = "open", "Open"
    PENDING_REVIEW = "pending_review", "Pending review"
    ANSWERED = "answered", "Answered"
    CLOSED = "closed", "Closed"


class QueryStatus(models.TextChoices):
    """The statuses of API.md, as read at a moment."""

    OPEN = "open", "Open"
    CLAIMED = "claimed", "Claimed"
    PENDING_REVIEW = "pending_review", "Pending review"
    ANSWERED = "answered", "Answered"
    CLOSED = "closed", "Closed"


class CloseReason(models.TextChoices):
    SPAM = "spam", "Spam"
    DUPLICATE = "duplicate", "Duplicate"
    NO_ACTION = "no_action", "No action needed"


class Query(models.Model):
    # No single-column indexes on channel, department and claimed_by: the unique (channel,
    # external_id), the queue indexes (department first) and query_claimed_by_idx cover their
    # lookups, and every claim's UPDATE would write three more indexes for nothing.
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="queries", db_index=False)
    external_id = models.CharField(max_length=255)
    text = models.TextField()
    author_handle = models.CharField(max_length=255)
    author_name = models.CharField(max_length=255, blank=True)
    url = models.CharField(max_length=2000, blank=True)
    sender_created_at = models.DateTimeField(null=True, blank=True)  # for display only
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)

    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, null=True, blank=True, related_name="queries", db_index=False
    )  # null until routed
    topics = models.ManyToManyField(Topic, blank=True, related_name="queries")
    routed_at = models.DateTimeField(null=True, blank=True)  # set when routing ran, matched or not

    received_at = models.DateTimeField(default=timezone.now)  # the response-time clock starts here
    sla_due_at = models.DateTimeField()

    state = models.CharField(max_length=20, choices=QueryState.choices, default=QueryState.OPEN)
    # The holder of a lease (open) or the author of the answer in review (pending_review).
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="claimed_queries",
        db_index=False,
    )
    claimed_at = models.DateTimeField(null=True, blank=True)  # when the current claim began
    claimed_until = models.DateTimeField(null=True, blank=True)

    answered_at = models.DateTimeField(null=True, blank=True)  # when its answer was published
    close_reason = models.CharField(max_length=20, choices=CloseReason.choices, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # closed_by, escalated_by, escalated_from: partial indexes below (set on few rows), not
    # full ones that every claim's UPDATE would write with a NULL.
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )

    escalated_at = models.DateTimeField(null=True, blank=True)
    escalated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    escalated_from = models.ForeignKey(
        Department, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    escalation_note = models.TextField(blank=True)
    sla_breached_at = models.DateTimeField(null=True, blank=True)  # set once per turn, by the breach job

    # The conversation (engage.threads): the customer turn being answered (1 until a follow-up
    # re-opens an answered query), when that last happened, and the first response target,
    # kept here when a re-opening moves ``sla_due_at`` to the follow-up's target (null while
    # never re-opened: ``sla_due_at`` is then still the first target). ``answered_at`` is the
    # time of the first published answer, whatever follows.
    turn = models.PositiveIntegerField(default=1)
    reopened_at = models.DateTimeField(null=True, blank=True)
    first_sla_due_at = models.DateTimeField(null=True, blank=True)
    # The customer's latest follow-up (null: the first message is the latest), kept on the row
    # so that publishing, which locks the row in one statement, reads it as of the lock: a
    # follow-up committed while that statement waited is then what the answer replies to.
    latest_message = models.ForeignKey(
        "CustomerMessage", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    latest_external_id = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["sla_due_at", "id"]
        verbose_name_plural = "queries"
        constraints = [
            models.UniqueConstraint(fields=["channel", "external_id"], name="query_channel_external_unique"),
            models.CheckConstraint(
                condition=(Q(state="closed") & ~Q(close_reason="")) | (~Q(state="closed") & Q(close_reason="")),
                name="query_closed_has_reason",
            ),
        ]
        indexes = [
            # The queue: open rows only, oldest-and-most-urgent (earliest due) first.
            models.Index(
                fields=["department", "sla_due_at", "id"], condition=Q(state="open"), name="query_open_queue_idx"
            ),
            models.Index(fields=["sla_due_at", "id"], condition=Q(state="open"), name="query_open_all_idx"),
            # Live claims of one person (the cap, "mine").
            models.Index(
                fields=["claimed_by", "claimed_until"],
                condition=Q(claimed_by__isnull=False),
                name="query_claimed_by_idx",
            ),
            # Lists by status and the metrics (received in a window, per department).
            models.Index(fields=["department", "state", "sla_due_at", "id"], name="query_dept_state_idx"),
            models.Index(fields=["received_at"], name="query_received_idx"),
            # Response-time breaches not yet handled.
            models.Index(
                fields=["sla_due_at"],
                condition=Q(state__in=["open", "pending_review"], sla_breached_at__isnull=True),
                name="query_sla_watch_idx",
            ),
            # Deleting a person or a department sets these to NULL (``on_delete``): the rows that
            # name one, found without reading the table. Partial, so the rows that name none
            # (nearly all, and every open one a claim updates) are in none of them.
            models.Index(fields=["closed_by"], condition=Q(closed_by__isnull=False), name="query_closed_by_idx"),
            models.Index(
                fields=["escalated_by"], condition=Q(escalated_by__isnull=False), name="query_escalated_by_idx"
            ),
            models.Index(
                fields=["escalated_from"], condition=Q(escalated_from__isnull=False), name="query_escalated_from_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel_id}:{self.external_id}"

    def status_at(self, at: datetime | None = None) -> str:
        return query_status(state=self.state, claimed_until=self.claimed_until, at=at)

    def holds_live_claim(self, user_id: int | None, at: datetime | None = None) -> bool:
        at = at or timezone.now()
        return (
            self.state == QueryState.OPEN
            and user_id is not None
            and self.claimed_by_id == user_id
            and self.claimed_until is not None
            and self.claimed_until > at
        )


class CustomerMessage(models.Model):
    """One message from the customer on a query's thread, in the order received.

    The first is the query's own text (written with the query); follow-ups arrive through
    the inbound webhook with a thread key (engage.threads). ``(channel, external_id)`` is
    unique over every message a channel sent, first or follow-up, so a redelivery of either
    is found and stored once. ``turn`` is the query's turn it belongs to: the answer of a
    turn replies to its messages.
    """

    query = models.ForeignKey(Query, on_delete=models.CASCADE, related_name="customer_messages", db_index=False)
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="+", db_index=False)
    external_id = models.CharField(max_length=255)
    text = models.TextField()
    author_handle = models.CharField(max_length=255)
    author_name = models.CharField(max_length=255, blank=True)
    url = models.CharField(max_length=2000, blank=True)
    sender_created_at = models.DateTimeField(null=True, blank=True)  # for display only
    received_at = models.DateTimeField(default=timezone.now)
    turn = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["received_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "external_id"], name="custmsg_channel_external_unique"),
        ]
        indexes = [models.Index(fields=["query", "received_at", "id"], name="custmsg_query_idx")]

    def __str__(self) -> str:
        return f"{self.channel_id}:{self.external_id} on {self.query_id}"


def query_status(*, state: str, claimed_until: datetime | None, at: datetime | None = None) -> str:
    """The API status of a query, as of ``at`` (now by default)."""
    if state != QueryState.OPEN:
        return state
    at = at or timezone.now()
    if claimed_until is not None and claimed_until > at:
        return QueryStatus.CLAIMED
    return QueryStatus.OPEN


class QueryDraft(models.Model):
    """An author's unsent answer. It outlives a lapsed claim and is offered back to its author."""

    query = models.ForeignKey(Query, on_delete=models.CASCADE, related_name="drafts")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="query_drafts")
    body = models.TextField(blank=True)
    message_ids = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["query", "author"], name="querydraft_query_author_unique")]

    def __str__(self) -> str:
        return f"draft by {self.author_id} on {self.query_id}"


class AnswerStatus(models.TextChoices):
    DRAFT = "draft", "Draft"  # returned by a reviewer, with a comment
    PENDING_REVIEW = "pending_review", "Pending review"
    PUBLISHED = "published", "Published"
    WITHDRAWN = "withdrawn", "Withdrawn"  # its query was closed or escalated before it was published


class Answer(models.Model):
    # Publishing writes every index of this table (and of revisions and deliveries) once per
    # answer: the author's lookups use answer_author_idx (author first), and who reviewed an
    # answer (null for those published at once) has a partial index (migration 0015).
    query = models.ForeignKey(Query, on_delete=models.CASCADE, related_name="answers")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="answers", db_index=False
    )
    author_department = models.ForeignKey(
        Department, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )  # the author's department when the answer was written (metrics)
    body = models.TextField()
    body_html = models.TextField(blank=True)  # sanitised rendering of ``body``
    status = models.CharField(max_length=20, choices=AnswerStatus.choices, default=AnswerStatus.DRAFT)
    # The approved messages the answer used.
    messages = models.ManyToManyField("content.Message", blank=True, related_name="answers")
    created_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    review_comment = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    # The customer turn it answers (set when published) and the customer message it replies
    # to: the turn's latest when it was published. One published answer per turn.
    turn = models.PositiveIntegerField(default=1)
    in_reply_to = models.ForeignKey(
        CustomerMessage, on_delete=models.SET_NULL, null=True, blank=True, related_name="answers", db_index=False
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["query", "turn"], condition=Q(status="published"), name="answer_one_published_per_turn"
            ),
            models.UniqueConstraint(
                fields=["query"], condition=Q(status="pending_review"), name="answer_one_in_review_per_query"
            ),
            models.CheckConstraint(
                condition=~Q(status="published") | Q(published_at__isnull=False), name="answer_published_has_time"
            ),
        ]
        indexes = [
            # The review queue, oldest first; published answers (nearly all) are in no queue,
            # so publishing writes nothing here.
            models.Index(
                fields=["submitted_at", "id"], condition=Q(status="pending_review"), name="answer_review_queue_idx"
            ),
            models.Index(fields=["published_at"], name="answer_published_idx"),
            models.Index(fields=["author", "-created_at"], name="answer_author_idx"),
            models.Index(fields=["reviewed_by"], condition=Q(reviewed_by__isnull=False), name="answer_reviewed_by_idx"),
        ]

    def __str__(self) -> str:
        return f"answer {self.pk} on {self.query_id}"


class RevisionOutcome(models.TextChoices):
    PENDING = "pending", "Awaiting review"
    APPROVED = "approved", "Approved and published"
    REJECTED = "rejected", "Sent back"
    PUBLISHED = "published", "Published (no review needed)"
    WITHDRAWN = "withdrawn", "Withdrawn"


class AnswerRevision(models.Model):
    """What an author submitted, each time, and the review decision on it. Never edited but
    for its decision: a text sent back and the reviewer's comment stay here when the answer
    is written again (``Answer`` holds the latest)."""

    # The answer's lookups use answer_revision_number_unique (answer first); reviewed_by is
    # null until a review, so its index is partial.
    answer = models.ForeignKey(Answer, on_delete=models.CASCADE, related_name="revisions", db_index=False)
    number = models.PositiveIntegerField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    body_html = models.TextField(blank=True)
    message_ids = models.JSONField(default=list, blank=True)
    submitted_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=20, choices=RevisionOutcome.choices, default=RevisionOutcome.PENDING)
    comment = models.TextField(blank=True)  # the reviewer's, when sent back
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["answer", "number"]
        constraints = [models.UniqueConstraint(fields=["answer", "number"], name="answer_revision_number_unique")]
        indexes = [
            models.Index(
                fields=["reviewed_by"], condition=Q(reviewed_by__isnull=False), name="answerrev_reviewed_by_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"answer {self.answer_id} revision {self.number}"


class QueryNote(models.Model):
    """An internal note on a query's thread: seen only by employees who can see the query,
    never sent to the customer. ``mentions`` are the people it named with ``@``."""

    query = models.ForeignKey(Query, on_delete=models.CASCADE, related_name="notes", db_index=False)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    body_html = models.TextField(blank=True)
    mentions = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["query", "created_at", "id"], name="querynote_query_idx")]

    def __str__(self) -> str:
        return f"note {self.pk} on {self.query_id}"


class DeliveryKind(models.TextChoices):
    ANSWER = "answer", "Answer"
    INSIGHT_SHIPPED = "insight_shipped", "Insight shipped"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    DEAD = "dead", "Dead letter"


class Delivery(models.Model):
    """One outbound message to a channel, with its attempts; ``dead`` after about an hour of failures."""

    kind = models.CharField(max_length=20, choices=DeliveryKind.choices, default=DeliveryKind.ANSWER)
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="deliveries")
    query = models.ForeignKey(Query, on_delete=models.CASCADE, related_name="deliveries")
    answer = models.ForeignKey(Answer, on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries")
    # Null on an answer's delivery (nearly all): a partial index, not one every answer writes.
    insight = models.ForeignKey(
        "Insight", on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries", db_index=False
    )
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    target = models.CharField(max_length=500, blank=True)  # where it went ("local" for the local adapter)
    # The source's id of what was sent: a Message-ID, a Discourse post id, a Slack message's ts.
    remote_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    dead_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["answer"], condition=Q(kind="answer"), name="delivery_one_per_answer"),
            models.UniqueConstraint(
                fields=["insight", "query"], condition=Q(kind="insight_shipped"), name="delivery_one_per_insight_query"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_status_idx"),
            models.Index(fields=["insight"], condition=Q(insight__isnull=False), name="delivery_insight_idx"),
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} ({self.status})"


class ConnectorEvent(models.Model):
    """An event id a connector's source sent (Discourse's ``X-Discourse-Event-Id``, Slack's
    ``event_id``), kept once: a retried event finds its row and does nothing."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+", db_index=False)
    event_id = models.CharField(max_length=255)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "event_id"], name="connector_event_once")]

    def __str__(self) -> str:
        return f"{self.event_id} on {self.channel_id}"


class InsightStatus(models.TextChoices):
    SUBMITTED = "submitted", "Submitted"
    UNDER_REVIEW = "under_review", "Under review"
    PLANNED = "planned", "Planned"
    SHIPPED = "shipped", "Shipped"
    DECLINED = "declined", "Declined"


# The moves that make sense from each status: the board offers these, the service enforces
# them. Shipped can go back to Planned (a mistake undone); Declined can be reviewed again.
INSIGHT_MOVES: dict[str, tuple[InsightStatus, ...]] = {
    InsightStatus.SUBMITTED: (InsightStatus.UNDER_REVIEW, InsightStatus.PLANNED, InsightStatus.DECLINED),
    InsightStatus.UNDER_REVIEW: (InsightStatus.PLANNED, InsightStatus.SHIPPED, InsightStatus.DECLINED),
    InsightStatus.PLANNED: (InsightStatus.SHIPPED, InsightStatus.UNDER_REVIEW, InsightStatus.DECLINED),
    InsightStatus.SHIPPED: (InsightStatus.PLANNED,),
    InsightStatus.DECLINED: (InsightStatus.UNDER_REVIEW,),
}


def insight_moves_from(status: str) -> list[tuple[str, str]]:
    """(value, label) of the statuses an insight in ``status`` may move to."""
    return [(s.value, s.label) for s in INSIGHT_MOVES.get(status, ())]


class Insight(models.Model):
    """What the community told us, drawn from queries, for the product department."""

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=InsightStatus.choices, default=InsightStatus.SUBMITTED)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="insights_submitted"
    )
    department = models.ForeignKey(
        Department, on_delete=models.SET_NULL, null=True, blank=True, related_name="insights"
    )  # the submitter's department at the time
    queries = models.ManyToManyField(Query, related_name="insights", blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    status_changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "status_changed_at"], name="insight_status_idx")]

    def __str__(self) -> str:
        return self.title


class InsightStatusChange(models.Model):
    """The status history of an insight: who moved it, when, from what to what."""

    insight = models.ForeignKey(Insight, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=20, choices=InsightStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=InsightStatus.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["changed_at", "id"]
        indexes = [models.Index(fields=["insight", "changed_at"], name="insightchange_insight_idx")]

    def __str__(self) -> str:
        return f"{self.insight_id}: {self.from_status or '-'} → {self.to_status}"


class ParticipationEvent(models.Model):
    """One fact of the participation log (PHASE-MODEL.md). Append-only.

    ``key`` makes recording idempotent: the same fact, recorded twice, is one row.
    Written only through :func:`engage.participation.record`.
    """

    # Every index costs each recorded event a write: the foreign keys are served by the
    # composite indexes below (they lead with the key), the idempotency key by its constraint.
    kind = models.CharField(max_length=40)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    department = models.ForeignKey(
        Department, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )  # the actor's department at the time
    occurred_at = models.DateTimeField()
    object_type = models.CharField(max_length=60)
    object_id = models.BigIntegerField()
    key = models.CharField(max_length=200)
    data = models.JSONField(default=dict, blank=True)
    recorded_at = models.DateTimeField(default=timezone.now)
    # Set by the rollup job (engage.phase.rollups) in the transaction that counted the event.
    # No index may mention it: marking an event is then a HOT update that writes no index
    # entry (with the table's fillfactor of 50, migration 0005). The job finds unfolded
    # events from RollupProgress.scan_from along the primary key instead.
    folded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [models.UniqueConstraint(fields=["key"], name="pevent_key_unique")]
        indexes = [
            models.Index(fields=["occurred_at"], name="pevent_occurred_idx"),
            models.Index(fields=["department", "kind", "occurred_at"], name="pevent_dept_kind_idx"),
            models.Index(fields=["actor", "occurred_at"], name="pevent_actor_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_type}:{self.object_id}"


# --- Phase engine (PHASE-MODEL.md): rollups, configuration, snapshots ------------------------------
# Owned by engage.phase; written only by engage.phase.services and engage.phase.rollups.

# ``department_key`` stands for "no department" with 0, so that rows without a department
# still conflict in the unique constraints (NULLs never do) on PostgreSQL and SQLite alike.
NO_DEPARTMENT_KEY = 0


class DailyRollup(models.Model):
    """How many events of a kind happened on a day (in settings.TIME_ZONE) in a department.

    ``department`` is the actor's department at the time of each event. Maintained by
    :func:`engage.phase.rollups.rollups_fold` with ``INSERT … ON CONFLICT DO UPDATE``.
    """

    day = models.DateField()
    department_key = models.BigIntegerField(default=NO_DEPARTMENT_KEY)  # department id, 0 for none
    department = models.ForeignKey(
        Department, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_constraint=False
    )
    kind = models.CharField(max_length=40)
    count = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["day", "department_key", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["day", "department_key", "kind"], name="dailyrollup_day_dept_kind_unique"),
        ]
        indexes = [models.Index(fields=["department_key", "day"], name="dailyrollup_dept_day_idx")]

    def __str__(self) -> str:
        return f"{self.day} {self.department_key} {self.kind}: {self.count}"


class PersonDay(models.Model):
    """A day (in settings.TIME_ZONE) on which a person took part at least once.

    ``department`` is the person's department at their first participation of the day;
    ``events`` counts their participation events that day.
    """

    # No database constraint: the rollup job upserts thousands of rows a second, and people
    # are never deleted (erasure keeps the row); Django still cascades a deletion.
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    day = models.DateField()
    department = models.ForeignKey(
        Department, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_constraint=False
    )
    events = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["day", "person"]
        constraints = [models.UniqueConstraint(fields=["person", "day"], name="personday_person_day_unique")]
        indexes = [models.Index(fields=["day", "person"], name="personday_day_idx")]

    def __str__(self) -> str:
        return f"{self.person_id} on {self.day}"


class RollupProgress(models.Model):
    """Where the rollup job starts looking for unfolded events: one row (``pk=1``).

    Written only by :mod:`engage.phase.rollups`, which explains why skipping the events at
    or below ``scan_from`` loses none: ``marks`` are ``[epoch seconds, highest event id
    then]``, oldest first; ``swept_at`` is when a run last looked below ``scan_from``.
    """

    scan_from = models.BigIntegerField(default=0)
    marks = models.JSONField(default=list, blank=True)
    swept_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"rollups scan from {self.scan_from}"


class PhaseConfig(models.Model):
    """The one configuration of the phase engine (row ``pk=1``); see engage.phase.definitions."""

    window_days = models.PositiveSmallIntegerField(default=30)
    stability_days = models.PositiveSmallIntegerField(default=7)
    thresholds = models.JSONField(default=dict, blank=True)  # {gate_key: number}; missing keys take defaults
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = "phase configuration"

    def __str__(self) -> str:
        return f"phase configuration (W={self.window_days}, S={self.stability_days})"


class PhaseConfigChange(models.Model):
    """The audit of configuration changes; ``before``/``after`` are whole configurations.

    It is also the configuration's history: the engine computes each day with the
    configuration in effect at the end of that day.
    """

    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)

    class Meta:
        ordering = ["changed_at", "id"]
        indexes = [models.Index(fields=["changed_at"], name="phaseconfigchange_at_idx")]

    def __str__(self) -> str:
        return f"phase configuration changed at {self.changed_at:%Y-%m-%d %H:%M}"


class PhaseScope(models.TextChoices):
    ORGANISATION = "organisation", "Organisation"
    DEPARTMENT = "department", "Department"


class PhaseSnapshot(models.Model):
    """One day's phase of the organisation (``scope_key`` 0) or of a department (its id).

    ``result`` holds the whole result (PHASE-MODEL.md "What every result carries"),
    without ``departments``: those are the department snapshots of the same day.
    """

    scope = models.CharField(max_length=20, choices=PhaseScope.choices)
    scope_key = models.BigIntegerField()  # 0 for the organisation, else the department id
    department = models.ForeignKey(
        Department, on_delete=models.CASCADE, null=True, blank=True, related_name="phase_snapshots"
    )
    day = models.DateField()
    phase = models.PositiveSmallIntegerField()
    raw_phase = models.PositiveSmallIntegerField()
    result = models.JSONField(default=dict)
    thresholds = models.JSONField(default=dict)  # the configuration it was computed with
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["day", "scope_key"]
        constraints = [
            models.UniqueConstraint(fields=["scope_key", "day"], name="phasesnapshot_scope_day_unique"),
            models.CheckConstraint(
                condition=(Q(scope="organisation") & Q(scope_key=0) & Q(department__isnull=True))
                | (Q(scope="department") & Q(department__isnull=False) & ~Q(scope_key=0)),
                name="phasesnapshot_scope_consistent",
            ),
            models.CheckConstraint(
                condition=Q(phase__gte=1, phase__lte=4, raw_phase__gte=1, raw_phase__lte=4),
                name="phasesnapshot_phase_range",
            ),
        ]
        indexes = [models.Index(fields=["day", "scope_key"], name="phasesnapshot_day_idx")]

    def __str__(self) -> str:
        return f"{self.scope} {self.scope_key} on {self.day}: phase {self.phase}"


# --- Leaderboard (engage.dashboard) ---------------------------------------------------------------


class LeaderboardOptOut(models.Model):
    """A person who chose to stay off the leaderboard (one row each; deleting it opts back in)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="leaderboard_opt_out")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.user_id} off the leaderboard"


# --- Hand-offs and customer ratings (engage.handoff, engage.ratings) ------------------------------


class QueryHandoff(models.Model):
    """A claimed query handed by its holder (or a reviewer) to a colleague: the record of who
    gave it to whom, and when. The claim itself moves on the query; drafts stay with their author."""

    query = models.ForeignKey(Query, on_delete=models.CASCADE, related_name="handoffs")
    from_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )  # who held it (null when a reviewer handed over an unclaimed query)
    to_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="handoffs_received")
    by_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["query", "created_at"], name="queryhandoff_query_idx")]

    def __str__(self) -> str:
        return f"{self.query_id}: {self.from_user_id or '-'} → {self.to_user_id}"


class AnswerRating(models.Model):
    """The customer's rating of a published answer, 1 to 5 with an optional comment: one per
    answer, changeable through its signed link until the link expires (engage.ratings)."""

    answer = models.OneToOneField(Answer, on_delete=models.CASCADE, related_name="rating")
    score = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True)  # plain text, tags and control characters removed
    created_at = models.DateTimeField(default=timezone.now)  # the first rating
    updated_at = models.DateTimeField(default=timezone.now)  # the latest change

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(score__gte=1, score__lte=5), name="answerrating_score_range")]
        indexes = [models.Index(fields=["created_at"], name="answerrating_created_idx")]

    def __str__(self) -> str:
        return f"answer {self.answer_id}: {self.score}/5"
