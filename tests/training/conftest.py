"""Fixtures for training: a curator, and courses built through the services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from accounts.models import Role, RoleName, User
from tests.factories import UserFactory
from training import services
from training.models import Course

# Three questions: one right choice, two right choices, one right choice.
QUESTIONS: list[dict[str, Any]] = [
    {"text": "A customer is angry in public. First?", "choices": ["Argue", "Acknowledge", "Ignore"], "correct": [1]},
    {
        "text": "Which may you share?",
        "choices": ["Approved messaging", "Internal roadmap", "Public docs", "Salaries"],
        "correct": [0, 2],
    },
    {"text": "Who publishes unreviewed answers?", "choices": ["Anyone", "Certified responders"], "correct": [1]},
]
RIGHT = [[1], [0, 2], [1]]


@pytest.fixture(autouse=True)
def _plain_http(settings) -> None:
    settings.SECURE_SSL_REDIRECT = False  # the test client speaks plain HTTP


@pytest.fixture(autouse=True)
def _roles(request: pytest.FixtureRequest) -> None:
    """The role rows a migration made, which a transactional test elsewhere may have flushed."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        return
    request.getfixturevalue("transactional_db" if marker.kwargs.get("transaction") else "db")
    for slug, name in RoleName.choices:
        Role.objects.get_or_create(slug=slug, defaults={"name": name})


@pytest.fixture
def curator(db) -> User:
    return UserFactory(roles=[RoleName.CURATOR], name="Cora Curator")


def course_spec(**overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "title": "Responding to the community",
        "audience": [],
        "pass_mark": "0.6",
        "modules": [
            {
                "title": "Tone",
                "lessons": [{"title": "Listen first", "body": "Read **twice**, answer once."}],
                "questions": QUESTIONS[:2],
            },
            {"title": "Trust", "lessons": [], "questions": QUESTIONS[2:]},
        ],
        "certification": {"name": "Responder", "grants": "responder", "valid_days": 365},
    }
    spec.update(overrides)
    return spec


@pytest.fixture
def make_course(curator: User) -> Callable[..., Course]:
    """``make_course(publish=True, **overrides)``: a course made and published by the curator."""

    def make(*, publish: bool = True, **overrides: Any) -> Course:
        course = services.course_create(author=curator, **course_spec(**overrides))
        if publish:
            course = services.course_publish(user=curator, course_id=course.pk)
        return course

    return make


@pytest.fixture
def course(make_course: Callable[..., Course]) -> Course:
    return make_course()
