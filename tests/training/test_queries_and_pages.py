"""List query counts, the web pages, the curator's editor, and personal data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notification
from accounts.services import user_export
from tests.factories import UserFactory
from tests.training.conftest import RIGHT
from training import services
from training.models import Attempt, Course, CourseStatus, Enrollment, ModuleProgress

pytestmark = pytest.mark.django_db


def _count_queries(django_assert_max_num_queries, client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(captured.captured_queries)


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/courses/?page_size=200",
        "/api/v1/users/me/certifications/?page_size=200",
        "/api/v1/users/me/training/?page_size=200",
    ],
)
def test_list_query_counts_do_not_grow_with_rows(
    api, owner, make_course, department, url, django_assert_max_num_queries
):
    client = api(owner)

    def add(n: int) -> None:
        for _ in range(n):
            course = make_course(audience=[department.slug], required=True, due_days=5)
            services.attempt_submit(user=owner, course_id=course.pk, answers=RIGHT)

    add(2)
    few = _count_queries(django_assert_max_num_queries, client, url)
    add(6)
    many = _count_queries(django_assert_max_num_queries, client, url)
    assert many == few
    assert len(client.get(url).json()["results"]) == 8


def test_curator_course_list_query_count_is_constant(api, curator, make_course, department, other_department):
    client = api(curator)
    make_course(audience=[department.slug])
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        client.get("/api/v1/courses/")
    for n in range(5):
        make_course(publish=n % 2 == 0, audience=[department.slug, other_department.slug])
    with CaptureQueriesContext(connection) as six:
        body = client.get("/api/v1/courses/").json()
    assert len(six.captured_queries) == len(one.captured_queries)
    assert len(body["results"]) == 6
    assert {c["status"] for c in body["results"]} == {"draft", "published"}
    assert client.get("/api/v1/courses/?status=draft").json()["results"][0]["status"] == "draft"


def test_page_size_is_capped(api, owner, make_course):
    for _ in range(3):
        make_course()
    body = api(owner).get("/api/v1/courses/?page_size=1").json()
    assert len(body["results"]) == 1
    assert body["next"]


# --- Pages ----------------------------------------------------------------------------------------------


def test_the_player_keeps_progress_per_module(client, owner, course):
    client.force_login(owner)
    modules = list(course.modules.order_by("position"))
    page = client.get(f"/training/courses/{course.pk}/")
    assert page.status_code == 200
    assert "Read <strong>twice</strong>, answer once." in page.content.decode()
    done = client.post(f"/training/courses/{course.pk}/modules/{modules[0].pk}/done/")
    assert done.status_code == 302
    assert done["Location"] == f"/training/courses/{course.pk}/?module={modules[1].pk}"
    assert set(ModuleProgress.objects.filter(user=owner).values_list("module_id", flat=True)) == {modules[0].pk}
    # Coming back opens the first module not done, and shows what is done.
    page = client.get(f"/training/courses/{course.pk}/").content.decode()
    assert 'aria-current="step">Trust' in page
    assert "1 of 2 done" in page
    last = client.post(f"/training/courses/{course.pk}/modules/{modules[1].pk}/done/")
    assert last["Location"] == f"/training/courses/{course.pk}/quiz/"
    # Twice is harmless.
    client.post(f"/training/courses/{course.pk}/modules/{modules[1].pk}/done/")
    assert ModuleProgress.objects.filter(user=owner).count() == 2
    assert api_progress(owner, course) == sorted(m.pk for m in modules)


def api_progress(user, course):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    return client.get(f"/api/v1/courses/{course.pk}/progress/").json()["modules_done"]


def test_taking_the_quiz_on_the_web_shows_the_result_and_certificate(client, owner, course):
    client.force_login(owner)
    response = client.post(f"/training/courses/{course.pk}/quiz/", {"q-0": "1", "q-1": ["0", "2"], "q-2": "1"})
    assert response.status_code == 302
    result = client.get(response["Location"]).content.decode()
    assert "You passed" in result
    assert "100%" in result
    assert "Certificate earned: Responder" in result
    mine = client.get("/training/").content.decode()
    assert "Responder" in mine
    assert "Valid" in mine
    cert = owner.certifications.get()
    assert cert.expires_at.strftime("%Y") in mine


def test_a_failed_quiz_says_which_questions_not_which_choices(client, owner, course):
    client.force_login(owner)
    response = client.post(f"/training/courses/{course.pk}/quiz/", {"q-0": "1", "q-1": "0", "submit_unanswered": "1"})
    result = client.get(response["Location"]).content.decode()
    assert "Not passed this time" in result
    assert result.count("not right") == 2
    assert "Approved messaging" not in result  # no choice is named, right or wrong


def test_quiz_refusals_on_the_web(client, owner, course):
    client.force_login(owner)
    assert client.post(f"/training/courses/{course.pk}/quiz/", {"q-0": "x"}).status_code == 400
    assert (
        client.post(f"/training/courses/{course.pk}/quiz/", {"q-0": "7", "submit_unanswered": "1"}).status_code == 400
    )
    for _ in range(5):
        client.post(f"/training/courses/{course.pk}/quiz/", {"q-0": "0", "submit_unanswered": "1"})
    refused = client.post(f"/training/courses/{course.pk}/quiz/", {"q-0": "1", "q-1": ["0", "2"], "q-2": "1"})
    assert refused.status_code == 429
    assert "5 attempts" in refused.content.decode()


def test_an_empty_quiz_is_refused_and_uses_no_attempt(client, owner, course):
    client.force_login(owner)
    for extra in ({}, {"submit_unanswered": "1"}):  # not even "submit anyway" sends an empty quiz
        response = client.post(f"/training/courses/{course.pk}/quiz/", extra)
        assert response.status_code == 400
        html = " ".join(response.content.decode().split())
        assert "You have not answered any question yet" in html
        assert "no attempt was used" in html
    assert not Attempt.objects.filter(user=owner).exists()
    assert (
        "Attempts left in the next 24 hours: 5 of 5"
        in client.get(f"/training/courses/{course.pk}/quiz/").content.decode()
    )


def test_a_partly_answered_quiz_warns_first_and_keeps_the_ticks(client, owner, course):
    client.force_login(owner)
    response = client.post(f"/training/courses/{course.pk}/quiz/", {"q-1": ["0", "2"]})
    assert response.status_code == 200
    html = " ".join(response.content.decode().split())
    assert "Questions 1 and 3 have no answer yet" in html
    assert 'name="submit_unanswered"' in html
    assert html.count("checked") == 2  # what was ticked stays ticked
    assert not Attempt.objects.filter(user=owner).exists()

    anyway = client.post(f"/training/courses/{course.pk}/quiz/", {"q-1": ["0", "2"], "submit_unanswered": "1"})
    assert anyway.status_code == 302
    assert Attempt.objects.filter(user=owner).count() == 1


def test_someone_elses_attempt_is_404(client, owner, colleague, course):
    attempt = services.attempt_submit(user=owner, course_id=course.pk, answers=RIGHT).attempt
    client.force_login(colleague)
    assert client.get(f"/training/attempts/{attempt.pk}/").status_code == 404


def test_my_training_lists_assigned_overdue_and_expired(client, owner, make_course, department):
    required = make_course(title="Policy", required=True, due_days=3, audience=[department.slug], certification=None)
    Enrollment.objects.filter(course=required).update(due_on=timezone.localdate() - timedelta(days=2))
    old = make_course(title="Old responders")
    services.attempt_submit(user=owner, course_id=old.pk, answers=RIGHT, now=timezone.now() - timedelta(days=400))
    client.force_login(owner)
    page = client.get("/training/").content.decode()
    for text in ("Policy", "Overdue", "Expired", "Renew"):
        assert text in page
    home = client.get("/").content.decode()
    assert "1 overdue" in home


def test_pages_need_sign_in(client, course):
    response = client.get("/training/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_curator_pages_are_403_for_employees(client, owner, course):
    client.force_login(owner)
    for url in ("/training/manage/", "/training/manage/new/", f"/training/manage/{course.pk}/report/"):
        assert client.get(url).status_code == 403


def test_the_editor_creates_and_edits_a_draft(client, curator, department):
    client.force_login(curator)
    form = {
        "title": "Social media policy",
        "description": "What to *say*.",
        "audience": [department.slug],
        "required": "on",
        "due_days": "14",
        "pass_mark": "75",
        "certification_name": "",
        "certification_grants": "",
        "certification_valid_days": "",
        "module_count": "2",
        "m-0-title": "Basics",
        "m-0-lesson_count": "2",
        "m-0-l-0-title": "Be kind",
        "m-0-l-0-body": "Always **kind**.",
        "m-0-l-1-title": "",
        "m-0-l-1-body": "",
        "m-0-question_count": "1",
        "m-0-q-0-text": "Which are fine?",
        "m-0-q-0-choice_count": "4",
        "m-0-q-0-c-0-text": "Thanking",
        "m-0-q-0-c-0-correct": "on",
        "m-0-q-0-c-1-text": "Insulting",
        "m-0-q-0-c-2-text": " Helping ",
        "m-0-q-0-c-2-correct": "on",
        "m-0-q-0-c-3-text": "",
        "m-1-title": "",
        "m-1-lesson_count": "1",
        "m-1-question_count": "1",
    }
    response = client.post("/training/manage/new/", form)
    assert response.status_code == 302, response.content.decode()
    course = Course.objects.get()
    assert (course.title, course.required, course.due_days, str(course.pass_mark)) == (
        "Social media policy",
        True,
        14,
        "0.750",
    )
    question = course.modules.get().questions.get()
    assert (question.choices, question.correct) == (["Thanking", "Insulting", "Helping"], [0, 2])
    editor = client.get(f"/training/manage/{course.pk}/edit/").content.decode()
    # One row per choice, the right ones ticked, and empty rows to add more (no * syntax).
    assert 'name="m-0-q-0-c-0-text" type="text" maxlength="500" value="Thanking"' in editor
    assert 'name="m-0-q-0-c-0-correct" checked' in editor
    assert 'name="m-0-q-0-c-1-correct">' in editor
    assert 'name="m-0-q-0-c-3-text" type="text" maxlength="500" value=""' in editor
    assert 'name="m-0-q-0-choice_count" value="4"' in editor
    # A question without a right choice is refused with a message, and nothing is lost.
    unticked = {k: v for k, v in form.items() if not k.endswith("-correct")}
    bad = {**unticked, "title": "Renamed"}
    refused = client.post(f"/training/manage/{course.pk}/edit/", bad)
    assert refused.status_code == 400
    assert "Module 1, question 1: tick “Right” beside the right choice (or choices)." in refused.content.decode()
    assert "Renamed" in refused.content.decode()
    # A tick on an empty row is a mistake to explain, not to drop silently.
    refused = client.post(f"/training/manage/{course.pk}/edit/", {**form, "m-0-q-0-c-3-correct": "on"})
    assert refused.status_code == 400
    assert "a choice marked right has no text; type it or untick it" in refused.content.decode()
    one_choice = {**unticked, "m-0-q-0-c-0-correct": "on", "m-0-q-0-c-1-text": "", "m-0-q-0-c-2-text": ""}
    refused = client.post(f"/training/manage/{course.pk}/edit/", one_choice)
    assert refused.status_code == 400
    assert "Module 1, question 1: give at least two choices." in refused.content.decode()
    course.refresh_from_db()
    assert course.title == "Social media policy"
    # The pass mark is typed as a percentage; a fraction-style or out-of-range value is explained.
    editor = client.get(f"/training/manage/{course.pk}/edit/").content.decode()
    assert 'name="pass_mark" type="text" inputmode="decimal" value="75"' in editor
    for typed in ("175", "lots"):
        refused = client.post(f"/training/manage/{course.pk}/edit/", {**form, "pass_mark": typed})
        assert refused.status_code == 400
        assert "Type the pass mark as a percentage from 0 to 100, such as 80." in refused.content.decode()
    assert client.post(f"/training/manage/{course.pk}/edit/", {**form, "title": "Renamed"}).status_code == 302
    course.refresh_from_db()
    assert course.title == "Renamed"
    assert client.post(f"/training/manage/{course.pk}/publish/").status_code == 302
    course.refresh_from_db()
    assert course.status == CourseStatus.PUBLISHED
    # Published: the editor refuses changes.
    assert client.post(f"/training/manage/{course.pk}/edit/", form).status_code == 409
    assert client.get("/training/manage/").status_code == 200
    report = client.get(f"/training/manage/{course.pk}/report/").content.decode()
    assert 'data-department="support"' in report


def test_lesson_markdown_is_sanitised(client, owner, make_course):
    course = make_course(
        modules=[
            {
                "title": "M",
                "lessons": [{"title": "L", "body": "<script>alert(1)</script> [x](javascript:alert(1))"}],
                "questions": [{"text": "Q", "choices": ["a", "b"], "correct": [0]}],
            }
        ]
    )
    client.force_login(owner)
    page = client.get(f"/training/courses/{course.pk}/").content.decode()
    assert "<script>alert" not in page
    assert 'href="javascript' not in page


def test_personal_data_export_includes_training(owner, course):
    services.attempt_submit(user=owner, course_id=course.pk, answers=RIGHT)
    data = user_export(user=owner)["training"]
    assert data["attempts"][0]["answers"] == RIGHT
    assert data["certifications"][0]["grants"] == "responder"
    assert data["courses"][0]["course_id"] == course.pk


def test_notification_kinds_are_registered(owner, course, django_capture_on_commit_callbacks):
    from accounts.notifications import get_kind

    for key in (
        "training.course_assigned",
        "training.assignment_due",
        "training.assignment_overdue",
        "training.certification_expiring",
        "training.certification_expired",
    ):
        assert get_kind(key).label
    assert not Notification.objects.exists()


def test_nav_shows_training_and_courses_for_curators(client, owner, curator):
    client.force_login(owner)
    page = client.get("/training/").content.decode()
    assert 'href="/training/"' in page
    assert 'href="/training/manage/"' not in page
    client.force_login(curator)
    assert 'href="/training/manage/"' in client.get("/training/").content.decode()
    UserFactory()
