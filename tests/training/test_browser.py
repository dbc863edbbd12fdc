"""In the browser: an employee takes the responder course, passes, and sees the certificate."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import RoleName
from tests.browser.conftest import browser_page, chromium, live_server, sign_in  # noqa: F401 (fixtures)
from tests.factories import DepartmentFactory, UserFactory
from tests.training.conftest import course_spec
from training import selectors, services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _published_course_and_learner(**learner: Any) -> tuple[Any, Any]:
    """The responder course, published by a curator of Customer Support, and one of its learners."""
    department = DepartmentFactory(slug="support", name="Customer Support")
    curator = UserFactory(roles=[RoleName.CURATOR], department=department)
    course = services.course_publish(
        user=curator, course_id=services.course_create(author=curator, **course_spec(audience=["support"])).pk
    )
    return course, UserFactory(department=department, **learner)


def test_an_employee_takes_the_responder_course_passes_and_sees_the_certificate(
    browser_page,  # noqa: F811
    live_server,  # noqa: F811
    sign_in,  # noqa: F811
):
    course, employee = _published_course_and_learner(name="Sam Support")
    page = browser_page
    sign_in(page, live_server, employee)

    page.goto(f"{live_server.url}/training/")
    page.get_by_role("link", name="Responding to the community").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Responding to the community"
    assert page.get_by_text("Read twice, answer once.").is_visible()

    # Work through both modules; progress is kept.
    page.get_by_role("button", name=re.compile("Mark as done and continue")).click()
    page.get_by_role("heading", name="Trust").wait_for()
    assert page.get_by_text("1 of 2 done").is_visible()
    page.get_by_role("button", name=re.compile("Mark as done and continue to the quiz")).click()
    page.get_by_role("heading", name=re.compile("^Quiz")).wait_for()

    # The right answers: one, two (both needed), one.
    page.get_by_role("checkbox", name="Acknowledge").check()
    page.get_by_role("checkbox", name="Approved messaging").check()
    page.get_by_role("checkbox", name="Public docs").check()
    page.get_by_role("checkbox", name="Certified responders").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Submit answers").click()

    assert page.get_by_role("heading", level=1).inner_text() == "You passed"
    assert page.locator(".result__score").inner_text() == "100%"
    certification = selectors.certifications_for_user(user=employee).get()
    expiry = timezone.localtime(certification.expires_at)
    shown = page.locator(".certificate .certificate__expiry")
    assert shown.get_attribute("datetime") == expiry.isoformat()
    assert expiry.strftime("%Y") in shown.inner_text()

    page.get_by_role("link", name="My training").last.click()
    card = page.locator(f'[data-certificate="{certification.pk}"]')
    assert card.get_by_text("Responder", exact=True).is_visible()
    assert card.get_by_text("Valid", exact=True).is_visible()
    assert card.locator(".certificate__expiry").get_attribute("datetime") == expiry.isoformat()
    assert selectors.user_holds_privilege(user=employee, privilege="responder")
    assert course.pk == certification.course_id


def test_the_quiz_refuses_an_empty_submission_and_warns_about_unanswered_questions(
    browser_page,  # noqa: F811
    live_server,  # noqa: F811
    sign_in,  # noqa: F811
):
    course, employee = _published_course_and_learner()
    page = browser_page
    sign_in(page, live_server, employee)
    page.goto(f"{live_server.url}/training/courses/{course.pk}/quiz/")

    with page.expect_navigation():
        page.get_by_role("button", name="Submit answers").click()
    assert "no attempt was used" in page.locator("#quiz-error").inner_text()
    assert page.get_by_text("Attempts left in the next 24 hours: 5 of 5").is_visible()

    page.get_by_role("checkbox", name="Acknowledge").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Submit answers").click()
    assert "Questions 2 and 3 have no answer yet" in page.locator("#quiz-warning").inner_text()
    assert page.get_by_role("checkbox", name="Acknowledge").is_checked()
    assert not selectors.attempts_since(user=employee, course=course, since=timezone.now() - timedelta(days=1)).exists()

    with page.expect_navigation():
        page.get_by_role("button", name="Submit anyway").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Not passed this time"


def test_the_course_editor_audience_is_a_searchable_list(
    browser_page,  # noqa: F811
    live_server,  # noqa: F811
    sign_in,  # noqa: F811
):
    DepartmentFactory(slug="support", name="Customer Support")
    DepartmentFactory(slug="finance", name="Finance")
    DepartmentFactory(slug="hr", name="People and HR")
    curator = UserFactory(roles=[RoleName.CURATOR])
    page = browser_page
    sign_in(page, live_server, curator)
    page.goto(f"{live_server.url}/training/manage/new/")
    search = page.get_by_label("Find a department")
    search.fill("fin")
    assert page.get_by_role("checkbox", name="Finance").is_visible()
    assert not page.get_by_role("checkbox", name="Customer Support").is_visible()
    search.press("Enter")  # ticks the only match, does not submit
    assert page.get_by_role("checkbox", name="Finance").is_checked()
    assert page.get_by_text("1 chosen").is_visible()
    assert page.url.endswith("/training/manage/new/")
    # Everything shows again once the search is cleared; the ticked one stays ticked.
    assert page.get_by_role("checkbox", name="People and HR").is_visible()
    assert page.get_by_role("checkbox", name="Finance").is_checked()


def test_a_curator_edits_a_published_course_as_a_new_version_with_the_choice_editor(
    browser_page,  # noqa: F811
    live_server,  # noqa: F811
    sign_in,  # noqa: F811
):
    course, learner = _published_course_and_learner()
    services.attempt_submit(user=learner, course_id=course.pk, answers=[[1], [0, 2], [1]])
    curator = UserFactory(roles=[RoleName.CURATOR])
    page = browser_page
    sign_in(page, live_server, curator)
    page.goto(f"{live_server.url}/training/manage/")
    with page.expect_navigation():
        page.get_by_role("button", name="Edit Responding to the community as a new version").click()
    assert "This is the draft of version 2" in page.locator("[data-new-version]").inner_text()

    # The first question: its three choices as rows, the right one ticked; no * syntax anywhere.
    question = page.locator('[data-question="m-0-q-0"]')
    assert question.get_by_label("Choice 1", exact=True).input_value() == "Argue"
    assert question.get_by_role("checkbox", name="Choice 2 is Right").is_checked()
    question.get_by_role("button", name="Remove choice 3").click()  # "Ignore" goes
    assert question.get_by_label("Choice 3", exact=True).input_value() == ""  # the empty row moved up
    question.get_by_role("button", name="Add a choice").click()
    added = question.get_by_label("Choice 4", exact=True)
    assert added.evaluate("el => el === document.activeElement")
    added.fill("Thank them")
    question.get_by_role("checkbox", name="Choice 4 is Right").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save draft").click()
    assert page.get_by_text("Draft saved.").is_visible()
    with page.expect_navigation():
        page.get_by_role("button", name="Publish version 2").click()
    assert page.get_by_text("Version 2 of “Responding to the community” is published").is_visible()

    course.refresh_from_db()
    first = selectors.course_questions(course=course)[0]
    assert (course.version, first.choices, first.correct) == (2, ["Argue", "Acknowledge", "Thank them"], [1, 2])
    # The learner passed version 1: still completed and certified.
    assert selectors.enrollments_for_user(user=learner).get().completed_at is not None
    assert selectors.user_holds_privilege(user=learner, privilege="responder")
