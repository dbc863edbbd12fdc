"""Insights: what the front line learns, raised to the departments that can act on it."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import DepartmentKind, User
from accounts.notifications import notify
from config.errors import ServiceError
from config.jobs import enqueue
from config.policy import enforce
from engage import participation, policy
from engage.models import (
    INSIGHT_MOVES,
    Answer,
    AnswerStatus,
    Delivery,
    DeliveryKind,
    Insight,
    InsightStatus,
    InsightStatusChange,
)
from engage.selectors import (
    insight_get_for_user,
    queries_visible_to,
)
from engage.services.common import INSIGHT_DESCRIPTION_MAX, INSIGHT_TITLE_MAX


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
            participation.insight_submitted(insight_id=insight.pk, by=user, submitted_at=now, query_ids=wanted)
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
        enforce(policy.insight_move(user, insight))
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
            participation.insight_status_changed(
                insight_id=insight.pk,
                by=user,
                changed_at=now,
                change_id=change.pk,
                from_status=change.from_status,
                to_status=status,
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
