"""Writes of the dashboard: leaving and rejoining the leaderboard, and the weekly digest.

The digest goes to every active executive through :func:`accounts.notifications.notify`
(kind ``engage.phase_digest``: in the app and by email, as each person chose), once per
person and ISO week: the week is the notification's ``dedupe_key``, so the job run twice,
retried or delivered twice sends one email.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import RoleName, User
from accounts.notifications import notify
from engage.dashboard import presentation, selectors
from engage.models import LeaderboardOptOut
from engage.phase import selectors as phase_selectors

DIGEST_KIND = "engage.phase_digest"


def leaderboard_opt_out(*, user: User) -> None:
    """Take ``user`` off every leaderboard (idempotent)."""
    try:
        with transaction.atomic():
            LeaderboardOptOut.objects.get_or_create(user=user)
    except IntegrityError:  # the same person clicking twice at once
        pass


def leaderboard_opt_in(*, user: User) -> None:
    """Put ``user`` back on the leaderboards (idempotent)."""
    LeaderboardOptOut.objects.filter(user=user).delete()


def digest_week(day: date) -> str:
    year, week, _weekday = day.isocalendar()
    return f"{year}-W{week:02d}"


def digest_text(*, today: date | None = None) -> tuple[str, str] | None:
    """The digest's title and body from the latest snapshot (None before there is one)."""
    latest = phase_selectors.phase_snapshot_latest()
    if latest is None:
        return None
    today = today or timezone.localdate()
    result = latest.result
    before = selectors.snapshot_of(day=latest.day - timedelta(days=7))
    changes = presentation.week_changes(result, before.result if before is not None else None)
    when = f"{latest.day:%A} {latest.day.day} {latest.day:%B %Y}"
    lines = [
        f"The organisation is {result['name']} (phase {result['phase']} of 4) as of {when}.",
        result.get("stability", {}).get("summary", ""),
        "",
        "What changed this week",
        *[f"- {change.text}" for change in changes],
        "",
    ]
    next_phase = result.get("next_phase")
    if next_phase:
        lines.append(f"What stands between us and {next_phase['name']}")
        lines.append(next_phase.get("summary", ""))
        for gate in presentation.next_gate_views(result):
            state = "met" if gate.met else "not met"
            target = f" (needs {gate.threshold_text})" if gate.threshold_text else ""
            lines.append(f"- {gate.label}: {gate.value_text}{target}, {state}.")
            if not gate.met and gate.distance:
                lines.append(f"  {gate.distance}")
    else:
        lines.append("Every gate of Social holds: the company is a social organisation.")
    lines += ["", "The dashboard has every figure, down to the rows behind it."]
    title = f"Weekly phase digest, {digest_week(today)}: {result['name']}"
    return title, "\n".join(line for line in lines if line is not None).strip()


def phase_digest_send(*, today: date | None = None) -> int:
    """Send this week's digest to every active executive. Returns how many were addressed.

    Idempotent per ISO week: a second call in the same week delivers nothing new.
    """
    today = today or timezone.localdate()
    text = digest_text(today=today)
    if text is None:
        return 0
    title, body = text
    recipients = list(
        User.objects.filter(is_active=True, roles__slug=RoleName.EXECUTIVE).values_list("pk", flat=True).distinct()
    )
    if not recipients:
        return 0
    with transaction.atomic():
        notify(
            user_ids=recipients,
            kind=DIGEST_KIND,
            title=title,
            body=body,
            url=reverse("dashboard:overview"),
            dedupe_key=f"phase-digest:{digest_week(today)}",
        )
    return len(recipients)
