"""Changing a published course: a new version, drafted beside the live one, published into it.

Completions, attempts and certifications belong to the course, not a version, so they carry
over; progress through modules carries over by module position.
"""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import RoleName
from config.errors import Conflict
from tests.concurrency import run_together
from tests.factories import UserFactory
from tests.training.conftest import QUESTIONS, RIGHT, course_spec
from training import selectors, services
from training.models import Attempt, Certification, Course, CourseStatus, Enrollment, ModuleProgress

pytestmark = pytest.mark.django_db

NEW_MODULES: list[dict[str, Any]] = [
    {
        "title": "Tone, revised",
        "lessons": [{"title": "Listen first", "body": "Read **three** times."}],
        "questions": [{"text": "First thing to do?", "choices": ["Thank them", "Argue"], "correct": [0]}],
    },
    {"title": "Trust", "lessons": [], "questions": QUESTIONS[2:]},
]


def test_a_new_version_replaces_the_course_and_keeps_completions_and_certifications(curator, owner, make_course):
    course = make_course()
    passed = services.attempt_submit(user=owner, course_id=course.pk, answers=RIGHT)
    assert passed.certification is not None
    first_module = course.modules.get(position=0)
    services.module_complete(user=owner, course_id=first_module.course_id, module_id=first_module.pk)

    draft = services.course_new_version(user=curator, course_id=course.pk)
    assert (draft.status, draft.version, draft.edition_of_id) == (CourseStatus.DRAFT, 2, course.pk)
    assert [q.text for q in selectors.course_questions(course=draft)] == [q["text"] for q in QUESTIONS]
    services.course_update(
        user=curator, course_id=draft.pk, modules=NEW_MODULES, pass_mark="0.5", title="Responding, revised"
    )

    # Until it is published, learners take version 1.
    assert [q.text for q in selectors.course_questions(course=course)] == [q["text"] for q in QUESTIONS]
    published = services.course_publish(user=curator, course_id=draft.pk)

    assert published.pk == course.pk
    course.refresh_from_db()
    assert (course.version, course.title, str(course.pass_mark), course.status) == (
        2,
        "Responding, revised",
        "0.500",
        CourseStatus.PUBLISHED,
    )
    assert [q.text for q in selectors.course_questions(course=course)] == ["First thing to do?", QUESTIONS[2]["text"]]
    assert not Course.objects.filter(pk=draft.pk).exists()
    # What the learner earned on version 1 is still theirs.
    enrollment = Enrollment.objects.get(user=owner, course=course)
    assert enrollment.completed_at is not None
    certification = Certification.objects.get(user=owner, course=course, superseded_at__isnull=True)
    assert certification.pk == passed.certification.pk
    assert selectors.user_holds_privilege(user=owner, privilege="responder")
    assert Attempt.objects.get(user=owner).course_version == 1
    # The first module is the same row (a new title), so the learner's progress in it stays.
    assert ModuleProgress.objects.filter(user=owner, module=first_module).exists()
    assert course.modules.get(position=0).pk == first_module.pk
    # A new attempt answers version 2 and renews the certification.
    again = services.attempt_submit(user=owner, course_id=course.pk, answers=[[0], [1]])
    assert (again.attempt.course_version, again.attempt.passed, again.certification.renewal) == (2, True, True)


def test_a_course_has_one_next_version_at_a_time(curator, make_course):
    course = make_course()
    first = services.course_new_version(user=curator, course_id=course.pk)
    assert services.course_new_version(user=curator, course_id=course.pk).pk == first.pk
    assert Course.objects.filter(edition_of=course).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_for_a_new_version_make_one(department):
    curator = UserFactory(roles=[RoleName.CURATOR])
    course = services.course_publish(user=curator, course_id=services.course_create(author=curator, **course_spec()).pk)
    drafts = run_together(6, lambda _i: services.course_new_version(user=curator, course_id=course.pk).pk)
    assert len(drafts) == 6
    assert len(set(drafts)) == 1
    assert Course.objects.filter(edition_of=course).count() == 1


