"""``python manage.py recompute_phase [--backfill DAYS]``: the phase computation, run to completion.

Folds whatever the rollups have not counted yet, then computes today's snapshots (and
those of the DAYS days before it, from the log and the facts as they stood), printing a
line per day. Idempotent: running it again recomputes the same days.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from engage.phase import rollups, services
from engage.phase.selectors import HISTORY_MAX_DAYS


class Command(BaseCommand):
    help = "Recompute the phase snapshots of today (and, with --backfill DAYS, of the days before)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--backfill",
            type=int,
            default=0,
            metavar="DAYS",
            help=f"also compute the DAYS days before today (at most {HISTORY_MAX_DAYS})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["backfill"]
        if not 0 <= days <= HISTORY_MAX_DAYS:
            raise CommandError(f"--backfill must be between 0 and {HISTORY_MAX_DAYS}")
        folded = 0
        while True:
            step = rollups.rollups_fold(time_budget_seconds=30.0)
            folded += step
            if step == 0:
                break
        self.stdout.write(f"rollups: {folded} new events folded")
        total = days + 1
        done = 0

        def progress(day: date, organisation: dict[str, Any]) -> None:
            nonlocal done
            done += 1
            raw = organisation.get("raw_name", "?")
            self.stdout.write(
                f"[{done}/{max(done, total)}] {day.isoformat()}: {organisation.get('name', '?')} (raw {raw})"
            )

        computed = services.phase_backfill(days=days, progress=progress)
        self.stdout.write(self.style.SUCCESS(f"computed {computed} day{'s' if computed != 1 else ''}"))
