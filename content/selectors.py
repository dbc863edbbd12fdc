"""Reads for approved messaging: who may see what, lists, search and usage.

Access is decided here, once: :func:`message_get_for_user` answers 404 for what a person
may not see. Curators and reviewers (and admins) see every message; everyone else sees
only live messages (approved, due, not expired — judged by the times, not only the stored
status) whose audience is empty or includes their department.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import reduce
from typing import Any

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from accounts.models import RoleName, User
from config.queries import one_or_404
from content.models import (
    ItemKind,
    Message,
    MessageEvent,
    MessageRevision,
    Share,
    ShareClick,
    Status,
    Toolkit,
    ToolkitEvent,
    ToolkitItem,
    ToolkitItemUse,
    live_q,
)

SEARCH_CONFIG = "english"
MAX_SEARCH_TERMS = 24

_WORD_RE = re.compile(r"\w+", re.UNICODE)
# Words too common to say anything about what a question is about (the fallback's own
# stop list; PostgreSQL's dictionary drops these itself).
_STOP_WORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "please",
        "so",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "up",
        "us",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "hi",
        "hello",
        "thanks",
        "thank",
    }
)  # fmt: skip


def can_manage(user: User) -> bool:
    """Curators and reviewers (admins too) see and work on every message."""
    return bool(user.is_authenticated and user.has_role(RoleName.CURATOR, RoleName.REVIEWER))


def audience_q(user: User, prefix: str = "") -> Q:
    """Messages meant for everyone (no audience) or for the person's department."""
    through = Message.audience.through
    outer = OuterRef(f"{prefix}pk") if prefix else OuterRef("pk")
    anyone = Q(~Exists(through.objects.filter(message_id=outer)))
    if user.department_id is None:
        return anyone
    return anyone | Q(Exists(through.objects.filter(message_id=outer, department_id=user.department_id)))


def messages_visible_to(*, user: User, now: datetime | None = None) -> QuerySet[Message]:
    now = now or timezone.now()
    messages = Message.objects.all()
    if can_manage(user):
        return messages
    return messages.filter(live_q(now)).filter(audience_q(user))


def messages_live_for(*, user: User, now: datetime | None = None) -> QuerySet[Message]:
    """Live messages meant for the person, whatever their roles (what they can use and share)."""
    now = now or timezone.now()
    return Message.objects.filter(live_q(now)).filter(audience_q(user))


def with_display(messages: QuerySet[Message]) -> QuerySet[Message]:
    """Everything a message's representation needs, in a fixed number of queries."""
    return messages.select_related("author", "revision", "latest_revision", "latest_revision__author").prefetch_related(
        "topics", "audience"
    )


def message_list(
    *,
    user: User,
    status: str | None = None,
    topic: str | None = None,
    department: str | None = None,
    mine: bool = False,
    now: datetime | None = None,
) -> QuerySet[Message]:
    """Messages the person may see, newest first, filtered.

    ``status`` is read as of now (a scheduled message whose time has come lists as
    published even before the job runs).
    """
    now = now or timezone.now()
    messages = messages_visible_to(user=user, now=now)
    if status:
        messages = messages.filter(_status_q(status, now))
    if topic:
        messages = messages.filter(topics__slug=topic)
    if department:
        through = Message.audience.through
        messages = messages.filter(
            ~Exists(through.objects.filter(message_id=OuterRef("pk")))
            | Exists(through.objects.filter(message_id=OuterRef("pk"), department__slug=department))
        )
    if mine:
        messages = messages.filter(author=user)
    return with_display(messages).order_by("-updated_at", "-id")


def _status_q(status: str, now: datetime) -> Q:
    from content.models import APPROVED_STATUSES

    approved = Q(status__in=APPROVED_STATUSES)
    if status == Status.EXPIRED:
        return approved & Q(expires_at__lte=now)
    if status == Status.SCHEDULED:
        return approved & Q(publish_at__gt=now) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    if status == Status.PUBLISHED:
        return approved & live_q(now)
    if status == "pending":
        return Q(status=Status.IN_REVIEW) | Q(pending_status=Status.IN_REVIEW)
    return Q(status=status)


def message_get_for_user(*, user: User, id: int, lock: bool = False, now: datetime | None = None) -> Message:
    """The message, if the person may see it; else 404. ``lock`` holds its row until commit."""
    return one_or_404(messages_visible_to(user=user, now=now), id=id, lock=lock, missing="No such message.")


