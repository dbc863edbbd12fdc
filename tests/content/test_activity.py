"""The ``content.signals.activity`` signal: sent only after commit, with what the
participation log needs (actor, department at the time, kind, time, object, key)."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client

from config.activity import Activity, ActivityKind, activity_key
from content import services
from content.signals import activity
from tests.content.conftest import publish
from tests.factories import DepartmentFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def received():
    got: list[Activity] = []

    def receiver(sender, activity, **kwargs):
        got.append(activity)

    activity.connect(receiver, dispatch_uid="test-activity")
    yield got
    activity.disconnect(dispatch_uid="test-activity")


def test_published_is_sent_after_commit_only(author, reviewer, received):
    with transaction.atomic():
        message = publish(author, reviewer)
        assert received == []  # not while the transaction is open
    assert len(received) == 1
    event = received[0]
    assert event.kind == "message_published"
    assert event.actor_id == author.pk
    assert event.department_id == author.department_id
    assert event.object_type == "content.message"
    assert event.object_id == message.pk
    assert event.key == activity_key(ActivityKind.MESSAGE_PUBLISHED, message.pk)
    assert event.occurred_at == message.first_published_at
    assert event.data["approved_by"] == reviewer.pk


def test_nothing_is_sent_when_the_transaction_rolls_back(author, reviewer, received):
    def publish_then_fail() -> None:
        with transaction.atomic():
            publish(author, reviewer)
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        publish_then_fail()
    assert received == []


def test_republishing_an_edit_is_not_a_second_publication(author, reviewer, received):
    message = publish(author, reviewer)
    services.message_update(user=author, message_id=message.pk, fields={"title": "v2"})
    services.message_approve(user=reviewer, message_id=message.pk)
    assert [a.kind for a in received] == ["message_published"]


def test_shared_and_clicked_carry_the_department_at_the_time(author, reviewer, employee, received):
    message = publish(author, reviewer, link_url="https://example.com/")
    received.clear()
    share = services.share_create(user=employee, message_id=message.pk, channel="linkedin")
    old_department = employee.department_id
    employee.department = DepartmentFactory(slug="moved")
    employee.save()
    Client(REMOTE_ADDR="203.0.113.5", HTTP_USER_AGENT="Mozilla/5.0").get(f"/s/{share.code}")
    Client(REMOTE_ADDR="203.0.113.5", HTTP_USER_AGENT="Mozilla/5.0").get(f"/s/{share.code}")  # same visitor
    Client(REMOTE_ADDR="203.0.113.6", HTTP_USER_AGENT="Twitterbot/1.0").get(f"/s/{share.code}")  # a bot
    shared, clicked = received
    assert shared.kind == "message_shared"
    assert shared.actor_id == employee.pk
    assert shared.department_id == old_department
    assert shared.object_type == "content.message"
    assert shared.object_id == message.pk
    assert shared.key == activity_key(ActivityKind.MESSAGE_SHARED, share.pk)
    assert shared.data == {"share_id": share.pk, "channel": "linkedin"}
    assert clicked.kind == "share_link_clicked"
    assert clicked.actor_id is None  # a visitor
    assert clicked.department_id == old_department  # the sharer's, when they shared
    assert clicked.data["sharer_id"] == employee.pk
    assert clicked.data["share_id"] == share.pk
    assert clicked.object_id == message.pk
    assert clicked.key.startswith(activity_key(ActivityKind.SHARE_LINK_CLICKED, ""))


def test_toolkit_item_used_once_per_person_item_and_day(author, reviewer, employee, received, now):
    from datetime import timedelta

    toolkit = services.toolkit_create(author=author, fields={"title": "Launch kit"})
    item = services.toolkit_item_add(user=author, toolkit_id=toolkit.pk, kind="link", url="https://example.com/kit")
    services.toolkit_submit(user=author, toolkit_id=toolkit.pk)
    services.toolkit_approve(user=reviewer, toolkit_id=toolkit.pk)
    received.clear()
    services.toolkit_item_use(user=employee, toolkit_id=toolkit.pk, item_id=item.pk, now=now)
    services.toolkit_item_use(user=employee, toolkit_id=toolkit.pk, item_id=item.pk, now=now)
    services.toolkit_item_use(user=employee, toolkit_id=toolkit.pk, item_id=item.pk, now=now + timedelta(days=1))
    assert [a.kind for a in received] == ["toolkit_item_used", "toolkit_item_used"]
    first = received[0]
    assert first.actor_id == employee.pk
    assert first.department_id == employee.department_id
    assert first.object_type == "content.toolkit"
    assert first.object_id == toolkit.pk
    assert first.data == {"item_id": item.pk, "item_kind": "link"}
    assert first.key != received[1].key
