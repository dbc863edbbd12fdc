"""Answers: responders publish, others go to review; review by someone other than the
author; a rejection comes back with its comment and a fresh lease; drafts survive."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Notification, RoleName
from engage import services
from engage.models import Answer, Delivery, ParticipationEvent, Query
from tests.engage.conftest import certify_responder, names_field
from tests.factories import UserFactory
from tests.html_safety import active_content

pytestmark = pytest.mark.django_db


def answer(api, user, query, body="Thanks — **here** is how.", **extra):
    return api(user).post(f"/api/v1/queries/{query.pk}/answers/", {"body": body, **extra}, format="json")


def test_a_certified_responder_publishes_directly(api, responder, make_query, department):
    query = make_query(department=department)
    services.query_claim(user=responder, query_id=query.pk)
    response = answer(api, responder, query)
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "published"
    assert "<strong>here</strong>" in response.json()["body_html"]
    query.refresh_from_db()
    assert query.state == "answered"
    assert query.answered_at is not None
    assert api(responder).get(f"/api/v1/queries/{query.pk}/").json()["status"] == "answered"
    assert ParticipationEvent.objects.filter(kind="answer_published", actor=responder).count() == 1
    assert Delivery.objects.filter(answer_id=response.json()["id"]).count() == 1


def test_an_expired_certification_does_not_count(api, owner, make_query, department):
    cert = certify_responder(owner)
    type(cert).objects.filter(pk=cert.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    query = make_query(department=department)
    services.query_claim(user=owner, query_id=query.pk)
    assert answer(api, owner, query).json()["status"] == "pending_review"


def test_an_uncertified_author_goes_to_review_and_keeps_the_query(api, owner, colleague, make_query, department):
    query = make_query(department=department)
    services.query_claim(user=owner, query_id=query.pk)
    response = answer(api, owner, query)
    assert response.status_code == 201
    assert response.json()["status"] == "pending_review"
    shown = api(owner).get(f"/api/v1/queries/{query.pk}/").json()
    assert shown["status"] == "pending_review"
    assert shown["claimed_by"] == owner.pk
    # No lease runs out while it waits: even long after, it stays in review with its author.
    Query.objects.filter(pk=query.pk).update(claimed_until=timezone.now() - timedelta(hours=1))
    assert api(colleague).get(f"/api/v1/queries/{query.pk}/").json()["status"] == "pending_review"
    assert api(colleague).post(f"/api/v1/queries/{query.pk}/claim/").status_code == 409


def test_answering_without_a_live_claim_is_409(api, owner, colleague, make_query, department):
    query = make_query(department=department)
    assert answer(api, owner, query).status_code == 409  # never claimed
    services.query_claim(user=colleague, query_id=query.pk)
    assert answer(api, owner, query).status_code == 409  # someone else holds it
    services.query_release(user=colleague, query_id=query.pk)
    services.query_claim(user=owner, query_id=query.pk)
    Query.objects.filter(pk=query.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
    assert answer(api, owner, query).status_code == 409  # the lease lapsed


def test_an_empty_body_is_400_naming_body(api, owner, make_query, department):
    query = make_query(department=department)
    services.query_claim(user=owner, query_id=query.pk)
    response = answer(api, owner, query, body="   ")
    assert response.status_code == 400
    assert names_field(response.json(), "body")


def test_a_hostile_answer_is_rendered_inert(api, responder, make_query, department):
    query = make_query(department=department)
    services.query_claim(user=responder, query_id=query.pk)
    hostile = '<script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror="alert(1)">'
    html = answer(api, responder, query, body=hostile).json()["body_html"]
    assert active_content(html) == []
    assert "alert(1)" in html  # kept as text, not dropped silently


def _in_review(api, owner, make_query, department):
    query = make_query(department=department)
    services.query_claim(user=owner, query_id=query.pk)
    return query, answer(api, owner, query).json()["id"]


def test_a_reviewer_approves_and_the_answer_is_published(
    api, owner, reviewer, make_query, department, django_capture_on_commit_callbacks
):
    query, answer_id = _in_review(api, owner, make_query, department)
    with django_capture_on_commit_callbacks(execute=True):
        response = api(reviewer).post(f"/api/v1/answers/{answer_id}/approve/")
    assert response.status_code == 200
    assert response.json()["status"] == "published"
    assert response.json()["reviewed_by"] == reviewer.pk
    query.refresh_from_db()
    assert query.state == "answered"
    assert ParticipationEvent.objects.filter(kind="answer_reviewed", actor=reviewer).count() == 1
    published = ParticipationEvent.objects.get(kind="answer_published")
    assert published.actor_id == owner.pk  # the author published it, the reviewer reviewed it
    assert Notification.objects.filter(user=owner, kind="engage.answer_reviewed").exists()


def test_the_author_may_not_review_their_own_answer(api, department, make_query):
    author = UserFactory(department=department, roles=[RoleName.REVIEWER])
    _query, answer_id = _in_review(api, author, make_query, department)
    assert api(author).post(f"/api/v1/answers/{answer_id}/approve/").status_code == 403
    rejected = api(author).post(f"/api/v1/answers/{answer_id}/reject/", {"comment": "no"}, format="json")
    assert rejected.status_code == 403
    assert Answer.objects.get(pk=answer_id).status == "pending_review"


def test_a_non_reviewer_may_not_approve(api, owner, colleague, make_query, department):
    _query, answer_id = _in_review(api, owner, make_query, department)
    # The colleague may not even see an unpublished answer of someone else.
    assert api(colleague).post(f"/api/v1/answers/{answer_id}/approve/").status_code == 404
    assert Answer.objects.get(pk=answer_id).status == "pending_review"


def test_approving_twice_is_409(api, owner, reviewer, make_query, department):
    _query, answer_id = _in_review(api, owner, make_query, department)
    assert api(reviewer).post(f"/api/v1/answers/{answer_id}/approve/").status_code == 200
    assert api(reviewer).post(f"/api/v1/answers/{answer_id}/approve/").status_code == 409


def test_a_rejection_returns_the_draft_with_its_comment_and_a_fresh_lease(api, owner, reviewer, make_query, department):
    query, answer_id = _in_review(api, owner, make_query, department)
    response = api(reviewer).post(f"/api/v1/answers/{answer_id}/reject/", {"comment": "Too curt."}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "draft"
    assert response.json()["review_comment"] == "Too curt."
    shown = api(owner).get(f"/api/v1/queries/{query.pk}/").json()
    assert shown["status"] == "claimed"
    assert shown["claimed_by"] == owner.pk
    query.refresh_from_db()
    assert query.claimed_until - timezone.now() > timedelta(minutes=14)
    draft = api(owner).get(f"/api/v1/queries/{query.pk}/draft/").json()
    assert draft["review_comment"] == "Too curt."
    assert draft["answer_id"] == answer_id
    # Resubmitting reuses the answer, back in review.
    again = answer(api, owner, query, body="Better, warmer answer.")
    assert again.json()["id"] == answer_id
    assert again.json()["status"] == "pending_review"


def test_reject_needs_a_comment(api, owner, reviewer, make_query, department):
    _query, answer_id = _in_review(api, owner, make_query, department)
    response = api(reviewer).post(f"/api/v1/answers/{answer_id}/reject/", {"comment": ""}, format="json")
    assert response.status_code == 400
    assert names_field(response.json(), "comment")


def test_a_draft_survives_a_lapsed_claim_and_is_offered_back_to_its_author_only(
    api, owner, colleague, make_query, department
):
    query = make_query(department=department)
    services.query_claim(user=owner, query_id=query.pk)
    saved = api(owner).put(f"/api/v1/queries/{query.pk}/draft/", {"body": "Half an answer"}, format="json")
    assert saved.status_code == 200
    Query.objects.filter(pk=query.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
    services.query_claim(user=colleague, query_id=query.pk)
    assert api(colleague).get(f"/api/v1/queries/{query.pk}/draft/").json()["body"] == ""
    services.query_release(user=colleague, query_id=query.pk)
    assert api(owner).get(f"/api/v1/queries/{query.pk}/draft/").json()["body"] == "Half an answer"


def test_one_published_answer_per_customer_turn_is_a_database_rule(owner, colleague, make_query, department):
    query = make_query(department=department)
    now = timezone.now()
    Answer.objects.create(query=query, author=owner, body="a", status="published", published_at=now)
    with pytest.raises(IntegrityError), transaction.atomic():
        Answer.objects.create(query=query, author=colleague, body="b", status="published", published_at=now)
    # The next turn (a follow-up's) takes its own answer.
    Answer.objects.create(query=query, author=colleague, body="c", status="published", published_at=now, turn=2)
    assert Answer.objects.filter(query=query, status="published").count() == 2


def test_an_answered_query_cannot_be_answered_again(api, responder, make_query, department):
    query = make_query(department=department)
    services.query_claim(user=responder, query_id=query.pk)
    assert answer(api, responder, query).status_code == 201
    assert answer(api, responder, query).status_code == 409
    assert Answer.objects.filter(query=query, status="published").count() == 1


def test_message_ids_must_be_ids(api, owner, make_query, department):
    query = make_query(department=department)
    services.query_claim(user=owner, query_id=query.pk)
    response = answer(api, owner, query, message_ids=["x"])
    assert response.status_code == 400
    assert names_field(response.json(), "message_ids")


def test_the_review_queue_lists_others_answers_only(api, owner, reviewer, make_query, department):
    _query, answer_id = _in_review(api, owner, make_query, department)
    listed = api(reviewer).get("/api/v1/answers/?reviewable=1").json()["results"]
    assert [row["id"] for row in listed] == [answer_id]
    assert api(owner).get("/api/v1/answers/?reviewable=1").status_code == 403


def test_an_answer_records_the_approved_messages_it_used(api, responder, make_query, department, other_department):
    from tests.content.conftest import publish

    curator = UserFactory(roles=[RoleName.CURATOR])
    approver = UserFactory(roles=[RoleName.REVIEWER])
    usable = publish(curator, approver, title="Refunds take five days")
    elsewhere = publish(curator, approver, title="Finance only", audience=[other_department.slug])
    query = make_query(department=department)
    services.query_claim(user=responder, query_id=query.pk)
    refused = answer(api, responder, query, message_ids=[usable.pk, elsewhere.pk])
    assert refused.status_code == 400  # a message not meant for the author's department
    assert names_field(refused.json(), "message_ids")
    response = answer(api, responder, query, message_ids=[usable.pk])
    assert response.status_code == 201, response.content
    assert response.json()["message_ids"] == [usable.pk]
    assert list(Answer.objects.get(pk=response.json()["id"]).messages.values_list("pk", flat=True)) == [usable.pk]
    event = ParticipationEvent.objects.get(kind="answer_published")
    assert event.data["messages"] == [usable.pk]
