"""The attempt limit, and refusals: other departments' courses, unpublished courses, roles."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import RoleName
from tests.concurrency import run_together
from tests.factories import UserFactory
from tests.training.conftest import RIGHT
from training import services
from training.models import Attempt, Course

pytestmark = pytest.mark.django_db
WRONG = [[0], [0], [0]]


def post_attempt(client, course, answers=WRONG):
    return client.post(f"/api/v1/courses/{course.pk}/attempts/", {"answers": answers}, format="json")


def test_sixth_attempt_in_24_hours_is_429_and_allowed_again_after(api, owner, course):
    client = api(owner)
    for _ in range(5):
        assert post_attempt(client, course).status_code == 201
    refused = post_attempt(client, course, RIGHT)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert Attempt.objects.filter(user=owner).count() == 5
    # Move the five attempts back so the oldest is exactly 24 hours old: one slot frees up.
    oldest = Attempt.objects.filter(user=owner).order_by("created_at").first()
    shift = timezone.now() - oldest.created_at + timedelta(hours=24)
    Attempt.objects.filter(pk=oldest.pk).update(created_at=oldest.created_at - shift + timedelta(seconds=60))
    assert post_attempt(client, course).status_code == 429  # still inside the window by a minute
    Attempt.objects.filter(pk=oldest.pk).update(created_at=timezone.now() - timedelta(hours=24))
    assert post_attempt(client, course, RIGHT).status_code == 201
    assert post_attempt(client, course).status_code == 429


def test_the_limit_is_per_person_and_course(api, owner, colleague, course, make_course):
    other = make_course(title="Another")
    for _ in range(5):
        post_attempt(api(owner), course)
    assert post_attempt(api(owner), other).status_code == 201
    assert post_attempt(api(colleague), course).status_code == 201


def test_the_limit_holds_with_a_moved_clock(owner, course):
    start = timezone.now() - timedelta(days=3)
    for n in range(5):
        services.attempt_submit(user=owner, course_id=course.pk, answers=WRONG, now=start + timedelta(hours=n))
    with pytest.raises(services.RateLimited):
        services.attempt_submit(user=owner, course_id=course.pk, answers=WRONG, now=start + timedelta(hours=23))
    # 24 hours after the first, one attempt is free again.
    services.attempt_submit(user=owner, course_id=course.pk, answers=WRONG, now=start + timedelta(hours=24))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_attempts_never_exceed_the_limit(department):
    curator = UserFactory(roles=[RoleName.CURATOR])
    person = UserFactory(department=department)
    from tests.training.conftest import course_spec

    course = services.course_publish(user=curator, course_id=services.course_create(author=curator, **course_spec()).pk)

    def take(_i: int) -> str:
        try:
            services.attempt_submit(user=person, course_id=course.pk, answers=WRONG)
        except services.RateLimited:
            return "limited"
        return "ok"

    outcomes = run_together(10, take)
    assert sorted(outcomes) == ["limited"] * 5 + ["ok"] * 5
    assert Attempt.objects.filter(user=person, course=course).count() == 5


# --- Visibility -------------------------------------------------------------------------------------


def test_another_departments_course_is_404_everywhere(api, owner, outsider, make_course, client):
    course = make_course(audience=[owner.department.slug])
    assert api(owner).get(f"/api/v1/courses/{course.pk}/").status_code == 200
    as_outsider = api(outsider)
    assert as_outsider.get(f"/api/v1/courses/{course.pk}/").status_code == 404
    assert post_attempt(as_outsider, course, RIGHT).status_code == 404
    assert as_outsider.get(f"/api/v1/courses/{course.pk}/attempts/").status_code == 404
    assert as_outsider.post(f"/api/v1/courses/{course.pk}/progress/", {"module": 1}, format="json").status_code == 404
    assert course.pk not in [c["id"] for c in as_outsider.get("/api/v1/courses/").json()["results"]]
    assert not Attempt.objects.exists()
    client.force_login(outsider)
    assert client.get(f"/training/courses/{course.pk}/").status_code == 404
    assert client.get(f"/training/courses/{course.pk}/quiz/").status_code == 404
    assert client.post(f"/training/courses/{course.pk}/quiz/", {"q-0": "1"}).status_code == 404


def test_empty_audience_means_everyone(api, outsider, course):
    assert api(outsider).get(f"/api/v1/courses/{course.pk}/").status_code == 200


def test_unpublished_course_is_404_to_its_audience_and_409_to_curators(api, owner, curator, make_course):
    draft = make_course(publish=False)
    assert api(owner).get(f"/api/v1/courses/{draft.pk}/").status_code == 404
    assert post_attempt(api(owner), draft, RIGHT).status_code == 404
    response = post_attempt(api(curator), draft, RIGHT)
    assert response.status_code == 409
    assert not Attempt.objects.exists()


def test_archived_course_cannot_be_taken(api, owner, curator, course):
    assert api(curator).post(f"/api/v1/courses/{course.pk}/archive/").status_code == 200
    assert post_attempt(api(owner), course, RIGHT).status_code == 404
    assert post_attempt(api(curator), course, RIGHT).status_code == 409


def test_anonymous_is_401(api, course):
    assert api().get(f"/api/v1/courses/{course.pk}/").status_code == 401
    assert post_attempt(api(), course, RIGHT).status_code == 401


# --- Correct answers never reach the browser ----------------------------------------------------------


def test_correct_choices_are_never_in_the_course_as_its_audience_sees_it(api, owner, curator, course, client):
    for user in (owner, curator):
        body = api(user).get(f"/api/v1/courses/{course.pk}/").json()
        assert "correct" not in str(body)
        questions = [q for m in body["modules"] for q in m["questions"]]
        assert [q["choices"] for q in questions][1] == [
            "Approved messaging",
            "Internal roadmap",
            "Public docs",
            "Salaries",
        ]
        assert all(set(q) == {"id", "text", "choices"} for q in questions)
    listing = api(owner).get("/api/v1/courses/").json()
    assert "correct" not in str(listing)
    client.force_login(owner)
    for url in (f"/training/courses/{course.pk}/", f"/training/courses/{course.pk}/quiz/"):
        page = client.get(url).content.decode()
        assert "correct" not in page.lower()
        assert "Acknowledge" in page or url.endswith(f"/{course.pk}/")


def test_the_quiz_page_marks_nothing_as_right(owner, course, client):
    client.force_login(owner)
    page = client.get(f"/training/courses/{course.pk}/quiz/").content.decode()
    # Every choice is an identical, unchecked checkbox: nothing tells the right ones apart.
    assert page.count('type="checkbox"') == 9
    assert " checked" not in page
    assert "data-correct" not in page
    assert "*" not in page.split("<main", 1)[1]


def test_curators_read_the_answer_key_elsewhere(api, owner, curator, course):
    key = api(curator).get(f"/api/v1/courses/{course.pk}/content/").json()
    assert [q["correct"] for m in key["modules"] for q in m["questions"]] == RIGHT
    assert api(owner).get(f"/api/v1/courses/{course.pk}/content/").status_code == 403


# --- Authoring ------------------------------------------------------------------------------------------


def test_only_curators_create_publish_and_report(api, owner, course):
    from tests.training.conftest import course_spec

    client = api(owner)
    assert client.post("/api/v1/courses/", course_spec(), format="json").status_code == 403
    assert client.post(f"/api/v1/courses/{course.pk}/publish/").status_code == 403
    assert client.get(f"/api/v1/courses/{course.pk}/report/").status_code == 403
    assert client.patch(f"/api/v1/courses/{course.pk}/", {"title": "x"}, format="json").status_code == 403


def test_create_publish_and_edit_only_drafts(api, curator, department):
    from tests.training.conftest import course_spec

    client = api(curator)
    spec = course_spec(audience=[department.slug], pass_mark=0.8, status="published", id=999)
    created = client.post("/api/v1/courses/", spec, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "draft"  # status sent is ignored
    assert body["audience"] == [department.slug]
    assert body["pass_mark"] == 0.8
    assert body["certification"] == {"name": "Responder", "grants": "responder", "valid_days": 365}
    assert body["question_count"] == 3
    assert body["modules"][0]["lessons"][0]["body_html"] == "<p>Read <strong>twice</strong>, answer once.</p>\n"
    course_id = body["id"]
    assert client.get(f"/api/v1/courses/{course_id}/").json() == body
    edited = client.patch(f"/api/v1/courses/{course_id}/", {"title": "Responding well"}, format="json")
    assert edited.status_code == 200
    assert edited.json()["title"] == "Responding well"
    assert edited.json()["question_count"] == 3  # modules untouched when not sent
    published = client.post(f"/api/v1/courses/{course_id}/publish/")
    assert published.status_code == 200
    assert published.json()["status"] == "published"
    assert client.post(f"/api/v1/courses/{course_id}/publish/").status_code == 409
    assert client.patch(f"/api/v1/courses/{course_id}/", {"title": "Late"}, format="json").status_code == 409
    assert Course.objects.get(pk=course_id).title == "Responding well"


def test_a_course_without_questions_cannot_be_published(api, curator):
    from tests.training.conftest import course_spec

    client = api(curator)
    course_id = client.post("/api/v1/courses/", course_spec(modules=[]), format="json").json()["id"]
    response = client.post(f"/api/v1/courses/{course_id}/publish/")
    assert response.status_code == 400
    assert "question" in response.json()["detail"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"pass_mark": 1.5}, "pass_mark"),
        ({"pass_mark": "lots"}, "pass_mark"),
        ({"audience": ["nowhere"]}, "audience"),
        ({"required": True, "due_days": None}, "due_days"),
        ({"certification": {"name": "X", "grants": "king", "valid_days": 3}}, "grants"),
        ({"certification": {"name": "X", "grants": "responder", "valid_days": 0}}, "valid_days"),
        ({"modules": [{"title": "M", "questions": [{"text": "Q", "choices": ["a", "b"], "correct": [2]}]}]}, "correct"),
        ({"modules": [{"title": "M", "questions": [{"text": "Q", "choices": ["a"], "correct": [0]}]}]}, "choices"),
        ({"modules": [{"title": "M", "questions": [{"text": "Q", "choices": ["a", "b"], "correct": []}]}]}, "correct"),
        ({"modules": "lots"}, "modules"),
        ({"title": ""}, "title"),
    ],
)
def test_bad_course_input_is_400_naming_the_field(api, curator, change, field):
    from tests.training.conftest import course_spec

    response = api(curator).post("/api/v1/courses/", course_spec(**change), format="json")
    assert response.status_code == 400, response.content
    assert field in response.content.decode()
    assert not Course.objects.exists()
