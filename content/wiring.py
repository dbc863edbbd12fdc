"""What ``content`` adds to the platform, wired once from ``ContentConfig.ready()``.

Its notification kinds, its navigation and home cards, the review queue's sections for
messages and toolkits, and its part of a person's data export. Direct imports: a renamed
registry or signal stops the start-up (ARCHITECTURE.md, "Wiring").
"""

from __future__ import annotations

from typing import Any

from django.db.models import Sum
from django.http import HttpRequest

from accounts.models import RoleName, User
from accounts.navigation import register_home_card, register_nav_item
from accounts.notifications import register_kind
from accounts.signals import collect_personal_data
from content import policy, receivers, review, selectors
from content.models import Message, Share


def _messaging_card(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    assert isinstance(user, User)  # cards are drawn for signed-in people only
    latest = selectors.messages_live_for(user=user).order_by("-first_published_at", "-id")[:4]
    clicks = Share.objects.filter(user=user).aggregate(total=Sum("click_count"))["total"] or 0
    return {"latest": list(latest.only("id", "title", "first_published_at")), "my_clicks": clicks}


def _review_card(request: HttpRequest) -> dict[str, Any]:
    messages = selectors.review_queue_messages().count()
    toolkits = selectors.review_queue_toolkits().count()
    return {"messages": messages, "toolkits": toolkits, "waiting": messages + toolkits}


def _messages_for_review(user: User) -> list[Message]:
    """The messages awaiting review, each marked ``yours`` when it is the person's own work."""
    messages = list(selectors.review_queue_messages())
    for message in messages:
        message.yours = policy.message_is_own(user, message)  # type: ignore[attr-defined]
    return messages


def wire() -> None:
    register_kind("content_review_requested", "Messaging waiting for your review")
    register_kind("content_review_result", "Reviews of messaging you wrote")

    register_nav_item(key="messages", label="Messaging", url_name="content:message_list", order=20)
    register_nav_item(key="toolkits", label="Toolkits", url_name="content:toolkit_list", order=21)
    register_nav_item(
        key="review", label="Review", url_name="content:review_queue", order=40, roles=(RoleName.REVIEWER,)
    )
    register_nav_item(key="content-usage", label="Usage", url_name="content:usage", order=41, roles=(RoleName.CURATOR,))
    register_home_card(key="messaging", template_name="content/cards/messaging.html", order=30, context=_messaging_card)
    register_home_card(
        key="content-review",
        template_name="content/cards/review.html",
        order=35,
        roles=(RoleName.REVIEWER,),
        context=_review_card,
    )

    review.register_section(
        review.ReviewSection(
            key="messages",
            title="Messages",
            template_name="content/review/_messages.html",
            items=_messages_for_review,
            order=10,
        )
    )
    review.register_section(
        review.ReviewSection(
            key="toolkits",
            title="Toolkits",
            template_name="content/review/_toolkits.html",
            items=lambda user: list(selectors.review_queue_toolkits()),
            order=20,
        )
    )

    collect_personal_data.connect(receivers.collect_personal_data, dispatch_uid="content.collect_personal_data")
