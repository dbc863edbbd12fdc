"""Scheduled publication and expiry, with the clock moved (``now`` passed to services and
selectors): idempotent jobs, and visibility that is right even when a job is late."""

from __future__ import annotations

import pytest

from content import selectors, services
from content.models import Action, Message, Status
from content.signals import activity
from tests.content.conftest import later, publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def received():
    got = []

    def receiver(sender, activity, **kwargs):
        got.append(activity)

    activity.connect(receiver, dispatch_uid="test-schedule")
    yield got
    activity.disconnect(dispatch_uid="test-schedule")


def visible_ids(user, at):
    return set(selectors.messages_visible_to(user=user, now=at).values_list("id", flat=True))


def test_approval_before_publish_at_schedules_then_the_job_publishes_once(
    author, reviewer, employee, now, received, django_capture_on_commit_callbacks
):
    go_live = later(now, hours=2)
    with django_capture_on_commit_callbacks(execute=True):
        message = publish(author, reviewer, now=now, publish_at=go_live)
    assert message.status == Status.SCHEDULED
    assert message.status_at(now) == "scheduled"
    assert message.pk not in visible_ids(employee, now)
    assert received == []  # nothing is published yet

    with django_capture_on_commit_callbacks(execute=True):
        assert services.schedule_apply(now=later(now, hours=1))["published"] == 0
    assert Message.objects.get(pk=message.pk).status == Status.SCHEDULED

    job_time = later(go_live, seconds=30)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.schedule_apply(now=job_time)["published"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert services.schedule_apply(now=job_time)["published"] == 0  # a second delivery changes nothing
    message.refresh_from_db()
    assert message.status == Status.PUBLISHED
    assert message.first_published_at == go_live
    assert message.events.filter(action=Action.PUBLISHED).count() == 1
    assert message.events.get(action=Action.PUBLISHED).at == go_live
    assert [a.kind for a in received] == ["message_published"]
    assert received[0].occurred_at == go_live  # when it went live, not when the job ran


def test_a_late_job_never_hides_a_due_message(api, author, reviewer, employee, now):
    go_live = later(now, minutes=10)
    message = publish(author, reviewer, now=now, publish_at=go_live)
    # The job has not run; the time has come: visible anyway, and it reads "published".
    assert message.pk in visible_ids(employee, later(go_live, seconds=1))
    assert Message.objects.get(pk=message.pk).status_at(later(go_live, seconds=1)) == "published"
    assert message.pk not in visible_ids(employee, later(go_live, seconds=-1))


def test_a_late_job_never_shows_an_expired_message(author, reviewer, employee, now):
    ends = later(now, hours=1)
    message = publish(author, reviewer, now=now, expires_at=ends)
    assert message.pk in visible_ids(employee, later(ends, seconds=-1))
    # Past expiry but no job yet: gone from every list, search and page; 404 by id.
    after = later(ends, seconds=1)
    assert message.pk not in visible_ids(employee, after)
    assert selectors.messages_search(user=employee, text="refunds", now=after) == []
    assert Message.objects.get(pk=message.pk).status == Status.PUBLISHED  # stored status is behind...
    assert Message.objects.get(pk=message.pk).status_at(after) == "expired"  # ...what everyone sees is not
    with pytest.raises(Exception, match="No such message"):
        selectors.message_get_for_user(user=employee, id=message.pk, now=after)


def test_expiry_job_is_idempotent_and_records_when_it_expired(author, reviewer, employee, now):
    ends = later(now, hours=1)
    message = publish(author, reviewer, now=now, expires_at=ends)
    assert services.schedule_apply(now=later(ends, hours=3))["expired"] == 1
    assert services.schedule_apply(now=later(ends, hours=4))["expired"] == 0
    message.refresh_from_db()
    assert message.status == Status.EXPIRED
    expired = message.events.get(action=Action.EXPIRED)
    assert expired.at == ends
    assert expired.actor is None


def test_a_scheduled_message_whose_window_passed_before_any_job_ran(
    author, reviewer, now, received, django_capture_on_commit_callbacks
):
    go_live, ends = later(now, hours=1), later(now, hours=2)
    message = publish(author, reviewer, now=now, publish_at=go_live, expires_at=ends)
    with django_capture_on_commit_callbacks(execute=True):
        result = services.schedule_apply(now=later(now, hours=5))
    message.refresh_from_db()
    assert message.status == Status.EXPIRED
    assert result["published"] + result["expired"] >= 1
    assert [e.action for e in message.events.filter(action__in=[Action.PUBLISHED, Action.EXPIRED])] == [
        Action.PUBLISHED,
        Action.EXPIRED,
    ]
    assert [a.kind for a in received] == ["message_published"]
    assert received[0].occurred_at == go_live


def test_the_scheduled_task_runs_the_same_work(author, reviewer, now):
    from content.tasks import apply_schedule

    message = publish(author, reviewer, now=now, publish_at=later(now, seconds=1))
    Message.objects.filter(pk=message.pk).update(publish_at=later(now, seconds=-60))
    assert apply_schedule.apply().get()["published"] == 1
    assert apply_schedule.apply().get()["published"] == 0
    assert Message.objects.get(pk=message.pk).status == Status.PUBLISHED


def test_the_beat_schedule_runs_it_every_minute():
    from config.celery_app import app

    entries = {entry["task"]: entry for entry in app.conf.beat_schedule.values()}
    assert "content.apply_schedule" in entries


def test_an_edit_of_a_scheduled_message_stays_scheduled_until_approved(author, reviewer, employee, now):
    go_live = later(now, days=1)
    message = publish(author, reviewer, now=now, publish_at=go_live)
    services.message_update(user=author, message_id=message.pk, fields={"title": "Changed"}, now=now)
    message.refresh_from_db()
    assert message.status == Status.SCHEDULED
    assert message.has_pending_revision
    assert services.schedule_apply(now=later(go_live, minutes=1))["published"] == 1
    message.refresh_from_db()
    assert message.title == "Refunds take five days"  # the approved revision went live
    assert message.pk in visible_ids(employee, later(go_live, minutes=1))


def test_approving_after_expiry_passed_is_a_conflict(author, reviewer, now):
    from config.errors import Conflict
    from tests.content.conftest import make_message

    message = make_message(author, now=now, expires_at=later(now, hours=1))
    services.message_submit(user=author, message_id=message.pk, now=now)
    with pytest.raises(Conflict):
        services.message_approve(user=reviewer, message_id=message.pk, now=later(now, hours=2))


def test_re_approving_an_expired_message_with_new_times_brings_it_back(author, reviewer, employee, now):
    message = publish(author, reviewer, now=now, expires_at=later(now, hours=1))
    services.schedule_apply(now=later(now, hours=2))
    services.message_update(
        user=author, message_id=message.pk, fields={"expires_at": later(now, days=5)}, now=later(now, hours=2)
    )
    services.message_approve(user=reviewer, message_id=message.pk, now=later(now, hours=3))
    message.refresh_from_db()
    assert message.status == Status.PUBLISHED
    assert message.pk in visible_ids(employee, later(now, hours=3))
