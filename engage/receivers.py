"""What engage listens to: the activity of the apps below it, for the participation log.

``training.signals.activity`` and ``content.signals.activity`` are sent after their
transaction commits, each with an ``activity`` (``config.activity.Activity``); every one
is appended to the log, where its ``key`` makes a second delivery count once. Connected
by ``engage.wiring``.
"""

from __future__ import annotations

from typing import Any

from config.activity import Activity
from engage import participation
from engage.models import LeaderboardOptOut


def on_activity(sender: Any, activity: Activity, **kwargs: Any) -> None:
    participation.record(activity)


def export_personal_data(sender: Any, user: Any, **kwargs: Any) -> dict[str, Any]:
    """A person's part of engage for their data export (``accounts.signals.collect_personal_data``)."""
    from engage.models import Answer, Insight, QueryDraft

    answers = Answer.objects.filter(author=user).order_by("id")
    return {
        "answers": [
            {
                "id": answer.pk,
                "query": answer.query_id,
                "status": answer.status,
                "body": answer.body,
                "created_at": answer.created_at.isoformat(),
                "published_at": answer.published_at.isoformat() if answer.published_at else None,
                "review_comment": answer.review_comment,
            }
            for answer in answers
        ],
        "answer_drafts": [
            {"query": draft.query_id, "body": draft.body, "updated_at": draft.updated_at.isoformat()}
            for draft in QueryDraft.objects.filter(author=user).order_by("id")
        ],
        "insights": [
            {
                "id": insight.pk,
                "title": insight.title,
                "description": insight.description,
                "status": insight.status,
                "created_at": insight.created_at.isoformat(),
            }
            for insight in Insight.objects.filter(submitted_by=user).order_by("id")
        ],
    }


def export_leaderboard_choice(sender: Any, user: Any, **kwargs: Any) -> dict[str, Any]:
    """Whether the person left the leaderboard, and when, for their data export."""
    row = LeaderboardOptOut.objects.filter(user=user).first()
    return {"leaderboard": {"opted_out_at": row.created_at.isoformat() if row else None}}
