"""content.policy: who may submit, review and reopen a toolkit, and the page agreeing with it.

People: the author (a curator), a colleague (another curator), an outsider (an
employee), a reviewer and an admin (who holds every role), in every state a toolkit has.
The page must offer exactly the actions the service accepts.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import RoleName
from content import policy, services
from content.models import Status, Toolkit
from tests.factories import UserFactory
from tests.policy_checks import service_accepts

pytestmark = pytest.mark.django_db

STATES = [Status.DRAFT, Status.IN_REVIEW, Status.PUBLISHED, Status.EXPIRED]
PEOPLE = ["owner", "colleague", "outsider", "reviewer", "admin"]


@pytest.fixture
def people(author: Any, second_curator: Any, employee: Any, reviewer: Any, marketing: Any) -> dict[str, Any]:
    admin = UserFactory(department=marketing, name="Ada Admin", roles=[RoleName.ADMIN])
    return {"owner": author, "colleague": second_curator, "outsider": employee, "reviewer": reviewer, "admin": admin}


def _toolkit(author: Any, state: str) -> Toolkit:
    toolkit = services.toolkit_create(author=author, fields={"title": f"Kit {state}"})
    services.toolkit_item_add(user=author, toolkit_id=toolkit.pk, kind="link", url="https://example.com/kit")
    Toolkit.objects.filter(pk=toolkit.pk).update(status=state)
    return Toolkit.objects.get(pk=toolkit.pk)


EXPECTED = {
    # (person, state) → what they may do
    "submit": {("owner", Status.DRAFT), ("admin", Status.DRAFT)},
    "review": {("reviewer", Status.IN_REVIEW), ("admin", Status.IN_REVIEW)},
    "reopen": {(p, s) for p in ("owner", "colleague", "admin") for s in STATES if s != Status.DRAFT},
}
RULES: dict[str, Callable[..., Any]] = {
    "submit": policy.toolkit_submit,
    "review": policy.toolkit_review,
    "reopen": policy.toolkit_reopen,
}


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("person", PEOPLE)
def test_each_rule_for_each_person_and_state(people: dict[str, Any], person: str, state: str) -> None:
    toolkit = _toolkit(people["owner"], state)
    now = timezone.now()
    for action, rule in RULES.items():
        refusal = rule(people[person], toolkit, now)
        assert (refusal is None) == ((person, state) in EXPECTED[action]), (action, refusal)
        if refusal is not None:
            assert refusal.reason


def test_an_author_who_is_no_longer_a_curator_is_refused_submission_and_offered_no_button(
    people: dict[str, Any],
) -> None:
    """The drift this module ended: the page offered the author a submit the service refused."""
    toolkit = _toolkit(people["owner"], Status.DRAFT)
    author = people["owner"]
    author.roles.clear()
    author = type(author).objects.get(pk=author.pk)
    refusal = policy.toolkit_submit(author, toolkit, timezone.now())
    assert refusal is not None
    assert "curator" in refusal.reason
    client = Client()
    client.force_login(author)
    response = client.get(f"/toolkits/{toolkit.pk}/")
    assert f"/toolkits/{toolkit.pk}/submit/" not in response.content.decode()


CALLS: dict[str, Callable[..., Any]] = {
    "submit": lambda user, pk: services.toolkit_submit(user=user, toolkit_id=pk),
    "approve": lambda user, pk: services.toolkit_approve(user=user, toolkit_id=pk),
    "reject": lambda user, pk: services.toolkit_reject(user=user, toolkit_id=pk, comment="No"),
    "reopen": lambda user, pk: services.toolkit_reopen(user=user, toolkit_id=pk),
}


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("person", PEOPLE)
def test_the_page_offers_exactly_the_actions_the_service_accepts(
    people: dict[str, Any], person: str, state: str
) -> None:
    toolkit = _toolkit(people["owner"], state)
    client = Client()
    client.force_login(people[person])
    response = client.get(f"/toolkits/{toolkit.pk}/")
    page = response.content.decode() if response.status_code == 200 else ""
    for action, call in CALLS.items():
        offered = f"/toolkits/{toolkit.pk}/{action}/" in page
        assert offered == service_accepts(partial(call, people[person], toolkit.pk)), (action, response.status_code)


def test_the_review_queue_marks_a_message_as_yours_by_the_one_rule(curator_reviewer: Any, reviewer: Any) -> None:
    """content.policy.message_is_own (config.policy.is_own_work) decides the "Yours" chip."""
    from tests.content.conftest import make_message

    message = make_message(curator_reviewer)
    services.message_submit(user=curator_reviewer, message_id=message.pk)
    message = type(message).objects.select_related("latest_revision").get(pk=message.pk)
    assert policy.message_is_own(curator_reviewer, message)
    assert not policy.message_is_own(reviewer, message)
    pages = {}
    for person in (curator_reviewer, reviewer):
        client = Client()
        client.force_login(person)
        pages[person.pk] = client.get("/review/").content.decode()
    assert "Yours: another reviewer decides" in pages[curator_reviewer.pk]
    assert "Yours: another reviewer decides" not in pages[reviewer.pk]
    assert message.title in pages[reviewer.pk]


# --- Messages: submit and review, by content.policy, on the message's page ---------------------------

MESSAGE_STATES = ["draft", "in_review", "published", "revision_draft", "revision_in_review"]


def _message(author: Any, approver: Any, state: str) -> Any:
    from content.models import Message
    from tests.content.conftest import make_message, publish

    if state in ("draft", "in_review"):
        message = make_message(author)
        if state == "in_review":
            services.message_submit(user=author, message_id=message.pk)
    else:
        message = publish(author, approver)
        if state.startswith("revision"):  # an edit of a live message goes to review at once
            services.message_update(user=author, message_id=message.pk, fields={"body": "Refunds take three days."})
        if state == "revision_draft":  # sent back: the revision is the author's draft again
            services.message_reject(user=approver, message_id=message.pk, comment="Say which days.")
    return Message.objects.get(pk=message.pk)


MESSAGE_CALLS: dict[str, Callable[[Any, int], Any]] = {
    "submit": lambda user, pk: services.message_submit(user=user, message_id=pk),
    "approve": lambda user, pk: services.message_approve(user=user, message_id=pk),
    "reject": lambda user, pk: services.message_reject(user=user, message_id=pk, comment="Shorter, please."),
}


@pytest.mark.parametrize("state", MESSAGE_STATES)
@pytest.mark.parametrize("person", PEOPLE)
def test_the_message_page_offers_exactly_the_submit_and_review_the_services_accept(
    people: dict[str, Any], person: str, state: str
) -> None:
    approver = UserFactory(department=people["owner"].department, roles=[RoleName.REVIEWER], name="Rae Approver")
    message = _message(people["owner"], approver, state)
    now = timezone.now()
    user = people[person]
    offered_by_policy = {
        "submit": policy.message_submit(user, message, now) is None,
        "approve": policy.message_review(user, message, now) is None,
    }
    client = Client()
    client.force_login(user)
    response = client.get(f"/messages/{message.pk}/")
    page = response.content.decode() if response.status_code == 200 else ""
    for action, call in MESSAGE_CALLS.items():
        accepted = service_accepts(partial(call, user, message.pk))
        assert (f"/messages/{message.pk}/{action}/" in page) == accepted, (action, response.status_code)
        if response.status_code == 200:  # visible: the policy is the whole answer
            assert offered_by_policy["submit" if action == "submit" else "approve"] == accepted, action
