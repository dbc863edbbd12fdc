"""How ``content`` answers other apps' signals: its part of a person's data export (connected by ``content.wiring``)."""

from __future__ import annotations

from typing import Any

from accounts.models import User


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
