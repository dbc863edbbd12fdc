"""The one way to queue a background job: ``enqueue``.

``enqueue`` records the job in the outbox inside the caller's transaction and hands it
to the broker once that transaction commits. Whatever cannot be handed over stays in the
outbox and is re-sent by ``relay_outbox`` (scheduled every few seconds) once the broker
answers again. Without a broker (the embedded default) jobs run in this process right
after the commit, and failed or delayed ones are run later by the relay.

Tasks must therefore be idempotent: a job can run twice (relay after a crash between
publish and delete, a worker killed mid-job and the job redelivered).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from datetime import timedelta
from typing import Any

from celery import Task
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from config.celery_app import app
from config.models import OutboxJob

logger = logging.getLogger(__name__)

# A row younger than this may still be published by the request that made it.
RELAY_GRACE = timedelta(seconds=10)
EMBEDDED_MAX_ATTEMPTS = 5
# The publish after commit is on the request's path: a hung broker (a partition) must cost
# it almost nothing. Each process publishes over its own connection with short timeouts,
# and after one failure does not try again for a few seconds (the job stays in the outbox
# and the relay sends it), as the cache does (config/cache.py).
PUBLISH_TIMEOUT_SECONDS = 0.3
PUBLISH_BREAKER_SECONDS = 5.0


class _PublishBreaker:
    def __init__(self) -> None:
        self.down_until = 0.0
        self.local = threading.local()

    def is_open(self) -> bool:
        return time.monotonic() < self.down_until

    def trip(self) -> None:
        self.down_until = time.monotonic() + PUBLISH_BREAKER_SECONDS
        self.drop_connection()

    def connection(self) -> Any:
        conn = getattr(self.local, "connection", None)
        if conn is None:
            options = {
                **(app.conf.broker_transport_options or {}),
                "socket_connect_timeout": PUBLISH_TIMEOUT_SECONDS,
                "socket_timeout": PUBLISH_TIMEOUT_SECONDS,
                "retry_on_timeout": False,
                "max_retries": 0,
            }
            conn = app.connection_for_write(transport_options=options)
            self.local.connection = conn
        return conn

    def drop_connection(self) -> None:
        conn = getattr(self.local, "connection", None)
        self.local.connection = None
        if conn is not None:
            with contextlib.suppress(Exception):  # a broken connection may fail to close
                conn.release()


publish_breaker = _PublishBreaker()


def enqueue(task: Task[..., Any] | str, *args: Any, delay_seconds: int | None = None, **kwargs: Any) -> None:
    """Queue ``task(*args, **kwargs)`` to run after the current transaction commits.

    Arguments must be JSON-serialisable (ids, not model instances).
    """
    name = task if isinstance(task, str) else task.name
    run_after = timezone.now() + timedelta(seconds=delay_seconds) if delay_seconds else None
    job = OutboxJob.objects.create(task_name=name, args=list(args), kwargs=kwargs, run_after=run_after)
    if run_after is not None and embedded():
        return  # the embedded relay runs it when it is due
    transaction.on_commit(lambda: dispatch(job), robust=True)


def outbox_row(task: Task[..., Any] | str, *args: Any, **kwargs: Any) -> OutboxJob:
    """The unsaved outbox row :func:`enqueue` would write, for a statement that writes it
    itself (``engage.statements``); hand the written row to :func:`hand_over`."""
    return OutboxJob(task_name=task if isinstance(task, str) else task.name, args=list(args), kwargs=kwargs)


def hand_over(job: OutboxJob) -> None:
    """What happens to a job a hot path's statement wrote into the outbox.

    With a broker and ``ENGAGE_HOT_JOBS_BY_RELAY`` (the default), nothing more in the
    request: the relay sends it on its next run after :data:`RELAY_GRACE` (well under half a
    minute), in a batch, which saves the request the broker round trip and a second commit
    (bench/RESULTS.md). Otherwise, and always when embedded, as :func:`enqueue`: sent (or run)
    right after the commit.
    """
    if settings.ENGAGE_HOT_JOBS_BY_RELAY and not embedded():
        return
    transaction.on_commit(lambda: dispatch(job), robust=True)


def embedded() -> bool:
    return bool(settings.CELERY_TASK_ALWAYS_EAGER)


def dispatch(job: OutboxJob) -> bool:
    """Send (or, embedded, run) one outbox job; delete it on success. True on success."""
    if embedded():
        return _run_in_process(job)
    countdown = None
    if job.run_after is not None:
        countdown = max(0.0, (job.run_after - timezone.now()).total_seconds())
    if publish_breaker.is_open():
        return False  # the broker failed a moment ago: the relay sends the job
    try:
        app.send_task(
            job.task_name,
            args=job.args,
            kwargs=job.kwargs,
            countdown=countdown,
            retry=False,
            connection=publish_breaker.connection(),
        )
    except Exception as exc:  # the broker is unreachable or hung: the relay will try again
        publish_breaker.trip()
        logger.warning("job %s kept in the outbox, broker unavailable: %s", job, exc)
        OutboxJob.objects.filter(pk=job.pk).update(attempts=job.attempts + 1, last_error=str(exc)[:2000])
        return False
    _forget(job)
    return True


def _forget(job: OutboxJob) -> None:
    """Drop a handled job: one statement in autocommit (no cascade, so no collector)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {OutboxJob._meta.db_table} WHERE id = %s", [job.pk])  # noqa: S608


