"""The engage API's contract: inputs go through the documented serializers, after the
visibility and permission checks (404, then 403, then 400 naming the field), and the
answers have exactly the documented fields.

Before, seven views passed the raw body to their services: the serializers the schema
shows were never run, and a reviewer's comment over 5,000 characters was cut silently.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from accounts.models import User
from engage import apis, selectors, services, threads
from engage.models import Answer, Delivery, Query
from tests.engage.conftest import certify_responder

pytestmark = pytest.mark.django_db


@pytest.fixture
def held(make_query: Callable[..., Query], department: Any, owner: User) -> Query:
    query = make_query(department=department)
    services.query_claim(user=owner, query_id=query.pk)
    return query


@pytest.fixture
def in_review(held: Query, owner: User) -> Answer:
    return services.answer_submit(user=owner, query_id=held.pk, body="Your refund is on its way.")


def _url(query: Query, action: str) -> str:
    return f"/api/v1/queries/{query.pk}/{action}/"


# (action, method, a bad body and the field it names)
BAD: list[tuple[str, str, dict[str, Any], str]] = [
    ("answers", "post", {"body": 5}, "body"),
    ("answers", "post", {"body": "Fine", "message_ids": ["x"]}, "message_ids"),
    ("answers", "post", {}, "body"),
    ("draft", "put", {"body": ["not", "text"]}, "body"),
    ("escalate", "post", {"department": "finance", "note": "x" * 2001}, "note"),
    ("escalate", "post", {"note": "no department"}, "department"),
    ("close", "post", {"reason": "bored"}, "reason"),
    ("handoff", "post", {"to": "nobody"}, "to"),
    ("handoff", "post", {"to": 1, "note": 5}, "note"),
    ("notes", "post", {"body": "   "}, "body"),
    ("notes", "post", {"body": "x" * (threads.MAX_NOTE_LENGTH + 1)}, "body"),
]


@pytest.mark.parametrize(("action", "method", "body", "field"), BAD)
def test_bad_input_is_a_400_naming_the_field_for_whoever_may_act(
    api: Callable[[User | None], Any],
    held: Query,
    owner: User,
    action: str,
    method: str,
    body: dict[str, Any],
    field: str,
) -> None:
    response = getattr(api(owner), method)(_url(held, action), body, format="json")
    assert response.status_code == 400, response.json()
    answer = response.json()
    assert answer["field"] == field, answer
    assert field in answer["errors"], answer
    held.refresh_from_db()
    assert held.holds_live_claim(owner.pk)  # nothing changed


@pytest.mark.parametrize(("action", "method", "body", "field"), BAD)
def test_bad_input_never_hides_a_404(
    api: Callable[[User | None], Any],
    held: Query,
    outsider: User,
    action: str,
    method: str,
    body: dict[str, Any],
    field: str,
) -> None:
    response = getattr(api(outsider), method)(_url(held, action), body, format="json")
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("escalate", {"department": "finance", "note": "x" * 2001}),
        ("close", {"reason": "bored"}),
        ("handoff", {"to": "nobody"}),
    ],
)
def test_bad_input_never_hides_a_403(
    api: Callable[[User | None], Any], held: Query, colleague: User, action: str, body: dict[str, Any]
) -> None:
    """A colleague who neither holds the query nor reviews may not act: 403 before the input."""
    response = api(colleague).post(_url(held, action), body, format="json")
    assert response.status_code == 403, response.json()
    assert "holding this query or a reviewer" in response.json()["detail"]  # the policy's reason


def test_a_rejection_over_the_documented_length_is_refused_not_cut(
    api: Callable[[User | None], Any], in_review: Answer, reviewer: User, owner: User
) -> None:
    url = f"/api/v1/answers/{in_review.pk}/reject/"
    response = api(reviewer).post(url, {"comment": "x" * (services.REVIEW_COMMENT_MAX + 1)}, format="json")
    assert response.status_code == 400
    assert response.json()["field"] == "comment"
    assert api(reviewer).post(url, {"comment": 7}, format="json").status_code == 400
    # The author may not review their own answer: 403 before their input is read.
    assert api(owner).post(url, {"comment": ""}, format="json").status_code == 403
    response = api(reviewer).post(url, {"comment": "x" * services.REVIEW_COMMENT_MAX}, format="json")
    assert response.status_code == 200
    in_review.refresh_from_db()
    assert len(in_review.review_comment) == services.REVIEW_COMMENT_MAX


def test_valid_input_still_reaches_the_services(
    api: Callable[[User | None], Any], held: Query, owner: User, colleague: User
) -> None:
    draft = api(owner).put(_url(held, "draft"), {"body": "  keep my spaces \n"}, format="json")
    assert draft.status_code == 200
    assert draft.json()["body"] == "  keep my spaces \n"  # a draft is kept as typed
    note = api(colleague).post(_url(held, "notes"), {"body": "Looks like a refund"}, format="json")
    assert note.status_code == 201
    handed = api(owner).post(_url(held, "handoff"), {"to": colleague.pk, "note": None}, format="json")
    assert handed.status_code == 200, handed.json()
    assert handed.json()["claimed_by"] == colleague.pk


# --- The answers have exactly the documented fields -----------------------------------------------
# The hot paths' hand-built rows are held to their serializers in tests/engage/test_output_rows.py;
# these views answer through the serializers, and these pin what they answer.


def _fields(serializer: type[Any]) -> set[str]:
    return set(serializer().fields)


def test_the_query_answer_and_thread_views_answer_exactly_the_documented_fields(
    api: Callable[[User | None], Any], held: Query, owner: User, in_review: Answer, colleague: User
) -> None:
    """The answer POST is the measured hot path (two statements): it answers a hand-built row
    (``selectors.answer_as_dict``), held to AnswerOutput; the others answer AnswerOutput's own."""
    assert set(selectors.answer_as_dict(in_review)) == _fields(apis.AnswerOutput)
    client = api(owner)
    query = client.get(f"/api/v1/queries/{held.pk}/").json()
    assert set(query) == _fields(apis.QueryOutput)
    assert set(query["author"]) == _fields(apis.QueryAuthorOutput)
    assert set(client.get(f"/api/v1/answers/{in_review.pk}/").json()) == _fields(apis.AnswerOutput)
    note = api(colleague).post(f"/api/v1/queries/{held.pk}/notes/", {"body": "A note"}, format="json")
    assert note.status_code == 201, note.json()
    assert set(note.json()) == _fields(apis.NoteOutput)
    notes = client.get(f"/api/v1/queries/{held.pk}/notes/").json()["results"]
    assert notes
    assert all(set(row) == _fields(apis.NoteOutput) for row in notes)
    revisions = client.get(f"/api/v1/answers/{in_review.pk}/revisions/").json()["results"]
    assert revisions
    assert all(set(row) == _fields(apis.AnswerRevisionOutput) for row in revisions)
    thread = client.get(f"/api/v1/queries/{held.pk}/thread/").json()["results"]
    assert {row["kind"] for row in thread} == {"message", "note"}
    assert all(set(row) == _fields(apis.ThreadEntryOutput) for row in thread)
    assert set(client.get(f"/api/v1/answers/{in_review.pk}/rating/").json()) == _fields(apis.RatingOutput)


