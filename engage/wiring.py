"""What ``engage`` adds to the platform, wired once from ``EngageConfig.ready()``.

Its notification kinds (the dashboard's digest among them), its navigation and home cards
(the queue's and the phase's), the review queue's section for answers, and its receivers:
the activity of ``training`` and ``content`` for the participation log, and its part of a
person's data export. Direct imports: a renamed signal or registry stops the start-up
instead of silently keeping course completions out of the phase engine
(ARCHITECTURE.md, "Wiring").
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from accounts.models import RoleName, User
from accounts.navigation import register_home_card, register_nav_item
from accounts.notifications import register_kind
from accounts.signals import collect_personal_data
from content import review
from content.signals import activity as content_activity
from engage import receivers, selectors
from engage.dashboard import selectors as dashboard_selectors
from engage.dashboard import services as dashboard_services
from training.signals import activity as training_activity


def _queue_card(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    assert isinstance(user, User)  # cards are drawn for signed-in people only
    now = timezone.now()
    held = list(selectors.queries_held_by(user=user, now=now)[:6])
    department_open = (
        selectors.department_open_count(department_id=user.department_id, now=now) if user.department_id else None
    )
    return {
        "held": [(query, query.status_at(now)) for query in held],
        "department_open": department_open,
        "department": user.department,
    }


def _phase_card(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    assert isinstance(user, User)
    return dashboard_selectors.home_card_data(user=user)


def _answers_to_review(user: User) -> list[Any]:
    """The answers this reviewer may decide (never their own), oldest first."""
    return list(selectors.review_queue(user=user)[:100])


def wire() -> None:
    register_kind("engage.query_routed", "New queries for your department", email_default=False)
    register_kind("engage.query_escalated", "Queries escalated to your department", email_default=False)
    register_kind("engage.query_handoff", "Queries a colleague handed to you")
    register_kind("engage.answer_review", "Answers awaiting your review", email_default=False)
    register_kind("engage.answer_reviewed", "Reviews of your answers")
    register_kind("engage.sla_breach", "Queries that missed their response target")
    register_kind("engage.insight", "Insights you submitted, answered or own")
    register_kind("engage.query_followed_up", "Follow-ups from customers on your queries", email_default=False)
    register_kind("engage.note_mention", "Notes that mention you")
    register_kind("engage.delivery_dead", "Answers that could not be delivered to their channel")
    register_kind(dashboard_services.DIGEST_KIND, "Weekly phase digest (executives)")

    register_nav_item(
        key="dashboard", label="Dashboard", url_name="dashboard:overview", order=5, roles=[RoleName.EXECUTIVE]
    )
    register_nav_item(key="queue", label="Queue", url_name="engage:queue", order=10)
    register_nav_item(key="insights", label="Insights", url_name="engage:insights", order=30)
    register_nav_item(key="leaderboard", label="Leaderboard", url_name="dashboard:leaderboard", order=60)
    register_nav_item(
        key="deliveries", label="Deliveries", url_name="engage:deliveries", order=945, roles=[RoleName.ADMIN]
    )
    register_nav_item(key="channels", label="Channels", url_name="engage:channels", order=946, roles=[RoleName.ADMIN])
    register_home_card(key="phase", template_name="engage/dashboard/card.html", order=5, context=_phase_card)
    register_home_card(key="queue", template_name="engage/cards/queue.html", order=10, context=_queue_card)
    review.register_section(
        review.ReviewSection(
            key="answers",
            title="Answers to customers",
            template_name="engage/review/_answers.html",
            items=_answers_to_review,
            order=5,
        )
    )

    training_activity.connect(receivers.on_activity, dispatch_uid="engage.participation.training.signals")
    content_activity.connect(receivers.on_activity, dispatch_uid="engage.participation.content.signals")
    collect_personal_data.connect(receivers.export_personal_data, dispatch_uid="engage.export_personal_data")
    collect_personal_data.connect(receivers.export_leaderboard_choice, dispatch_uid="engage.dashboard.personal_data")
