"""training.policy: who may write, publish, version, archive and take a course, and the
curators' pages agreeing with the services.

People: the owner (the curator who wrote the course), a colleague (another curator), an
outsider (an employee), a reviewer and an admin (who holds every role), in every state a
course has: a draft, published, the draft of its next version, archived.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.test import Client

from accounts.models import RoleName, User
from config.policy import Refusal
from tests.factories import UserFactory
from tests.policy_checks import service_accepts
from tests.training.conftest import course_spec
from training import policy, services
from training.models import Course

pytestmark = pytest.mark.django_db

STATES = ["draft", "published", "edition", "archived"]
PEOPLE = ["owner", "colleague", "outsider", "reviewer", "admin"]
CURATORS = {"owner", "colleague", "admin"}


@pytest.fixture
def people(curator: User) -> dict[str, User]:
    return {
        "owner": curator,
        "colleague": UserFactory(roles=[RoleName.CURATOR], name="Cal Colleague"),
        "outsider": UserFactory(name="Otto Outsider"),
        "reviewer": UserFactory(roles=[RoleName.REVIEWER], name="Rita Reviewer"),
        "admin": UserFactory(roles=[RoleName.ADMIN], name="Ada Admin"),
    }


def _course(owner: User, state: str) -> Course:
    course = services.course_create(author=owner, **course_spec(title=f"Course {state}"))
    if state != "draft":
        course = services.course_publish(user=owner, course_id=course.pk)
    if state == "edition":
        course = services.course_new_version(user=owner, course_id=course.pk)
    if state == "archived":
        course = services.course_archive(user=owner, course_id=course.pk)
    return Course.objects.get(pk=course.pk)


EXPECTED: dict[str, set[tuple[str, str]]] = {
    # (person, state) → what they may do
    "update": {(p, s) for p in CURATORS for s in ("draft", "edition")},
    "publish": {(p, s) for p in CURATORS for s in ("draft", "edition")},
    "new_version": {(p, "published") for p in CURATORS},
    "archive": {(p, "published") for p in CURATORS},
    "take": {(p, "published") for p in PEOPLE},
}
RULES: dict[str, Callable[[User, Course], Refusal | None]] = {
    "update": policy.course_update,
    "publish": policy.course_publish,
    "new_version": policy.course_new_version,
    "archive": policy.course_archive,
    "take": policy.course_take,
}


@pytest.mark.parametrize("state", STATES)
def test_each_rule_for_each_person_in_each_state(people: dict[str, User], state: str) -> None:
    course = _course(people["owner"], state)
    for person, user in people.items():
        assert (policy.course_manage(user) is None) == (person in CURATORS)
        for action, rule in RULES.items():
            refusal = rule(user, course)
            assert (refusal is None) == ((person, state) in EXPECTED[action]), (person, action, refusal)
            if refusal is not None:
                assert refusal.reason
                assert refusal.conflict == (person in CURATORS or action == "take"), (person, action)


def test_the_services_authorise_the_person_themselves(people: dict[str, User]) -> None:
    """The services used to trust their callers: publishing and archiving asked nothing of the user."""
    draft = _course(people["owner"], "draft")
    published = _course(people["owner"], "published")
    employee = people["outsider"]
    with pytest.raises(PermissionDenied):
        services.course_create(author=employee, **course_spec())
    with pytest.raises(Http404):  # an employee does not see a draft at all
        services.course_publish(user=employee, course_id=draft.pk)
    with pytest.raises(PermissionDenied):
        services.course_archive(user=employee, course_id=published.pk)
    with pytest.raises(PermissionDenied):
        services.course_new_version(user=employee, course_id=published.pk)
    assert Course.objects.get(pk=published.pk).status == "published"
    assert services.course_archive(user=people["colleague"], course_id=published.pk).status == "archived"


CALLS: dict[str, Callable[[User, int], Any]] = {
    "publish": lambda user, pk: services.course_publish(user=user, course_id=pk),
    "new-version": lambda user, pk: services.course_new_version(user=user, course_id=pk),
    "archive": lambda user, pk: services.course_archive(user=user, course_id=pk),
}


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("person", PEOPLE)
def test_the_curators_pages_offer_exactly_the_actions_the_services_accept(
    people: dict[str, User], person: str, state: str
) -> None:
    """The course list (which shows a version's draft on its course's row, as a link) offers
    publish, new version and archive; the editor offers publish and new version."""
    course = _course(people["owner"], state)
    user = people[person]
    client = Client()
    client.force_login(user)
    listed = client.get("/training/manage/?status=")
    editor = client.get(f"/training/manage/{course.pk}/edit/")
    assert listed.status_code == editor.status_code == (200 if person in CURATORS else 403)
    pages = {
        "list": listed.content.decode() if listed.status_code == 200 else "",
        "editor": editor.content.decode() if editor.status_code == 200 else "",
    }
    for action, call in CALLS.items():
        accepted = service_accepts(partial(call, user, course.pk))
        marker = f'action="/training/manage/{course.pk}/{action}/"'
        if state != "edition":  # a version's draft is not a row of its own
            assert (marker in pages["list"]) == accepted, ("list", action)
        if action != "archive":
            assert (marker in pages["editor"]) == accepted, ("editor", action)
