"""What engage listens to: the activity of the apps below it, for the participation log.

``training.signals.activity`` and ``content.signals.activity`` are sent after their
transaction commits, each with an ``activity`` (``config.activity.Activity``); every one
is appended to the log, where its ``key`` makes a second delivery count once.
"""

from __future__ import annotations

from typing import Any

from config.activity import Activity
from engage import participation


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


def connect() -> None:
    """Connect engage's receivers (from ``EngageConfig.ready()``).

    Direct imports: a renamed or missing signal stops the start-up instead of silently
    keeping course completions and shares out of the participation log.
    """
    from accounts.signals import collect_personal_data
    from content.signals import activity as content_activity
    from training.signals import activity as training_activity

    collect_personal_data.connect(export_personal_data, dispatch_uid="engage.export_personal_data")
    training_activity.connect(on_activity, dispatch_uid="engage.participation.training.signals")
    content_activity.connect(on_activity, dispatch_uid="engage.participation.content.signals")
