"""engage.policy: who may claim, release, answer, escalate, close, hand off and review, and
the query page agreeing with the services.

People: the owner (who claims the query and writes its answer), a colleague in the same
department, an outsider (another department: the query is routed away from them), a
reviewer and an admin (who holds every role), in every state a query has: open, a lapsed
claim, claimed by the owner, the owner's answer awaiting review, answered, closed.
The policy assumes the person can see the query (the selector answers 404 first), so the
outsider is refused there; the page test proves it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.http import Http404
from django.test import Client
from django.utils import timezone

from accounts.models import DepartmentKind, RoleName, User
from config.policy import Refusal
from engage import handoff, policy, services
from engage.models import Answer, AnswerStatus, Insight, InsightStatus, Query
from tests.factories import DepartmentFactory, UserFactory
from tests.policy_checks import service_accepts

pytestmark = pytest.mark.django_db

STATES = ["open", "lapsed", "claimed", "pending_review", "answered", "closed"]
PEOPLE = ["owner", "colleague", "outsider", "reviewer", "admin"]
EVERYONE = set(PEOPLE)
HOLDER_OR_REVIEWER = {"reviewer", "admin"}


@pytest.fixture
def people(owner: User, colleague: User, outsider: User, reviewer: User, admin_user: User) -> dict[str, User]:
    return {"owner": owner, "colleague": colleague, "outsider": outsider, "reviewer": reviewer, "admin": admin_user}


@pytest.fixture
def query_in(make_query: Callable[..., Query], department: Any, owner: User) -> Callable[[str], Query]:
    """``query_in(state)``: a query of ``department`` brought to ``state`` through the services."""
    approver = UserFactory(department=department, roles=[RoleName.REVIEWER], name="Rex Approver")

    def make(state: str) -> Query:
        query = make_query(department=department)
        if state != "open":
            services.query_claim(user=owner, query_id=query.pk)
        if state == "lapsed":
            Query.objects.filter(pk=query.pk).update(claimed_until=timezone.now() - timedelta(minutes=1))
        if state in ("pending_review", "answered"):
            answer = services.answer_submit(user=owner, query_id=query.pk, body="Your refund is on its way.")
            if state == "answered":
                services.answer_approve(user=approver, answer_id=answer.pk)
        if state == "closed":
            services.query_close(user=owner, query_id=query.pk, reason="spam")
        return Query.objects.select_related("department").get(pk=query.pk)

    return make


def _in_review(query: Query) -> Answer | None:
    return Answer.objects.filter(query=query, status=AnswerStatus.PENDING_REVIEW).first()


EXPECTED: dict[str, Callable[[str], set[str]]] = {
    # state → the people each rule allows (the outsider as the policy sees them: no claim, no role)
    "claim": lambda s: EVERYONE if s in ("open", "lapsed") else {"owner"} if s == "claimed" else set(),
    "release": lambda s: {"owner"} if s == "claimed" else set(),
    "draft": lambda s: EVERYONE if s in ("open", "lapsed", "claimed") else set(),
    "answer": lambda s: {"owner"} if s == "claimed" else set(),
    "escalate": lambda s: (
        HOLDER_OR_REVIEWER | ({"owner"} if s == "claimed" else set()) if s in ("open", "lapsed", "claimed") else set()
    ),
    "close": lambda s: (
        HOLDER_OR_REVIEWER | ({"owner"} if s == "claimed" else set())
        if s in ("open", "lapsed", "claimed", "pending_review")
        else set()
    ),
    "hand_off": lambda s: (
        HOLDER_OR_REVIEWER | ({"owner"} if s == "claimed" else set()) if s in ("open", "lapsed", "claimed") else set()
    ),
    "review": lambda s: HOLDER_OR_REVIEWER if s == "pending_review" else set(),
    "note": lambda s: EVERYONE,
}
QUERY_RULES: dict[str, Callable[..., Refusal | None]] = {
    "claim": policy.query_claim,
    "release": policy.query_release,
    "draft": policy.query_draft_save,
    "answer": policy.answer_submit,
    "escalate": policy.query_escalate,
    "close": policy.query_close,
    "hand_off": policy.query_hand_off,
    "note": policy.note_add,
}


@pytest.mark.parametrize("state", STATES)
def test_each_rule_for_each_person_in_each_state(
    people: dict[str, User], query_in: Callable[[str], Query], state: str
) -> None:
    query = query_in(state)
    now = timezone.now()
    in_review = _in_review(query)
    for person, user in people.items():
        for action, rule in QUERY_RULES.items():
            refusal = rule(user, query, now)
            assert (refusal is None) == (person in EXPECTED[action](state)), (person, action, refusal)
            assert refusal is None or refusal.reason
        review = policy.answer_review(user, in_review) if in_review is not None else Refusal("nothing to review")
        assert (review is None) == (person in EXPECTED["review"](state)), (person, review)


def test_a_refusal_of_the_person_is_403_and_one_of_the_state_409(
    people: dict[str, User], query_in: Callable[[str], Query]
) -> None:
    """What the services raise follows: PermissionDenied, or Conflict with the status."""
    now = timezone.now()
    claimed = query_in("claimed")
    colleague_escalates = policy.query_escalate(people["colleague"], claimed, now)
    assert colleague_escalates is not None
    assert not colleague_escalates.conflict
    colleague_claims = policy.query_claim(people["colleague"], claimed, now)
    assert colleague_claims is not None
    assert colleague_claims.conflict
    assert dict(colleague_claims.details)["claimed_by"] == people["owner"].pk
    closed = query_in("closed")
    reviewer_closes = policy.query_close(people["reviewer"], closed, now)
    assert reviewer_closes is not None
    assert reviewer_closes.conflict
    assert dict(reviewer_closes.details) == {"status": "closed"}
    pending = query_in("pending_review")
    answer = _in_review(pending)
    assert answer is not None
    assert policy.answer_review(people["owner"], answer) is policy.NOT_REVIEWER
    writing_reviewer = UserFactory(department=people["owner"].department, roles=[RoleName.REVIEWER])
    own_answer = Answer(author=writing_reviewer, status=AnswerStatus.PENDING_REVIEW)
    own = policy.answer_review(writing_reviewer, own_answer)
    assert own is not None
    assert not own.conflict
    assert "own" in own.reason
    assert policy.answer_is_own(writing_reviewer, own_answer)
    assert policy.answer_revisions_see(people["owner"], answer) is None
    assert policy.answer_revisions_see(people["colleague"], answer) is not None
    assert policy.answer_revisions_see(people["reviewer"], answer) is None


def test_insights_move_for_product_members_and_admins(people: dict[str, User]) -> None:
    product = DepartmentFactory(slug="product", name="Product", kind=DepartmentKind.PRODUCT)
    maker = UserFactory(department=product, name="Pia Product")
    insight = Insight(title="More refunds")
    assert policy.insight_move(maker, insight) is None
    assert policy.insight_move(people["admin"], insight) is None
    for person in ("owner", "colleague", "outsider", "reviewer"):
        refusal = policy.insight_move(people[person], insight)
        assert refusal is not None, person
        assert not refusal.conflict, person


# --- The page offers exactly what the services accept --------------------------------------------


def _calls(user: User, query: Query, answer: Answer | None, to: User, elsewhere: str) -> dict[str, Callable[[], Any]]:
    pk = query.pk

    def review(decision: str) -> Callable[[], Any]:
        def call() -> Any:
            if answer is None:
                raise Http404("nothing awaits review")
            if decision == "approve":
                return services.answer_approve(user=user, answer_id=answer.pk)
            return services.answer_reject(user=user, answer_id=answer.pk, comment="Say when, please.")

        return call

    return {
        "claim": lambda: services.query_claim(user=user, query_id=pk),
        "release": lambda: services.query_release(user=user, query_id=pk),
        "answer": lambda: services.answer_submit(user=user, query_id=pk, body="It is on its way."),
        "escalate": lambda: services.query_escalate(user=user, query_id=pk, department=elsewhere, note=""),
        "close": lambda: services.query_close(user=user, query_id=pk, reason="spam"),
        "handoff": lambda: handoff.query_handoff(user=user, query_id=pk, to=to.pk),
        "approve": review("approve"),
        "reject": review("reject"),
    }


def _actions(query: Query, answer: Answer | None) -> dict[str, str]:
    """Each action's form on the query page (none to approve or reject while nothing awaits review)."""
    forms = {name: f'action="/queries/{query.pk}/{name}/"' for name in ("claim", "release", "answer", "escalate")}
    forms |= {name: f'action="/queries/{query.pk}/{name}/"' for name in ("close", "handoff")}
    for decision in ("approve", "reject"):
        forms[decision] = f'action="/answers/{answer.pk}/{decision}/"' if answer is not None else "\0"
    return forms


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("person", PEOPLE)
def test_the_query_page_offers_exactly_the_actions_the_services_accept(
    people: dict[str, User],
    query_in: Callable[[str], Query],
    department: Any,
    other_department: Any,
    person: str,
    state: str,
) -> None:
    """The draft is left out on purpose: its auto-save keeps what the holder types even when
    the claim lapses mid-sentence, so the service accepts a draft from anyone who sees an open
    query while the page shows the box only with the claim (the draft is offered back then)."""
    query = query_in(state)
    answer = _in_review(query)
    target = UserFactory(department=department, name="Tess Target")
    user = people[person]
    client = Client()
    client.force_login(user)
    response = client.get(f"/queries/{query.pk}/")
    assert response.status_code == (404 if person == "outsider" else 200)
    page = response.content.decode() if response.status_code == 200 else ""
    calls = _calls(user, query, answer, target, other_department.slug)
    for action, marker in _actions(query, answer).items():
        offered = marker in page
        assert offered == service_accepts(calls[action]), (action, offered)


# --- Insights: the page offers exactly the moves the service accepts -------------------------------


@pytest.mark.parametrize("status", [s.value for s in InsightStatus])
def test_the_insight_page_offers_exactly_the_moves_the_service_accepts(
    people: dict[str, User], make_query: Callable[..., Query], department: Any, status: str
) -> None:
    from tests.policy_checks import service_accepts

    product = DepartmentFactory(slug="product", name="Product", kind=DepartmentKind.PRODUCT)
    everyone = {**people, "product": UserFactory(department=product, name="Pia Product")}
    query = make_query(department=department)
    insight = services.insight_create(user=people["owner"], title="Refunds", description="", query_ids=[query.pk])
    Insight.objects.filter(pk=insight.pk).update(status=status)
    for person, user in everyone.items():
        client = Client()
        client.force_login(user)
        page = client.get(f"/insights/{insight.pk}/").content.decode()
        for to in InsightStatus.values:
            offered = f'action="/insights/{insight.pk}/move/"' in page and f'<option value="{to}">' in page
            accepted = to != status and service_accepts(
                lambda user=user, to=to: services.insight_set_status(user=user, insight_id=insight.pk, status=to)
            )
            assert offered == accepted, (person, status, to)