def test_the_insight_channel_and_delivery_views_answer_exactly_the_documented_fields(
    api: Callable[[User | None], Any], held: Query, owner: User, admin_user: User
) -> None:
    """The insight's page answered a ``history`` the schema did not declare (now InsightDetailOutput)."""
    made = api(owner).post("/api/v1/insights/", {"title": "Refunds", "query_ids": [held.pk]}, format="json")
    assert made.status_code == 201, made.json()
    assert set(made.json()) == _fields(apis.InsightOutput)
    detail = api(owner).get(f"/api/v1/insights/{made.json()['id']}/").json()
    assert set(detail) == _fields(apis.InsightDetailOutput)
    for change in detail["history"]:
        assert set(change) == _fields(apis.InsightChangeOutput)
    admin = api(admin_user)
    channel = admin.get(f"/api/v1/channels/{held.channel.slug}/").json()
    assert set(channel) == _fields(apis.ChannelOutput)
    assert set(channel["health"]) == set(apis.ChannelOutput().fields["health"].fields)
    rotated = admin.post(f"/api/v1/channels/{held.channel.slug}/rotate-secret/")
    assert set(rotated.json()) == _fields(apis.ChannelWithSecretOutput)
    certify_responder(owner)
    services.answer_submit(user=owner, query_id=held.pk, body="Refunded today.")
    delivery = Delivery.objects.get(query=held)
    assert set(admin.get(f"/api/v1/deliveries/{delivery.pk}/").json()) == _fields(apis.DeliveryOutput)
