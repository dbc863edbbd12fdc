"""The demo company's phase history: a seed step of ``manage.py seed_demo``, after engage's.

Folds the participation log the other steps wrote into the rollups, then computes one
snapshot a day for the 180 days of history (as the daily job would have, with the
backfill's note), so the dashboard opens on the story: Authoritarian, then Inclusive, then
Collaborative, with Social's gates visibly unmet. A few people chose to stay off the
leaderboard. A second run only fills the days missing since the last one.
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.db.models import Max
from django.utils import timezone

from accounts.demo import DEMO_ACCOUNTS, demo_people
from engage.dashboard.presentation import phase_periods
from engage.models import LeaderboardOptOut, PhaseSnapshot
from engage.phase import rollups, services
from engage.phase.selectors import ORGANISATION_KEY

HISTORY_DAYS = 180
OPTED_OUT = 4  # people who chose to stay off the leaderboard


def seed_phase(*, rng: random.Random) -> str | None:
    """Rollups and 180 days of daily snapshots (only the days still missing)."""
    if not demo_people().exists():
        return None
    while rollups.rollups_fold(time_budget_seconds=60):
        pass
    today = timezone.localdate()
    first = today - timedelta(days=HISTORY_DAYS)
    latest = PhaseSnapshot.objects.filter(scope_key=ORGANISATION_KEY, day__gte=first).aggregate(last=Max("day"))["last"]
    has_first = PhaseSnapshot.objects.filter(scope_key=ORGANISATION_KEY, day=first).exists()
    if has_first and latest == today:
        return None
    start = latest + timedelta(days=1) if has_first and latest is not None else first
    computed = services.phase_recompute(first=start, last=today)
    if not LeaderboardOptOut.objects.exists():
        named = {account.email for account in DEMO_ACCOUNTS}
        people = [p for p in demo_people().filter(is_active=True).order_by("pk") if p.email not in named]
        for person in rng.sample(people, min(OPTED_OUT, len(people))):
            LeaderboardOptOut.objects.get_or_create(user=person)
    history = list(
        PhaseSnapshot.objects.filter(scope_key=ORGANISATION_KEY, day__gte=first, day__lte=today)
        .order_by("day")
        .values_list("day", "phase")
    )
    story = ", ".join(f"{p.name} from {p.first.day} {p.first:%b}" for p in phase_periods(history))
    latest_result = PhaseSnapshot.objects.filter(scope_key=ORGANISATION_KEY, day=today).values_list("result", flat=True)
    unmet = []
    for result in latest_result:
        unmet = [gate["label"] for gate in (result.get("next_phase") or {}).get("unmet", [])]
    tail = f"; still short of the next phase: {', '.join(unmet)}" if unmet else ""
    return f"{computed} days of daily snapshots ({story}){tail}"