def test_drafts_and_archived_courses_get_no_new_version(curator, make_course):
    draft = make_course(publish=False)
    with pytest.raises(Conflict, match="This course is a draft: edit it as it is"):
        services.course_new_version(user=curator, course_id=draft.pk)
    archived = services.course_archive(user=curator, course_id=make_course().pk)
    with pytest.raises(Conflict, match="This course is archived"):
        services.course_new_version(user=curator, course_id=archived.pk)


def test_a_version_started_before_the_course_was_archived_cannot_be_published(curator, make_course):
    course = make_course()
    draft = services.course_new_version(user=curator, course_id=course.pk)
    services.course_archive(user=curator, course_id=course.pk)
    with pytest.raises(Conflict, match="was archived after this new version was started"):
        services.course_publish(user=curator, course_id=draft.pk)
    course.refresh_from_db()
    assert (course.status, course.version) == (CourseStatus.ARCHIVED, 1)


def test_a_published_course_is_not_changed_directly(curator, make_course):
    course = make_course()
    with pytest.raises(Conflict, match="start a new version of it"):
        services.course_update(user=curator, course_id=course.pk, title="Changed in place")


def test_answers_given_to_an_earlier_version_use_no_attempt(curator, owner, make_course):
    course = make_course()
    draft = services.course_new_version(user=curator, course_id=course.pk)
    services.course_update(user=curator, course_id=draft.pk, modules=NEW_MODULES)
    services.course_publish(user=curator, course_id=draft.pk)
    with pytest.raises(Conflict, match="has a new version since you opened the quiz"):
        services.attempt_submit(user=owner, course_id=course.pk, answers=[[0], [1]], version=1)
    assert not Attempt.objects.filter(user=owner).exists()


def test_the_api_starts_edits_and_publishes_a_new_version(api, curator, owner, make_course):
    course = make_course()
    client = api(curator)
    started = client.post(f"/api/v1/courses/{course.pk}/new-version/")
    assert started.status_code == 201, started.content
    body = started.json()
    assert (body["version"], body["edition_of"], body["status"]) == (2, course.pk, "draft")
    assert client.post(f"/api/v1/courses/{course.pk}/new-version/").json()["id"] == body["id"]
    assert client.post(f"/api/v1/courses/{course.pk}/new-version/").status_code == 200
    assert api(owner).get(f"/api/v1/courses/{body['id']}/").status_code == 404  # a draft: curators only
    assert client.patch(f"/api/v1/courses/{course.pk}/", {"title": "X"}, format="json").status_code == 409
    assert client.patch(f"/api/v1/courses/{body['id']}/", {"title": "Revised"}, format="json").status_code == 200
    published = client.post(f"/api/v1/courses/{body['id']}/publish/")
    assert published.status_code == 200, published.content
    assert (published.json()["id"], published.json()["version"], published.json()["title"]) == (course.pk, 2, "Revised")
    assert api(owner).get(f"/api/v1/courses/{course.pk}/").json()["title"] == "Revised"


def test_the_editor_offers_a_new_version_of_a_published_course(client, curator, owner, make_course):
    course = make_course()
    client.force_login(curator)
    page = client.get(f"/training/manage/{course.pk}/edit/").content.decode()
    assert "Edit as version 2" in page
    assert 'name="title"' not in page  # no form for the live version itself
    started = client.post(f"/training/manage/{course.pk}/new-version/")
    draft = Course.objects.get(edition_of=course)
    assert started["Location"] == f"/training/manage/{draft.pk}/edit/"
    editor = client.get(started["Location"]).content.decode()
    assert "This is the draft of version 2" in editor
    assert "completions and certificates carry over" in editor
    listing = client.get("/training/manage/").content.decode()
    assert f'href="/training/manage/{draft.pk}/edit/">Edit version 2' in listing
    assert listing.count("Responding to the community</a>") == 1  # the draft shows on its course's row
    publish = client.post(f"/training/manage/{draft.pk}/publish/", follow=True)
    assert "Version 2 of “Responding to the community” is published" in publish.content.decode()
