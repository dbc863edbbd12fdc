"""The Celery application and the beat schedule.

The schedule is explicit and lives here, in code, so that one file answers "what runs
when". Without ``REDIS_URL`` the same schedule is run in-process by
``config.embedded.EmbeddedScheduler`` (started by ``manage.py serve``).
"""

from __future__ import annotations

import os
from datetime import timedelta

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Every task is a ``config.job_policy.Job``: one retry policy and dead letters for all.
app = Celery("engage", task_cls="config.job_policy:Job")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    "relay-outbox": {
        "task": "platform.relay_outbox",
        "schedule": timedelta(seconds=15),
    },
    "purge-auth-records": {
        "task": "accounts.purge_auth_records",
        "schedule": crontab(minute=17, hour=3),
    },
    # Training: required courses reach new joiners; reminders before due days and expiries.
    "training-assign-required": {"task": "training.assign_required", "schedule": crontab(minute=5)},
    "training-remind-assignments": {"task": "training.remind_assignments", "schedule": crontab(minute=25)},
    "training-remind-certifications": {"task": "training.remind_certifications", "schedule": crontab(minute=35)},
    "training-expire-certifications": {"task": "training.expire_certifications", "schedule": timedelta(minutes=10)},
    "content-apply-schedule": {
        "task": "content.apply_schedule",
        "schedule": timedelta(seconds=60),
    },
    # Phase engine: rollups trail the log by under a minute; a snapshot of each day that ends.
    "phase-fold-rollups": {"task": "engage.phase_fold_rollups", "schedule": timedelta(seconds=15)},
    "phase-snapshot-daily": {"task": "engage.phase_snapshot_daily", "schedule": crontab(minute=5, hour=0)},
    # The weekly phase digest to executives (once per ISO week, however often it runs).
    "phase-digest-weekly": {"task": "engage.phase_digest", "schedule": crontab(minute=30, hour=7, day_of_week="mon")},
    # Engage: response-time breaches flagged once each; outbound deliveries whose job was lost.
    "engage-escalate-sla-breaches": {"task": "engage.escalate_sla_breaches", "schedule": timedelta(seconds=60)},
    "engage-sweep-deliveries": {"task": "engage.sweep_deliveries", "schedule": timedelta(minutes=5)},
    # Queries left unrouted for over a minute (a lost or dead route job) are routed again.
    "engage-route-unrouted": {"task": "engage.route_unrouted", "schedule": timedelta(seconds=60)},
    "engage-poll-mailboxes": {"task": "engage.poll_mailboxes", "schedule": timedelta(seconds=60)},
}
