"""One retry policy for every background job (config.job_policy), and dead letters."""

from __future__ import annotations

import pytest
from django.db import OperationalError

from config import job_policy, jobs
from config.celery_app import app
from config.models import OutboxJob


def engage_tasks() -> dict[str, object]:
    app.loader.import_default_modules()  # every app's tasks module, as a worker loads them
    return {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}


def test_every_registered_task_has_the_one_retry_policy() -> None:
    tasks = engage_tasks()
    assert {"engage.route_query", "engage.deliver", "accounts.send_email", "accounts.deliver_notification"} <= set(
        tasks
    )
    missing = []
    for name, task in sorted(tasks.items()):
        if not (
            isinstance(task, job_policy.Job)
            and hasattr(task, "_orig_run")  # Celery wrapped run() with the automatic retry
            and tuple(task.autoretry_for) == job_policy.TRANSIENT
            and task.max_retries == job_policy.MAX_RETRIES
            and task.retry_backoff == job_policy.BACKOFF
            and task.retry_jitter is True
        ):
            missing.append(name)
    assert missing == [], f"tasks without the retry policy of config.job_policy: {missing}"


def test_the_policy_retries_what_is_transient_and_nothing_else() -> None:
    import smtplib

    for error in (OperationalError("server closed the connection"), smtplib.SMTPServerDisconnected(), TimeoutError()):
        assert isinstance(error, job_policy.TRANSIENT)
    for error in (ValueError("bad id"), KeyError("x"), PermissionError()):
        assert not isinstance(error, job_policy.TRANSIENT)


@pytest.mark.django_db(transaction=True)
def test_an_embedded_job_that_keeps_failing_becomes_a_dead_letter_the_relay_leaves() -> None:
    job = OutboxJob.objects.create(task_name="engage.route_query", args=["not-an-id"])
    for _ in range(jobs.EMBEDDED_MAX_ATTEMPTS):
        assert jobs.dispatch(OutboxJob.objects.get(pk=job.pk)) is False
    job.refresh_from_db()
    assert job.attempts == jobs.EMBEDDED_MAX_ATTEMPTS
    assert job.dead_at is not None
    assert "not-an-id" in job.last_error
    OutboxJob.objects.filter(pk=job.pk).update(run_after=None, created_at=job.created_at.replace(year=2000))
    assert jobs.relay_outbox() == 0, "a dead letter waits for an admin"
