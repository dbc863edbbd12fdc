from __future__ import annotations

import pytest
from django.core import mail

from accounts.models import Notification
from accounts.notifications import notify
from config.models import OutboxJob

pytestmark = pytest.mark.django_db


def test_notify_delivers_after_commit_in_process(owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notify(user_ids=[owner.pk], kind="account", title="Hello", body="Welcome", dedupe_key="hello")
        assert not Notification.objects.exists(), "nothing is delivered before the commit"
    note = Notification.objects.get(user=owner)
    assert note.title == "Hello"
    assert [m.subject for m in mail.outbox] == ["Hello"]
    assert not OutboxJob.objects.exists(), "a job that ran leaves the outbox"


def test_the_same_notification_twice_is_delivered_once(owner, django_capture_on_commit_callbacks):
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            notify(user_ids=[owner.pk], kind="account", title="Hi", dedupe_key="once")
    assert Notification.objects.filter(user=owner).count() == 1
    assert len(mail.outbox) == 1
