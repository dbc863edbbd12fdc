"""Background jobs of ``content``: thin, idempotent, queued through ``config.jobs.enqueue``."""

from __future__ import annotations

from celery import shared_task

from content import services


@shared_task(
    name="content.apply_schedule",
    time_limit=120,
    soft_time_limit=100,
)
def apply_schedule() -> dict[str, int]:
    """Publish what is due and expire what is over (messages and toolkits). Safe to run twice."""
    return services.schedule_apply()
