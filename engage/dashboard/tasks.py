"""The dashboard's background job (registered through ``engage.tasks``).

- ``engage.phase_digest``: Monday mornings (config/celery_app.py), the weekly phase digest
  to executives; idempotent per ISO week, so a retry or a double delivery sends nothing new.
"""

from __future__ import annotations

from celery import shared_task

from engage.dashboard import services


@shared_task(
    name="engage.phase_digest",
    time_limit=300,
    soft_time_limit=240,
)
def phase_digest() -> int:
    return services.phase_digest_send()