def task_named(name: str) -> Task[..., Any]:
    if name not in app.tasks:
        app.loader.import_default_modules()  # registers every app's tasks module
    return app.tasks[name]


def dead_letter(task_name: str, args: list[Any], kwargs: dict[str, Any], *, error: str, attempts: int) -> OutboxJob:
    """Keep a job that failed for good where an admin sees it (Django admin, "Outbox jobs")."""
    return OutboxJob.objects.create(
        task_name=task_name,
        args=args,
        kwargs=kwargs,
        attempts=min(attempts, 32767),
        last_error=error,
        dead_at=timezone.now(),
    )


def _run_in_process(job: OutboxJob) -> bool:
    result = task_named(job.task_name).apply(args=job.args, kwargs=job.kwargs)
    if result.failed():
        logger.error("in-process job %s failed: %s", job, result.result)
        attempts = job.attempts + 1
        now = timezone.now()
        retry_at = now + timedelta(seconds=30 * 2**attempts)
        OutboxJob.objects.filter(pk=job.pk).update(
            attempts=attempts,
            last_error=repr(result.result)[:2000],
            run_after=retry_at,
            dead_at=now if attempts >= EMBEDDED_MAX_ATTEMPTS else None,
        )
        return False
    _forget(job)
    return True


def relay_outbox(*, batch_size: int = 500) -> int:
    """Dispatch outbox jobs that are due and no longer in their publisher's hands.

    Dead letters (``dead_at`` set) are left for an admin ("Retry now" in Django admin).

    Returns how many were dispatched. Stops at the first broker failure.
    """
    now = timezone.now()
    sent = 0
    due = (
        OutboxJob.objects.filter(created_at__lte=now - RELAY_GRACE, dead_at__isnull=True)
        .exclude(run_after__gt=now)
        .order_by("id")
    )
    if embedded():
        # One process, jobs run inline: each job gets its own transactions.
        for job in due.filter(attempts__lt=EMBEDDED_MAX_ATTEMPTS)[:batch_size]:
            sent += dispatch(job)
        return sent
    with transaction.atomic():
        # Several relays (beat hiccups, two beats) never send the same row at once.
        for job in due.select_for_update(skip_locked=True)[:batch_size]:
            if not dispatch(job):
                break  # the broker is down; try the rest next time
            sent += 1
    return sent
