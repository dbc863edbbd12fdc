"""The one retry policy of every background job, and where a job that finally fails ends.

Every Celery task of Engage is an instance of ``Job`` (the application's task class, set
in ``config.celery_app``), so nothing needs to be declared per task, and
``tests/platform/test_job_policy.py`` fails if a task escapes it:

- an error in ``TRANSIENT`` (the database, the broker, SMTP, the network) is retried up
  to ``MAX_RETRIES`` times, after ``0..BACKOFF * 2**n`` seconds (exponential backoff with
  full jitter, at most ``BACKOFF_MAX``), so a dropped connection or a lock timeout costs
  a retry, not the job;
- whatever still fails (retries exhausted, or an error that retrying will not cure) is
  written to the outbox as a **dead letter** (``OutboxJob.dead_at``), with its arguments
  and the error: Django admin lists it under "Outbox jobs" and "Retry now" sends it again.

Embedded (no broker, jobs run in this process) the outbox row itself carries the retries
(``config.jobs``), so ``Job`` neither retries inline nor writes a second row there.
"""

from __future__ import annotations

import logging
import smtplib
import socket
import traceback
from typing import Any

import kombu.exceptions
import redis.exceptions
from celery import Task
from django import db

logger = logging.getLogger(__name__)

TRANSIENT: tuple[type[BaseException], ...] = (
    db.OperationalError,  # a dropped connection, a lock or statement timeout, a failover
    db.InterfaceError,  # a connection already closed under us
    kombu.exceptions.OperationalError,  # the broker, while publishing a follow-up job
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    smtplib.SMTPException,
    ConnectionError,  # refused, reset, aborted (OSError subclasses), and the network's
    TimeoutError,
    socket.gaierror,
)
MAX_RETRIES = 5
BACKOFF = 2  # seconds: the first retry comes within 2 s, the fifth within 32 s
BACKOFF_MAX = 300


class Job(Task[..., Any]):
    """Celery's task class for Engage: the retry policy above, and dead letters."""

    autoretry_for = TRANSIENT
    max_retries = MAX_RETRIES
    retry_backoff = BACKOFF
    retry_backoff_max = BACKOFF_MAX
    retry_jitter = True

    def retry(self, *args: Any, **kwargs: Any) -> Any:
        exc = kwargs.get("exc")
        if self.request.is_eager and isinstance(exc, BaseException):
            raise exc  # embedded: the outbox row is retried later, with its own backoff
        return super().retry(*args, **kwargs)

    def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        if self.request.is_eager:
            return
        error = "".join(traceback.format_exception(exc))[-4000:]
        retries = int(self.request.retries or 0)
        try:
            from config.jobs import dead_letter

            dead_letter(self.name, list(args or ()), dict(kwargs or {}), error=error, attempts=retries + 1)
        except Exception:  # the database is what failed: the log is all that is left
            logger.exception(
                "job %s[%s] failed for good and could not be kept: args=%r kwargs=%r", self.name, task_id, args, kwargs
            )
            return
        logger.error(
            "job %s[%s] failed after %d attempt(s); kept as a dead letter: %s", self.name, task_id, retries + 1, exc
        )
