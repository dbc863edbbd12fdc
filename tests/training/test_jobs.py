"""Background jobs with a moved clock: reminders, expiry, required training, overdue.

Time is moved by passing ``now`` into the services the jobs call; each job is run twice to
show a second run (a retry, a double delivery) changes nothing.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from accounts.models import Notification
from tests.factories import UserFactory
from tests.training.conftest import RIGHT
from training import services, tasks
from training.models import Certification, Enrollment

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """``run(fn, **kwargs)``: call a service and let what it queued after commit happen."""

    def call(fn, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(**kwargs)

    return call


def notes(user, kind):
    return list(Notification.objects.filter(user=user, kind=kind).order_by("id"))


def certify(run, user, course, at: datetime) -> Certification:
    cert = run(services.attempt_submit, user=user, course_id=course.pk, answers=RIGHT, now=at).certification
    assert cert is not None
    return cert


# --- Certification reminders -------------------------------------------------------------------------


def test_expiry_reminders_30_7_1_days_each_once(run, owner, course):
    # Issued at noon, so "in N days" (counted in calendar days of TIME_ZONE) is fixed.
    noon = timezone.make_aware(datetime.combine(timezone.localdate() - timedelta(days=300), time(12)))
    cert = certify(run, owner, course, noon)
    expires = cert.expires_at
    kind = "training.certification_expiring"
    assert run(services.certification_reminders_send, now=expires - timedelta(days=31)) == 0
    assert notes(owner, kind) == []
    for days in (30, 7, 1):
        moment = expires - timedelta(days=days) + timedelta(hours=1)
        assert run(services.certification_reminders_send, now=moment) == 1
        assert run(services.certification_reminders_send, now=moment) == 0  # run twice: one reminder
        assert run(services.certification_reminders_send, now=moment + timedelta(minutes=30)) == 0
    sent = notes(owner, kind)
    assert len(sent) == 3
    assert [note.title.split(" expires ")[1] for note in sent] == ["in 30 days", "in 7 days", "tomorrow"]
    assert all(note.url == f"/training/courses/{course.pk}/" for note in sent)
    assert run(services.certification_reminders_send, now=expires + timedelta(hours=1)) == 0


def test_a_short_certificate_skips_reminders_already_past(run, owner, make_course):
    course = make_course(certification={"name": "Short", "grants": "", "valid_days": 5})
    now = timezone.now()
    certify(run, owner, course, now)
    assert run(services.certification_reminders_send, now=now + timedelta(hours=1)) == 1
    assert Certification.objects.get(user=owner).reminded_days == 7
    assert run(services.certification_reminders_send, now=now + timedelta(days=4, hours=1)) == 1
    assert len(notes(owner, "training.certification_expiring")) == 2


def test_a_renewed_certificate_gets_fresh_reminders(run, owner, course):
    first = timezone.now() - timedelta(days=400)
    old = certify(run, owner, course, first)
    run(services.certification_reminders_send, now=old.expires_at - timedelta(days=6))
    new = certify(run, owner, course, old.expires_at - timedelta(days=5))
    # The old certificate is superseded: no more reminders for it, none for a year for the new.
    assert run(services.certification_reminders_send, now=old.expires_at - timedelta(hours=1)) == 0
    assert run(services.certification_reminders_send, now=new.expires_at - timedelta(days=29)) == 1


# --- Expiry ------------------------------------------------------------------------------------------


def test_expiry_is_announced_once_when_it_passes(run, owner, course):
    cert = certify(run, owner, course, timezone.now() - timedelta(days=400))
    assert run(services.certifications_expire, now=cert.expires_at - timedelta(microseconds=1)) == 0
    assert run(services.certifications_expire, now=cert.expires_at) == 1
    assert run(services.certifications_expire, now=cert.expires_at + timedelta(hours=1)) == 0
    assert len(notes(owner, "training.certification_expired")) == 1
    cert.refresh_from_db()
    assert cert.expiry_announced_at == cert.expires_at


def test_a_certificate_renewed_in_time_never_expires(run, owner, course):
    cert = certify(run, owner, course, timezone.now() - timedelta(days=360))
    certify(run, owner, course, cert.expires_at - timedelta(days=1))
    assert run(services.certifications_expire, now=cert.expires_at + timedelta(days=1)) == 0
    assert notes(owner, "training.certification_expired") == []


def test_the_scheduled_tasks_run_end_to_end(run, owner, course):
    certify(run, owner, course, timezone.now() - timedelta(days=366))
    assert run(tasks.expire_certifications.apply).result == 1
    assert run(tasks.expire_certifications.apply).result == 0
    assert run(tasks.remind_certifications.apply).result == 0
    assert run(tasks.assign_required.apply).result == 0
    assert run(tasks.remind_assignments.apply).result == {"due_soon": 0, "overdue_marked": 0, "overdue_reminded": 0}


# --- Required training -------------------------------------------------------------------------------


def test_publishing_a_required_course_assigns_its_audience(
    run, owner, colleague, outsider, make_course, department, curator
):
    course = make_course(publish=False, required=True, due_days=14, audience=[department.slug], certification=None)
    now = timezone.now()
    run(services.course_publish, user=curator, course_id=course.pk, now=now)
    assigned = Enrollment.objects.filter(course=course, assigned_at__isnull=False)
    assert {e.user_id for e in assigned} == {owner.pk, colleague.pk}
    assert {e.due_on for e in assigned} == {timezone.localdate(now) + timedelta(days=14)}
    assert len(notes(owner, "training.course_assigned")) == 1
    assert notes(outsider, "training.course_assigned") == []


def test_people_who_join_later_are_assigned_once(run, owner, make_course, department, curator):
    course = make_course(required=True, due_days=10, audience=[department.slug], certification=None)
    later = timezone.now() + timedelta(days=20)
    newcomer = UserFactory(department=department)
    moved = UserFactory()  # in another department for now
    moved.department = department
    moved.save(update_fields=["department"])
    assert run(services.required_assignments_sync, now=later) == 2
    assert run(services.required_assignments_sync, now=later + timedelta(hours=1)) == 0
    for person in (newcomer, moved):
        enrollment = Enrollment.objects.get(user=person, course=course)
        assert enrollment.required is True
        assert enrollment.due_on == timezone.localdate(later) + timedelta(days=10)
        assert len(notes(person, "training.course_assigned")) == 1
    # The first assignee kept their original due day.
    assert Enrollment.objects.get(user=owner, course=course).due_on < timezone.localdate(later)


def test_someone_who_started_on_their_own_is_assigned_too(run, owner, make_course, department, curator):
    course = make_course(publish=False, required=True, due_days=5, audience=[department.slug], certification=None)
    Enrollment.objects.create(user=owner, course=course)
    run(services.course_publish, user=curator, course_id=course.pk)
    assert Enrollment.objects.get(user=owner, course=course).assigned_at is not None


def test_inactive_people_and_unpublished_courses_are_left_alone(run, department, make_course):
    make_course(publish=False, required=True, due_days=5, audience=[department.slug], certification=None)
    UserFactory(department=department, is_active=False)
    assert run(services.required_assignments_sync) == 0
    assert not Enrollment.objects.exists()


def test_due_soon_and_overdue_reminders_each_once(run, owner, colleague, make_course, department):
    course = make_course(required=True, due_days=7, audience=[department.slug], certification=None)
    due_on = Enrollment.objects.get(user=owner, course=course).due_on
    # The colleague completes it: no reminders for them.
    run(services.attempt_submit, user=colleague, course_id=course.pk, answers=RIGHT)
    noon = timezone.make_aware(datetime.combine(due_on, datetime.min.time())) + timedelta(hours=12)

    far = run(services.assignments_remind, now=noon - timedelta(days=5))
    assert far.due_soon == 0
    soon = noon - timedelta(days=2)
    assert run(services.assignments_remind, now=soon).due_soon == 1
    assert run(services.assignments_remind, now=soon).due_soon == 0
    assert run(services.assignments_remind, now=soon + timedelta(days=1)).due_soon == 0
    assert len(notes(owner, "training.assignment_due")) == 1

    overdue = noon + timedelta(days=1)
    first = run(services.assignments_remind, now=overdue)
    assert (first.overdue_marked, first.overdue_reminded) == (1, 0)
    again = run(services.assignments_remind, now=overdue)
    assert (again.overdue_marked, again.overdue_reminded) == (0, 0)
    assert len(notes(owner, "training.assignment_overdue")) == 1
    enrollment = Enrollment.objects.get(user=owner, course=course)
    assert enrollment.overdue_at == overdue
    # A week on, one more reminder; run twice, still one.
    week = overdue + timedelta(days=7)
    assert run(services.assignments_remind, now=week).overdue_reminded == 1
    assert run(services.assignments_remind, now=week).overdue_reminded == 0
    assert len(notes(owner, "training.assignment_overdue")) == 2
    assert notes(colleague, "training.assignment_due") == notes(colleague, "training.assignment_overdue") == []
    # Completing it stops the reminders.
    run(services.attempt_submit, user=owner, course_id=course.pk, answers=RIGHT, now=week + timedelta(hours=1))
    assert run(services.assignments_remind, now=week + timedelta(days=8)).overdue_reminded == 0


def test_completion_report_by_department(api, curator, owner, colleague, outsider, make_course, department, run):
    course = make_course(
        required=True, due_days=7, audience=[department.slug, outsider.department.slug], certification=None
    )
    run(services.attempt_submit, user=colleague, course_id=course.pk, answers=RIGHT)
    Enrollment.objects.filter(user=outsider).update(due_on=timezone.localdate() - timedelta(days=1))
    response = api(curator).get(f"/api/v1/courses/{course.pk}/report/")
    assert response.status_code == 200, response.content
    report = response.json()
    rows = {row["department"]: row for row in report["departments"]}
    assert rows[department.slug] == {
        "department": department.slug,
        "name": department.name,
        "people": 2,
        "assigned": 2,
        "completed": 1,
        "overdue": 0,
        "completion_rate": 0.5,
    }
    assert rows[outsider.department.slug]["overdue"] == 1
    assert rows[outsider.department.slug]["completed"] == 0
