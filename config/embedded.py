"""The beat schedule, run in-process when there is no broker (the embedded default).

A daemon thread walks ``app.conf.beat_schedule`` and runs each entry in this process
when it falls due, so a newcomer running ``make run`` sees scheduled publication,
reminders and rollups happen exactly as a Celery beat and worker would do them.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from celery.schedules import BaseSchedule, schedule
from django.db import close_old_connections
from django.utils import timezone

from config.celery_app import app
from config.jobs import task_named

logger = logging.getLogger(__name__)


class EmbeddedScheduler(threading.Thread):
    def __init__(self, *, tick_seconds: float = 1.0) -> None:
        super().__init__(name="engage-embedded-beat", daemon=True)
        self.tick_seconds = tick_seconds
        self.stopped = threading.Event()
        self.last_run: dict[str, datetime] = {}

    def entries(self) -> dict[str, tuple[str, BaseSchedule]]:
        result: dict[str, tuple[str, BaseSchedule]] = {}
        for key, entry in app.conf.beat_schedule.items():
            when = entry["schedule"]
            if not isinstance(when, BaseSchedule):
                when = schedule(when)
            result[key] = (entry["task"], when)
        return result

    def run_due(self) -> list[str]:
        """Run every entry that is due now; returns the keys that ran."""
        ran = []
        for key, (task_name, when) in self.entries().items():
            last = self.last_run.setdefault(key, timezone.now())
            due, _next = when.is_due(last)
            if not due:
                continue
            self.last_run[key] = timezone.now()
            close_old_connections()
            try:
                task_named(task_name).apply()
            except Exception:  # one failing job must not stop the schedule
                logger.exception("scheduled job %s failed", task_name)
            finally:
                close_old_connections()
            ran.append(key)
        return ran

    def run(self) -> None:
        logger.info("embedded scheduler running %d scheduled jobs in-process", len(app.conf.beat_schedule))
        while not self.stopped.wait(self.tick_seconds):
            self.run_due()

    def stop(self) -> None:
        self.stopped.set()
