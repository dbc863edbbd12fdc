"""The ``training.signals.activity`` signal: sent after commit, in the participation log's shape."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from config.activity import Activity, ActivityKind, activity_key
from tests.training.conftest import RIGHT
from training import services
from training.models import Attempt, Certification
from training.signals import activity

pytestmark = pytest.mark.django_db


@pytest.fixture
def received():
    got: list[tuple[type, Activity]] = []

    def receiver(sender, activity, **kwargs):
        got.append((sender, activity))

    activity.connect(receiver, dispatch_uid="test-training-activity")
    yield got
    activity.disconnect(dispatch_uid="test-training-activity")


def test_a_pass_announces_completion_and_certification_after_commit(
    received, owner, course, django_capture_on_commit_callbacks
):
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = services.attempt_submit(user=owner, course_id=course.pk, answers=RIGHT, now=now)
    assert received == []  # nothing before the commit
    for callback in callbacks:
        callback()
    kinds = [a.kind for _s, a in received]
    assert kinds == [ActivityKind.COURSE_COMPLETED, ActivityKind.CERTIFICATION_EARNED]
    (s1, completed), (s2, earned) = received
    assert s1 is Attempt
    assert s2 is Certification
    assert completed == Activity(
        kind="course_completed",
        occurred_at=now,
        object_type="training.course",
        object_id=course.pk,
        key=activity_key(ActivityKind.COURSE_COMPLETED, result.attempt.pk),
        actor_id=owner.pk,
        department_id=owner.department_id,
        data={"course_id": course.pk, "score": 1.0},
    )
    cert = result.certification
    assert cert is not None
    assert earned.object_type == "training.certification"
    assert earned.object_id == cert.pk
    assert earned.key == activity_key(ActivityKind.CERTIFICATION_EARNED, cert.pk)
    assert (earned.actor_id, earned.department_id, earned.occurred_at) == (owner.pk, owner.department_id, now)
    assert earned.data == {
        "course_id": course.pk,
        "grants": "responder",
        "expires_at": cert.expires_at.isoformat(),
        "renewal": False,
    }


def test_nothing_is_announced_when_the_transaction_rolls_back(
    received, owner, course, django_capture_on_commit_callbacks
):
    from django.db import transaction

    def take_then_fail() -> None:
        with transaction.atomic():
            services.attempt_submit(user=owner, course_id=course.pk, answers=RIGHT)
            raise RuntimeError("the caller failed after the attempt")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        take_then_fail()
    assert received == []
    assert not Attempt.objects.exists()


def test_a_failed_attempt_announces_nothing(received, owner, course, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.attempt_submit(user=owner, course_id=course.pk, answers=[[0], [0], [0]])
    assert received == []


def test_expiry_is_announced_once_with_a_deterministic_key(received, owner, course, django_capture_on_commit_callbacks):
    issued = timezone.now() - timedelta(days=400)
    with django_capture_on_commit_callbacks(execute=True):
        cert = services.attempt_submit(user=owner, course_id=course.pk, answers=RIGHT, now=issued).certification
    assert cert is not None
    received.clear()
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            services.certifications_expire()
    assert len(received) == 1
    sender, expired = received[0]
    assert sender is Certification
    assert expired.kind == ActivityKind.CERTIFICATION_EXPIRED
    assert expired.key == activity_key(ActivityKind.CERTIFICATION_EXPIRED, cert.pk, cert.expires_at)
    assert expired.occurred_at == cert.expires_at  # when it expired, not when the job ran
    assert (expired.actor_id, expired.department_id) == (owner.pk, owner.department_id)
    assert (expired.object_type, expired.object_id) == ("training.certification", cert.pk)


def test_a_lapse_found_at_renewal_is_announced_then_and_not_again(
    received, owner, course, django_capture_on_commit_callbacks
):
    issued = timezone.now() - timedelta(days=400)
    with django_capture_on_commit_callbacks(execute=True):
        old = services.attempt_submit(user=owner, course_id=course.pk, answers=RIGHT, now=issued).certification
    received.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.attempt_submit(user=owner, course_id=course.pk, answers=RIGHT)
        services.certifications_expire()
    kinds = [a.kind for _s, a in received]
    assert kinds.count(ActivityKind.CERTIFICATION_EXPIRED) == 1
    expired = next(a for _s, a in received if a.kind == ActivityKind.CERTIFICATION_EXPIRED)
    assert expired.object_id == old.pk
    earned = next(a for _s, a in received if a.kind == ActivityKind.CERTIFICATION_EARNED)
    assert earned.data["renewal"] is True


def test_department_at_the_time_is_recorded(
    received, owner, other_department, course, django_capture_on_commit_callbacks
):
    before = owner.department_id
    with django_capture_on_commit_callbacks(execute=True):
        services.attempt_submit(user=owner, course_id=course.pk, answers=RIGHT)
    owner.department = other_department
    owner.save(update_fields=["department"])
    assert {a.department_id for _s, a in received} == {before}
