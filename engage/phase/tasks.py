"""The phase engine's background jobs: thin and idempotent (see engage.phase.services).

- ``engage.phase_fold_rollups``: every 15 s (config/celery_app.py), folds new events into
  the rollups for up to 10 s, so the rollups trail the log by well under a minute;
- ``engage.phase_snapshot_daily``: just after midnight in settings.TIME_ZONE, the day that
  just ended;
- ``engage.phase_recompute``: today and ``backfill`` days before it (the API's recompute).
"""

from __future__ import annotations

from celery import shared_task

from engage.phase import rollups, services

FOLD_BUDGET_SECONDS = 10.0


@shared_task(name="engage.phase_fold_rollups", time_limit=60, soft_time_limit=50)
def phase_fold_rollups() -> int:
    return rollups.rollups_fold(time_budget_seconds=FOLD_BUDGET_SECONDS)


@shared_task(
    name="engage.phase_snapshot_daily",
    time_limit=3600,
    soft_time_limit=3500,
)
def phase_snapshot_daily() -> int:
    return services.phase_snapshot_daily()


@shared_task(
    name="engage.phase_recompute",
    time_limit=3600,
    soft_time_limit=3500,
)
def phase_recompute(backfill: int = 0, job: str | None = None) -> int:
    """``job`` is the id the API answered with, for the logs."""
    return services.phase_backfill(days=int(backfill))
