"""Scoring, pass marks and the shape of answers (API.md, Training)."""

from __future__ import annotations

import json

import pytest

from tests.training.conftest import QUESTIONS, RIGHT
from training.models import Attempt, Certification, Enrollment

pytestmark = pytest.mark.django_db


def attempt(api, user, course, answers):
    return api(user).post(f"/api/v1/courses/{course.pk}/attempts/", {"answers": answers}, format="json")


def test_all_right_scores_one_and_passes(api, owner, course):
    response = attempt(api, owner, course, RIGHT)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["score"] == 1.0
    assert body["passed"] is True
    assert body["certification"]["grants"] == "responder"


def test_a_question_with_several_right_choices_needs_exactly_that_set(api, owner, make_course):
    course = make_course(pass_mark="0.5", modules=[{"title": "M", "questions": [QUESTIONS[1]]}])
    # Only part of the right set: 0.
    assert attempt(api, owner, course, [[0]]).json()["score"] == 0.0
    # The right set plus a wrong choice: 0.
    assert attempt(api, owner, course, [[0, 2, 3]]).json()["score"] == 0.0
    # Exactly the right set, in any order: 1.
    assert attempt(api, owner, course, [[2, 0]]).json()["score"] == 1.0


def test_score_is_the_fraction_of_questions_right(api, owner, course):
    # First right, second partly right (scores 0), third wrong.
    body = attempt(api, owner, course, [[1], [0], [0]]).json()
    assert body["score"] == pytest.approx(1 / 3)
    assert body["passed"] is False
    assert "certification" not in body
    assert not Certification.objects.exists()


def test_nothing_chosen_scores_zero(api, owner, course):
    body = attempt(api, owner, course, [[], [], []]).json()
    assert body["score"] == 0.0
    assert body["passed"] is False


FIVE = [{"text": f"Q{n}", "choices": ["a", "b"], "correct": [0]} for n in range(5)]


@pytest.mark.parametrize(
    ("pass_mark", "right", "passed"),
    [
        ("0.8", 4, True),  # score == pass mark passes
        ("0.8", 3, False),
        ("0.6", 3, True),  # 3/5 == 0.6 exactly, however floats round
        ("1", 5, True),
        ("1", 4, False),
        ("0", 0, True),
    ],
)
def test_pass_mark_boundary(api, owner, make_course, pass_mark, right, passed):
    course = make_course(pass_mark=pass_mark, certification=None, modules=[{"title": "M", "questions": FIVE}])
    answers = [[0]] * right + [[1]] * (5 - right)
    body = attempt(api, owner, course, answers).json()
    assert body["score"] == pytest.approx(right / 5)
    assert body["passed"] is passed


def test_a_pass_completes_the_enrollment_and_attempts_are_kept(api, owner, course):
    attempt(api, owner, course, [[0], [0], [0]])
    attempt(api, owner, course, RIGHT)
    attempts = list(Attempt.objects.filter(user=owner, course=course).order_by("created_at"))
    assert [a.passed for a in attempts] == [False, True]
    assert attempts[0].answers == [[0], [0], [0]]
    enrollment = Enrollment.objects.get(user=owner, course=course)
    assert enrollment.completed_at == attempts[1].created_at
    listed = api(owner).get(f"/api/v1/courses/{course.pk}/attempts/").json()["results"]
    assert [a["passed"] for a in listed] == [True, False]


@pytest.mark.parametrize(
    ("answers", "names"),
    [
        ([[1], [0, 2]], "2 item"),  # one list short
        ([[1], [0, 2], [1], [0]], "4 item"),  # one too many
        ([[1], [0, 9], [1]], "answers[1]"),  # no such choice
        ([[1], [0, 0], [1]], "answers[1]"),  # a choice twice
        ([[1], [-1], [1]], "answers[1]"),  # negative
    ],
)
def test_answers_of_the_wrong_shape_are_400_naming_what_is_wrong(api, owner, course, answers, names):
    response = attempt(api, owner, course, answers)
    assert response.status_code == 400
    assert names in json.dumps(response.json())
    assert not Attempt.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"answers": "1,2,3"},
        {"answers": [1, 2, 3]},
        {"answers": [["a"], [0], [1]]},
        {"answers": [[True], [0], [1]]},
        {"answers": [[1.5], [0], [1]]},
        {"answers": None},
    ],
)
def test_answers_that_are_not_lists_of_indexes_are_400(api, owner, course, payload):
    response = api(owner).post(f"/api/v1/courses/{course.pk}/attempts/", payload, format="json")
    assert response.status_code == 400
    assert "answers" in json.dumps(response.json())
    assert not Attempt.objects.exists()


def test_not_json_is_400(api, owner, course):
    response = api(owner).post(
        f"/api/v1/courses/{course.pk}/attempts/", data="{not json", content_type="application/json"
    )
    assert response.status_code == 400
