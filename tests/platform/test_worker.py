"""Jobs through a real broker (Redis) to a real Celery worker, and what survives failures.

Each worker is a ``celery -A config worker`` subprocess on the test database. Nothing
here is mocked: the broker outage is a Redis address where nothing listens, and the
killed worker is killed with SIGKILL.
"""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.models import Notification, User
from accounts.notifications import notify
from config import jobs
from config.celery_app import app
from config.models import OutboxJob
from tests.factories import UserFactory
from tests.platform.procs import Worker, run_python, wait_for

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

DELIVER = "accounts.deliver_notification"
SEND_EMAIL = "accounts.send_email"
UNREACHABLE_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def notifications_of(person: User) -> list[Notification]:
    return list(Notification.objects.filter(user=person))


def mails_to(person: User, worker_env: dict[str, str]) -> list[str]:
    """Mail the worker sent to ``person`` (the file backend writes it under its var/mail)."""
    outbox = Path(worker_env["ENGAGE_VAR_DIR"]) / "mail"
    texts = [path.read_text() for path in outbox.glob("*")] if outbox.is_dir() else []
    return [text for text in texts if person.email in text]


def test_a_job_queued_in_a_transaction_runs_on_the_worker_after_commit(celery_worker: Worker) -> None:
    assert not jobs.embedded(), "these tests run jobs through the broker"
    person = UserFactory()
    with transaction.atomic():
        notify(user_ids=[person.pk], kind="account", title="Hello from the worker")
        assert OutboxJob.objects.filter(task_name=DELIVER).count() == 1
    assert not OutboxJob.objects.filter(task_name=DELIVER).exists(), "handed to the broker, so out of the outbox"

    notes = wait_for(lambda: notifications_of(person), what="the worker to deliver the notification")
    assert [note.title for note in notes] == ["Hello from the worker"]
    wait_for(lambda: f"Task {DELIVER}[" in celery_worker.log and "succeeded" in celery_worker.log, what="the log")


def test_a_job_rolled_back_with_its_transaction_never_runs(celery_worker: Worker) -> None:
    person = UserFactory()

    def failing_request() -> None:
        with transaction.atomic():
            notify(user_ids=[person.pk], kind="account", title="Never sent")
            raise RuntimeError("the request failed")

    with pytest.raises(RuntimeError):
        failing_request()
    assert not OutboxJob.objects.exists()
    # A later job for the same person arrives, so the worker has had the chance to run both.
    with transaction.atomic():
        notify(user_ids=[person.pk], kind="account", title="Sent")
    wait_for(lambda: notifications_of(person), what="the second notification")
    assert [note.title for note in notifications_of(person)] == ["Sent"]


def test_a_job_queued_while_the_broker_is_down_is_kept_and_relayed_later(
    celery_worker: Worker, worker_env: dict[str, str]
) -> None:
    person = UserFactory(name="Before")
    # Another process, as a web server would be, works while its Redis is unreachable.
    result = run_python(
        f"""
import django, json
django.setup()
from django.db import transaction
from django.test import Client
from accounts.models import User
from accounts.notifications import notify
with transaction.atomic():
    User.objects.filter(pk={person.pk}).update(name="Changed while Redis was down")
    notify(user_ids=[{person.pk}], kind="account", title="Queued while Redis was down")
print("committed")
# A real API call that queues a mail (and passes a throttle kept in the Redis cache).
response = Client().post(
    "/api/v1/auth/password-reset/", data=json.dumps({{"email": "{person.email}"}}),
    content_type="application/json", secure=True,
)
print("answered", response.status_code)
""",
        env={**worker_env, "REDIS_URL": UNREACHABLE_BROKER, "ALLOWED_HOSTS": "testserver"},
    )
    assert result.returncode == 0, result.stderr
    assert "committed" in result.stdout
    assert "answered 202" in result.stdout
    person.refresh_from_db()
    assert person.name == "Changed while Redis was down", "the change itself was not held back"
    kept = OutboxJob.objects.get(task_name=DELIVER)
    assert kept.attempts == 1
    assert kept.last_error
    assert OutboxJob.objects.filter(task_name=SEND_EMAIL).count() == 1
    time.sleep(1)
    assert not notifications_of(person), "nothing reached the worker"

    # The relay (run by beat every 15 s) leaves rows alone for a grace period in case the
    # process that wrote them is still publishing; these rows' writer is long gone.
    OutboxJob.objects.update(created_at=timezone.now() - timedelta(minutes=1))
    assert jobs.relay_outbox() == 2
    assert not OutboxJob.objects.filter(task_name__in=[DELIVER, SEND_EMAIL]).exists()
    wait_for(lambda: notifications_of(person), what="the relayed job to run")
    wait_for(
        lambda: any("Reset your Engage password" in mail for mail in mails_to(person, worker_env)),
        what="the relayed mail to be sent",
    )
    time.sleep(1)  # a second delivery, had there been one, would have landed by now
    assert [note.title for note in notifications_of(person)] == ["Queued while Redis was down"]
    assert sum("Reset your Engage password" in mail for mail in mails_to(person, worker_env)) == 1
    assert jobs.relay_outbox() == 0


def _send_stalling_job(marker_dir: Path, person: User) -> None:
    app.send_task(
        "tests.stall_then_notify",
        kwargs={"marker_dir": str(marker_dir), "user_id": person.pk},
        queue="redelivery",
    )


def test_a_job_whose_worker_process_is_killed_runs_again(worker_env: dict[str, str], marker_dir: Path) -> None:
    """Prefork: the child running the job dies; reject_on_worker_lost puts the job back."""
    person = UserFactory()
    worker = Worker(worker_env, pool="prefork", queues="redelivery", include="tests.platform.worker_tasks").start()
    try:
        _send_stalling_job(marker_dir, person)
        started = wait_for(lambda: (marker_dir / "started").exists(), what="the job to start")
        assert started
        child = int((marker_dir / "started").read_text())
        assert child != worker.pid
        os.kill(child, signal.SIGKILL)

        wait_for(lambda: (marker_dir / "finished").exists(), what="the job to run again")
        assert int((marker_dir / "finished").read_text()) != child
        assert [note.title for note in notifications_of(person)] == ["Survived a killed worker"]
        assert "WorkerLostError" in worker.log
    finally:
        worker.stop()


def test_a_job_whose_whole_worker_is_killed_is_redelivered_to_another(
    worker_env: dict[str, str], marker_dir: Path
) -> None:
    """The whole worker dies: Redis gives the unacknowledged job to the next worker once the
    visibility timeout (shortened here to 2 s) has passed."""
    env = {**worker_env, "ENGAGE_CELERY_VISIBILITY_TIMEOUT": "2"}
    person = UserFactory()
    first = Worker(env, queues="redelivery", include="tests.platform.worker_tasks").start()
    try:
        _send_stalling_job(marker_dir, person)
        wait_for(lambda: (marker_dir / "started").exists(), what="the job to start")
        assert int((marker_dir / "started").read_text()) == first.pid
        first.kill()
    finally:
        first.stop()
    assert not (marker_dir / "finished").exists()
    time.sleep(3)  # past the visibility timeout

    second = Worker(env, queues="redelivery", include="tests.platform.worker_tasks").start()
    try:
        wait_for(lambda: (marker_dir / "finished").exists(), what="the job to be redelivered")
        assert int((marker_dir / "finished").read_text()) == second.pid
        assert [note.title for note in notifications_of(person)] == ["Survived a killed worker"]
    finally:
        second.stop()
