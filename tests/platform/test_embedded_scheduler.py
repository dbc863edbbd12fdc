"""Without a broker, ``manage.py serve`` runs the beat schedule in-process."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import LoginFailure, Notification
from config import jobs
from config.celery_app import app
from config.embedded import EmbeddedScheduler
from config.models import OutboxJob
from tests.factories import UserFactory

# The scheduler closes stale connections between jobs, as a long-running thread must.
pytestmark = pytest.mark.django_db(transaction=True)


def test_nothing_runs_before_it_is_due() -> None:
    scheduler = EmbeddedScheduler()
    assert scheduler.run_due() == []
    assert set(scheduler.last_run) == set(app.conf.beat_schedule)


def test_a_due_entry_runs_in_process() -> None:
    assert jobs.embedded()
    stale = LoginFailure.objects.create(email="a@example.com", ip="10.0.0.1", at=timezone.now() - timedelta(hours=1))
    fresh = LoginFailure.objects.create(email="a@example.com", ip="10.0.0.1")
    scheduler = EmbeddedScheduler()
    scheduler.run_due()
    scheduler.last_run["purge-auth-records"] = timezone.now() - timedelta(days=2)  # a nightly run was missed

    assert "purge-auth-records" in scheduler.run_due()
    assert not LoginFailure.objects.filter(pk=stale.pk).exists()
    assert LoginFailure.objects.filter(pk=fresh.pk).exists()
    assert "purge-auth-records" not in scheduler.run_due(), "not due again until tomorrow night"


def test_the_relay_runs_jobs_left_in_the_outbox() -> None:
    """A job whose process died between commit and running it is run by the scheduled relay."""
    person = UserFactory()
    OutboxJob.objects.create(
        task_name="accounts.deliver_notification",
        kwargs={
            "user_ids": [person.pk],
            "kind": "account",
            "title": "Left behind",
            "body": "",
            "url": "",
            "dedupe_key": None,
        },
    )
    OutboxJob.objects.update(created_at=timezone.now() - timedelta(minutes=1))
    scheduler = EmbeddedScheduler()
    scheduler.run_due()
    scheduler.last_run["relay-outbox"] = timezone.now() - timedelta(seconds=20)

    assert "relay-outbox" in scheduler.run_due()
    assert [note.title for note in Notification.objects.filter(user=person)] == ["Left behind"]
    assert not OutboxJob.objects.exists()
