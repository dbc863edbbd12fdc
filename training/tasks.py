"""Background jobs of training: thin, idempotent, scheduled in config/celery_app.py."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from training import services


@shared_task(name="training.assign_required", time_limit=600, soft_time_limit=540)
def assign_required() -> int:
    """Assign required courses to people who do not have them yet (new joiners)."""
    return services.required_assignments_sync()


@shared_task(name="training.remind_assignments", time_limit=600, soft_time_limit=540)
def remind_assignments() -> dict[str, Any]:
    """Remind of assignments due soon; mark and remind of overdue ones."""
    run = services.assignments_remind()
    return {"due_soon": run.due_soon, "overdue_marked": run.overdue_marked, "overdue_reminded": run.overdue_reminded}


@shared_task(name="training.remind_certifications", time_limit=600, soft_time_limit=540)
def remind_certifications() -> int:
    """Reminders 30, 7 and 1 day(s) before a certification expires."""
    return services.certification_reminders_send()


@shared_task(name="training.expire_certifications", time_limit=600, soft_time_limit=540)
def expire_certifications() -> int:
    """Announce certifications that reached their expiry (the privilege ended already)."""
    return services.certifications_expire()