def message_revisions(*, message: Message) -> QuerySet[MessageRevision]:
    return message.revisions.select_related("author").order_by("-number")


def message_revision_before(*, revision: MessageRevision) -> MessageRevision | None:
    """The revision saved just before ``revision`` (what its reviewer saw last), if any."""
    return (
        MessageRevision.objects.filter(message_id=revision.message_id, number__lt=revision.number)
        .order_by("-number")
        .first()
    )


def message_events(*, message: Message) -> QuerySet[MessageEvent]:
    return message.events.select_related("actor", "revision").order_by("at", "id")


def review_queue_messages() -> QuerySet[Message]:
    """Messages (new, or a new revision of a live one) waiting for a reviewer, oldest first."""
    return with_display(
        Message.objects.filter(Q(status=Status.IN_REVIEW) | Q(pending_status=Status.IN_REVIEW))
    ).order_by("updated_at", "id")


def latest_rejection(*, message: Message) -> MessageEvent | None:
    from content.models import Action

    return (
        message.events.filter(action=Action.REJECTED).select_related("actor", "revision").order_by("-at", "-id").first()
    )


# --- Search ----------------------------------------------------------------------------


def search_terms(text: str) -> list[str]:
    """The words of ``text`` worth searching for, in order, without repeats."""
    terms: list[str] = []
    for word in _WORD_RE.findall((text or "").lower()):
        if len(word) < 2 or word in _STOP_WORDS or word in terms:
            continue
        terms.append(word)
        if len(terms) >= MAX_SEARCH_TERMS:
            break
    return terms


def messages_search(
    *, user: User, text: str, limit: int = 10, now: datetime | None = None, fields: tuple[str, ...] | None = None
) -> list[Message]:
    """Live messages meant for the person that match ``text``, best first.

    ``text`` is free text — a search box's words or a whole customer question: any of its
    words may match (they are OR-ed), and messages matching more of them, or matching in
    the title, rank higher. PostgreSQL ranks with its full-text search; other databases
    fall back to a plain case-insensitive match ranked the same way in Python.

    ``fields``: read only these columns of each message, in one statement, for a caller that
    shows no more (the query page's cards); by default everything a message's
    representation needs (:func:`with_display`).
    """
    terms = search_terms(text)
    if not terms or limit <= 0:
        return []
    candidates = messages_live_for(user=user, now=now)
    if fields is not None:
        shown = candidates.only(*{"id", "title", "body", "short_text", "long_text", *fields})
    else:
        shown = with_display(candidates)
    if connection.vendor == "postgresql":
        return _search_postgres(shown, terms, limit)
    return _search_fallback(shown, terms, limit)


def _search_postgres(candidates: QuerySet[Message], terms: list[str], limit: int) -> list[Message]:
    from django.contrib.postgres.search import SearchQuery, SearchRank

    query = reduce(
        lambda left, right: left | right,
        [SearchQuery(term, search_type="plain", config=SEARCH_CONFIG) for term in terms],
    )
    ranked = (
        candidates.filter(search_vector=query)
        .annotate(rank=SearchRank("search_vector", query, normalization=1))
        .order_by("-rank", "-first_published_at", "-id")
    )
    return list(ranked[:limit])


def _search_fallback(candidates: QuerySet[Message], terms: list[str], limit: int) -> list[Message]:
    matches = Q()
    for term in terms:
        matches |= Q(title__icontains=term) | Q(body__icontains=term) | Q(short_text__icontains=term)
        matches |= Q(long_text__icontains=term)
    found = list(candidates.filter(matches).order_by("-first_published_at", "-id")[:500])

    def score(message: Message) -> float:
        title = message.title.lower()
        rest = f"{message.body} {message.short_text} {message.long_text}".lower()
        return sum(2.0 * (term in title) + (term in rest) for term in terms)

    found.sort(key=score, reverse=True)  # stable: newest first among equals
    return found[:limit]


# --- Usage -------------------------------------------------------------------------------


def shares_for(*, user: User) -> QuerySet[Share]:
    return Share.objects.filter(user=user).select_related("message").order_by("-created_at", "-id")


