"""The dashboard's background job (registered through ``engage.tasks``).

- ``engage.phase_digest``: Monday mornings (config/celery_app.py), the weekly phase digest
  to executives; idempotent per ISO week, so a retry or a double delivery sends nothing new.
"""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError

from engage.dashboard import services


@shared_task(
    name="engage.phase_digest",
    autoretry_for=(DatabaseError,),
    max_retries=3,
    default_retry_delay=300,
    time_limit=300,
    soft_time_limit=240,
)
def phase_digest() -> int:
    return services.phase_digest_send()
