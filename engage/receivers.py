"""What engage listens to: the activity of the apps below it, for the participation log.

``training.signals.activity`` and ``content.signals.activity`` are sent after their
transaction commits, each with an ``activity`` (``config.activity.Activity``); every one
is appended to the log, where its ``key`` makes a second delivery count once.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from config.activity import Activity
from engage import participation

logger = logging.getLogger(__name__)

SOURCES = ("training.signals", "content.signals")


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
    from django.apps import apps

    from accounts.signals import collect_personal_data

    collect_personal_data.connect(export_personal_data, dispatch_uid="engage.export_personal_data")

    for module_name in SOURCES:
        app_label = module_name.split(".", 1)[0]
        if not apps.is_installed(app_label):
            continue
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            logger.warning("%s is installed but has no signals module yet", app_label)
            continue
        signal = getattr(module, "activity", None)
        if signal is not None:
            signal.connect(on_activity, dispatch_uid=f"engage.participation.{module_name}")