def message_usage(*, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """Per message: shares and clicks in the period, and the same by department.

    Clicks count toward the share's message and the sharer's department.
    """
    shares = (
        Share.objects.filter(created_at__gte=since, created_at__lt=until)
        .values("message_id", "department__slug", "department__name")
        .annotate(shares=Count("id"), sharers=Count("user_id", distinct=True))
    )
    clicks = (
        ShareClick.objects.filter(clicked_at__gte=since, clicked_at__lt=until)
        .values("share__message_id", "share__department__slug", "share__department__name")
        .annotate(clicks=Count("id"))
    )
    rows: dict[int, dict[str, Any]] = {}

    def entry(message_id: int) -> dict[str, Any]:
        return rows.setdefault(
            message_id, {"id": message_id, "shares": 0, "sharers": 0, "clicks": 0, "answers": 0, "departments": {}}
        )

    def department(row: dict[str, Any], slug: str | None, name: str | None) -> dict[str, Any]:
        key = slug or ""
        counts: dict[str, Any] = row["departments"].setdefault(
            key, {"department": slug, "name": name or "No department", "shares": 0, "sharers": 0, "clicks": 0}
        )
        return counts

    for shared in shares:
        row = entry(shared["message_id"])
        row["shares"] += shared["shares"]
        part = department(row, shared["department__slug"], shared["department__name"])
        part["shares"] += shared["shares"]
        part["sharers"] += shared["sharers"]
    for clicked in clicks:
        row = entry(clicked["share__message_id"])
        row["clicks"] += clicked["clicks"]
        part = department(row, clicked["share__department__slug"], clicked["share__department__name"])
        part["clicks"] += clicked["clicks"]
    sharers = (
        Share.objects.filter(created_at__gte=since, created_at__lt=until)
        .values("message_id")
        .annotate(sharers=Count("user_id", distinct=True))
    )
    for distinct in sharers:
        entry(distinct["message_id"])["sharers"] = distinct["sharers"]
    for used in answer_use(since=since, until=until):
        entry(used["id"])["answers"] = used["uses"]
    titles = dict(Message.objects.filter(pk__in=rows).values_list("id", "title"))
    result = []
    for message_id, row in rows.items():
        row["title"] = titles.get(message_id, "")
        row["departments"] = sorted(row["departments"].values(), key=lambda d: (-d["shares"], -d["clicks"]))
        result.append(row)
    result.sort(key=lambda r: (-r["shares"], -r["answers"], -r["clicks"], r["id"]))
    return result


def answer_use(*, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """Per message: the published answers of ``[since, until)`` that used it (engage records them)."""
    rows = (
        Message.objects.filter(
            answers__status="published", answers__published_at__gte=since, answers__published_at__lt=until
        )
        .values("id")
        .annotate(uses=Count("answers", distinct=True))
        .values("id", "uses")
    )
    return [{"id": row["id"], "uses": row["uses"]} for row in rows]


def usage_totals(*, since: datetime, until: datetime) -> dict[str, int]:
    shares = Share.objects.filter(created_at__gte=since, created_at__lt=until)
    return {
        "shares": shares.count(),
        "sharers": shares.values("user_id").distinct().count(),
        "clicks": ShareClick.objects.filter(clicked_at__gte=since, clicked_at__lt=until).count(),
        "answers": sum(row["uses"] for row in answer_use(since=since, until=until)),
        "toolkit_uses": ToolkitItemUse.objects.filter(
            day__gte=timezone.localtime(since).date(),
            day__lte=timezone.localtime(until - timedelta(microseconds=1)).date(),
        ).aggregate(total=Sum("count"))["total"]
        or 0,
    }


def usage_report(*, since: datetime, until: datetime) -> dict[str, Any]:
    """What curators see: messages and toolkits used in ``[since, until)``, by department."""
    last_day = timezone.localtime(until - timedelta(microseconds=1)).date()
    return {
        "from": timezone.localtime(since).date().isoformat(),
        "to": last_day.isoformat(),
        "totals": usage_totals(since=since, until=until),
        "messages": message_usage(since=since, until=until),
        "toolkits": toolkit_usage(since=since, until=until),
    }


# --- Toolkits -------------------------------------------------------------------------------


def _toolkit_audience_q(user: User) -> Q:
    through = Toolkit.audience.through
    anyone = Q(~Exists(through.objects.filter(toolkit_id=OuterRef("pk"))))
    if user.department_id is None:
        return anyone
    return anyone | Q(Exists(through.objects.filter(toolkit_id=OuterRef("pk"), department_id=user.department_id)))


def toolkits_visible_to(*, user: User, now: datetime | None = None) -> QuerySet[Toolkit]:
    """Curators and reviewers see every toolkit; others live ones meant for them."""
    now = now or timezone.now()
    if can_manage(user):
        return Toolkit.objects.all()
    return Toolkit.objects.filter(live_q(now)).filter(_toolkit_audience_q(user))


def toolkits_live_for(*, user: User, now: datetime | None = None) -> QuerySet[Toolkit]:
    now = now or timezone.now()
    return Toolkit.objects.filter(live_q(now)).filter(_toolkit_audience_q(user))


def toolkit_get_for_user(*, user: User, id: int, lock: bool = False, now: datetime | None = None) -> Toolkit:
    return one_or_404(toolkits_visible_to(user=user, now=now), id=id, lock=lock, missing="No such toolkit.")


def toolkit_list(*, user: User, status: str | None = None, now: datetime | None = None) -> QuerySet[Toolkit]:
    now = now or timezone.now()
    toolkits = toolkits_visible_to(user=user, now=now)
    if status:
        toolkits = toolkits.filter(_status_q(status, now) if status != "pending" else Q(status=Status.IN_REVIEW))
    return (
        toolkits.select_related("author")
        .prefetch_related("audience")
        .annotate(item_count=Count("items", distinct=True))
        .order_by("-updated_at", "-id")
    )


def toolkit_items(*, user: User, toolkit: Toolkit, now: datetime | None = None) -> list[ToolkitItem]:
    """The toolkit's items, in order, as this person may use them.

    Curators and reviewers see every item; others do not see messages that are not live
    for them, nor courses they cannot take.
    """
    now = now or timezone.now()
    items = toolkit.items.select_related("message", "course").order_by("position", "id")
    if can_manage(user):
        return list(items)
    from training.selectors import courses_visible_to

    visible_messages = messages_live_for(user=user, now=now).values("pk")
    visible_courses = courses_visible_to(user=user).values("pk")
    return list(
        items.filter(
            Q(kind=ItemKind.FILE)
            | Q(kind=ItemKind.LINK)
            | Q(kind=ItemKind.MESSAGE, message__in=visible_messages)
            | Q(kind=ItemKind.COURSE, course__in=visible_courses)
        )
    )


def toolkit_item_get_for_user(
    *, user: User, toolkit: Toolkit, item_id: int, now: datetime | None = None
) -> ToolkitItem:
    for item in toolkit_items(user=user, toolkit=toolkit, now=now):
        if item.pk == item_id:
            return item
    raise Http404("No such item.")


def toolkit_events(*, toolkit: Toolkit) -> QuerySet[ToolkitEvent]:
    return toolkit.events.select_related("actor").order_by("at", "id")


def review_queue_toolkits() -> QuerySet[Toolkit]:
    return (
        Toolkit.objects.filter(status=Status.IN_REVIEW)
        .select_related("author")
        .annotate(item_count=Count("items", distinct=True))
        .order_by("updated_at", "id")
    )


def toolkit_usage(*, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """Per toolkit: uses (person-days of an item) in the period, people, and by department."""
    first_day = timezone.localtime(since).date()
    last_day = timezone.localtime(until - timedelta(microseconds=1)).date()
    uses = ToolkitItemUse.objects.filter(day__gte=first_day, day__lte=last_day)
    rows: dict[int, dict[str, Any]] = {}
    for item in uses.values("toolkit_id").annotate(uses=Sum("count"), people=Count("user_id", distinct=True)):
        rows[item["toolkit_id"]] = {
            "id": item["toolkit_id"],
            "uses": item["uses"],
            "people": item["people"],
            "departments": [],
        }
    for item in (
        uses.values("toolkit_id", "department__slug", "department__name")
        .annotate(uses=Sum("count"), people=Count("user_id", distinct=True))
        .order_by("-uses")
    ):
        rows[item["toolkit_id"]]["departments"].append(
            {
                "department": item["department__slug"],
                "name": item["department__name"] or "No department",
                "uses": item["uses"],
                "people": item["people"],
            }
        )
    titles = dict(Toolkit.objects.filter(pk__in=rows).values_list("id", "title"))
    for toolkit_id, row in rows.items():
        row["title"] = titles.get(toolkit_id, "")
    return sorted(rows.values(), key=lambda r: (-r["uses"], r["id"]))
