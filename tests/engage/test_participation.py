"""The participation log: one row per key, written with the change, fed by the domain
signals of training and content."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.activity import Activity, ActivityKind, announce
from engage import participation
from engage.models import ParticipationEvent
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
    course = training_services.course_publish(course=course, user=curator)
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
