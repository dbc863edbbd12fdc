"""How ``content`` answers other apps: personal-data export, navigation, the review queue."""

from __future__ import annotations

from typing import Any

from accounts.models import RoleName, User


def collect_personal_data(sender: type, user: User, **kwargs: Any) -> dict[str, Any]:
    """The person's part of content: what they wrote, shared, reviewed and used."""
    from content.models import MessageEvent, MessageRevision, Share

    revisions = MessageRevision.objects.filter(author=user).order_by("id")
    events = MessageEvent.objects.filter(actor=user).order_by("id")
    shares = Share.objects.filter(user=user).order_by("id")
    data: dict[str, Any] = {
        "message_revisions": [
            {
                "message_id": r.message_id,
                "number": r.number,
                "title": r.title,
                "body": r.body,
                "created_at": r.created_at.isoformat(),
            }
            for r in revisions
        ],
        "message_actions": [
            {"message_id": e.message_id, "action": e.action, "comment": e.comment, "at": e.at.isoformat()}
            for e in events
        ],
        "message_shares": [
            {
                "message_id": s.message_id,
                "channel": s.channel,
                "created_at": s.created_at.isoformat(),
                "clicks": s.click_count,
            }
            for s in shares
        ],
    }
    return {"content": data}


def register_navigation() -> None:
    """Add the content pages to the main navigation (when the layout offers a registry)."""
    try:
        from accounts import navigation
    except ImportError:  # the foundation's navigation registry is not there yet
        return
    register = getattr(navigation, "register_nav_item", None)
    if register is None:
        return
    register(key="messages", label="Messaging", url_name="content:message_list", order=20)
    register(key="toolkits", label="Toolkits", url_name="content:toolkit_list", order=21)
    register(
        key="review",
        label="Review",
        url_name="content:review_queue",
        order=40,
        roles=(RoleName.REVIEWER,),
    )
    cards = getattr(navigation, "register_home_card", None)
    if cards is not None:
        cards(key="messaging", template_name="content/cards/messaging.html", order=30, context=_messaging_card)
        cards(
            key="content-review",
            template_name="content/cards/review.html",
            order=35,
            roles=(RoleName.REVIEWER,),
            context=_review_card,
        )
    register(
        key="content-usage",
        label="Usage",
        url_name="content:usage",
        order=41,
        roles=(RoleName.CURATOR,),
    )


def _messaging_card(request: Any) -> dict[str, Any]:
    from django.db.models import Sum

    from content import selectors
    from content.models import Share

    latest = selectors.messages_live_for(user=request.user).order_by("-first_published_at", "-id")[:4]
    clicks = Share.objects.filter(user=request.user).aggregate(total=Sum("click_count"))["total"] or 0
    return {"latest": list(latest.only("id", "title", "first_published_at")), "my_clicks": clicks}


def _review_card(request: Any) -> dict[str, Any]:
    from content import selectors

    messages = selectors.review_queue_messages().count()
    toolkits = selectors.review_queue_toolkits().count()
    return {"messages": messages, "toolkits": toolkits, "waiting": messages + toolkits}


def register_review_sections() -> None:
    from content import review, selectors

    review.register_section(
        review.ReviewSection(
            key="messages",
            title="Messages",
            template_name="content/review/_messages.html",
            items=lambda user: list(selectors.review_queue_messages()),
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
