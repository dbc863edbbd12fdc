"""The time to answer customers' follow-ups: reported on the dashboard beside the phase
metrics, gating nothing (issue 13).

The phase metrics count a query once, by its first published answer
(:func:`engage.phase.metrics.answers_published` keeps to turn 1); answers to later turns
are measured here instead: from the first customer message of the turn to the answer that
answered it, against the turn's response target (the query's priority, counted from that
message).
"""

from __future__ import annotations

import statistics
from datetime import date, timedelta
from typing import Any

from django.db.models import F, OuterRef, Subquery

from accounts.models import Department
from engage.models import RESPONSE_TARGETS, CustomerMessage, Priority
from engage.phase.metrics import Window, follow_up_answers


def _duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    return f"{round(hours / 24, 1)} days"


def follow_up_report(*, as_of: date, window_days: int, department: Department | None = None) -> dict[str, Any]:
    """Follow-ups received and answered in the ``window_days`` to ``as_of`` (by the answering
    department when ``department`` is given): how many, how fast, how many within target.
    Two queries."""
    window = Window(as_of=as_of, days=window_days)
    turn_start = (
        CustomerMessage.objects.filter(query_id=OuterRef("query_id"), turn=OuterRef("turn"))
        .order_by("received_at", "id")
        .values("received_at")[:1]
    )
    answers = follow_up_answers(window)
    received = CustomerMessage.objects.filter(received_at__gte=window.start, received_at__lt=window.end).exclude(
        external_id=F("query__external_id")
    )
    if department is not None:
        answers = answers.filter(author_department=department)
        received = received.filter(query__department=department)
    rows = list(
        answers.annotate(started=Subquery(turn_start)).values_list("published_at", "started", "query__priority")
    )
    waits: list[float] = []
    on_time = 0
    for published_at, started, priority in rows:
        if started is None or published_at is None:
            continue
        wait = published_at - started
        waits.append(max(0.0, wait.total_seconds()))
        if wait <= RESPONSE_TARGETS.get(Priority(priority), timedelta(hours=24)):
            on_time += 1
    median = statistics.median(waits) if waits else None
    return {
        "window_days": window_days,
        "received": received.count(),
        "answered": len(waits),
        "median_seconds": median,
        "median_text": _duration_text(median),
        "within_target": on_time,
        "within_target_share": (on_time / len(waits)) if waits else None,
    }
