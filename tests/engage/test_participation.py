"""The participation log: one row per key, written with the change, fed by the domain
signals of training and content."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.activity import Activity, ActivityKind, activity_key, announce
from engage import participation
from engage.models import ParticipationEvent
from tests.factories import UserFactory
from training.signals import activity as training_activity

pytestmark = pytest.mark.django_db


def _activity(key: str = "course_completed:1", **overrides) -> Activity:
    values = {
        "kind": ActivityKind.COURSE_COMPLETED,
        "occurred_at": timezone.now(),
        "object_type": "training.course",
        "object_id": 1,
        "key": key,
    }
    values.update(overrides)
    return Activity(**values)


def test_the_same_event_twice_is_one_row(owner):
    fact = _activity(actor_id=owner.pk, department_id=owner.department_id)
    participation.record(fact)
    participation.record(fact)
    participation.record(_activity(actor_id=owner.pk, data={"different": "payload, same key"}))
    assert ParticipationEvent.objects.filter(key=fact.key).count() == 1
    event = ParticipationEvent.objects.get()
    assert event.actor_id == owner.pk
    assert event.department_id == owner.department_id


def test_recording_is_one_statement():
    with CaptureQueriesContext(connection) as captured:
        participation.record(_activity("k:one"))
    assert len(captured.captured_queries) == 1
    assert "INSERT" in captured.captured_queries[0]["sql"].upper()


def test_record_many_ignores_keys_already_there():
    participation.record(_activity("k:1"))
    participation.record_many([_activity("k:1"), _activity("k:2"), _activity("k:2")])
    assert sorted(ParticipationEvent.objects.values_list("key", flat=True)) == ["k:1", "k:2"]


def test_a_visitor_event_has_no_actor():
    participation.record(_activity("share_link_clicked:9", kind=ActivityKind.SHARE_LINK_CLICKED, actor_id=None))
    assert ParticipationEvent.objects.get().actor_id is None


def test_training_activity_reaches_the_log_after_commit_once(owner, django_capture_on_commit_callbacks):
    fact = _activity("course_completed:77", actor_id=owner.pk, department_id=owner.department_id)
    with django_capture_on_commit_callbacks(execute=True):
        announce(training_activity, sender=ParticipationEvent, activity=fact)
        assert not ParticipationEvent.objects.exists()  # nothing before the commit
    with django_capture_on_commit_callbacks(execute=True):
        announce(training_activity, sender=ParticipationEvent, activity=fact)  # delivered again
    assert ParticipationEvent.objects.filter(key="course_completed:77").count() == 1


def test_content_activity_reaches_the_log(owner):
    from content.signals import activity as content_activity

    fact = _activity("message_shared:5", kind=ActivityKind.MESSAGE_SHARED, object_type="content.message")
    content_activity.send(sender=ParticipationEvent, activity=fact)
    assert ParticipationEvent.objects.filter(key="message_shared:5", kind="message_shared").count() == 1


def test_a_real_course_pass_is_logged(owner, django_capture_on_commit_callbacks):
    """End to end through training's own service: its signal lands in engage's log."""
    from accounts.models import RoleName
    from tests.factories import UserFactory
    from tests.training.conftest import RIGHT, course_spec
    from training import services as training_services

    curator = UserFactory(roles=[RoleName.CURATOR])
    course = training_services.course_create(author=curator, **course_spec())
    course = training_services.course_publish(user=curator, course_id=course.pk)
    with django_capture_on_commit_callbacks(execute=True):
        training_services.attempt_submit(user=owner, course_id=course.pk, answers=RIGHT)
    kinds = set(ParticipationEvent.objects.filter(actor=owner).values_list("kind", flat=True))
    assert {"course_completed", "certification_earned"} <= kinds


def test_a_persons_answers_are_part_of_their_data_export(owner, make_query, department):
    from accounts.services import user_export
    from engage import services

    query = make_query(department=department)
    services.query_claim(user=owner, query_id=query.pk)
    services.answer_submit(user=owner, query_id=query.pk, body="My words")
    exported = user_export(user=owner)
    assert [row["body"] for row in exported["answers"]] == ["My words"]
    assert exported["insights"] == []


ENGAGE_KINDS = [
    ActivityKind.QUERY_RECEIVED,
    ActivityKind.QUERY_ROUTED,
    ActivityKind.QUERY_CLAIMED,
    ActivityKind.QUERY_ESCALATED,
    ActivityKind.ANSWER_REVIEWED,
    ActivityKind.ANSWER_PUBLISHED,
    ActivityKind.INSIGHT_SUBMITTED,
    ActivityKind.INSIGHT_STATUS_CHANGED,
]


def test_an_activity_key_is_its_kind_and_its_parts_in_one_format() -> None:
    at = datetime(2026, 12, 4, 10, tzinfo=UTC)
    assert activity_key(ActivityKind.QUERY_CLAIMED, 12, 7, at) == "query_claimed:12:7:2026-12-04T10:00:00+00:00"
    assert activity_key(ActivityKind.TOOLKIT_ITEM_USED, 3, 4, at.date()) == "toolkit_item_used:3:4:2026-12-04"
    assert activity_key(ActivityKind.ANSWER_PUBLISHED, "") == "answer_published:"  # a statement's prefix


@pytest.mark.parametrize("kind", ENGAGE_KINDS)
def test_each_of_engages_kinds_has_one_constructor_that_makes_that_kind(kind: str) -> None:
    person = UserFactory()
    here = person.department_id
    at = datetime(2026, 12, 4, 10, tzinfo=UTC)
    facts = {
        "query_received": {"query_id": 5, "received_at": at, "channel_slug": "x", "priority": "normal"},
        "query_routed": {
            "query_id": 5, "routed_at": at, "department_id": here, "topic_ids": [1], "matches": {1: ["a"]},
        },
        "query_claimed": {"query_id": 5, "holder": person, "claimed_at": at},
        "query_escalated": {
            "query_id": 5, "by": person, "escalated_at": at, "from_department_id": here, "to_department_id": here,
        },
        "answer_reviewed": {
            "answer_id": 6, "reviewer": person, "reviewed_at": at, "outcome": "approved", "author_id": 9,
            "submitted_at": at,
        },
        "answer_published": {
            "answer_id": 6, "author": person, "author_department_id": person.department_id, "published_at": at,
            "query_id": 5, "query_department_id": here, "message_ids": [3, 1],
        },
        "insight_submitted": {"insight_id": 7, "by": person, "submitted_at": at, "query_ids": [5]},
        "insight_status_changed": {
            "insight_id": 7, "change_id": 8, "by": person, "changed_at": at, "from_status": "submitted",
            "to_status": "planned",
        },
    }  # fmt: skip
    made = getattr(participation, kind)(**facts[kind])
    assert made.kind == kind
    assert made.occurred_at == at
    assert made.key.startswith(activity_key(kind, ""))
    participation.record(made)
    assert ParticipationEvent.objects.filter(key=made.key, kind=kind).count() == 1
