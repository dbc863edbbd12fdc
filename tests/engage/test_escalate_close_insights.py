"""Escalation, closing, response-time breaches, insights, and the channels API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import DepartmentKind, Notification, RoleName
from engage import services
from engage.models import Answer, Delivery, Insight, ParticipationEvent, Query
from tests.engage.conftest import certify_responder, names_field
from tests.factories import DepartmentFactory, UserFactory

pytestmark = pytest.mark.django_db


# --- Escalation -----------------------------------------------------------------------------------


def test_the_holder_escalates_to_another_department_which_sees_it_open(
    api, owner, outsider, make_query, department, other_department, django_capture_on_commit_callbacks
):
    query = make_query(department=department)
    services.query_claim(user=owner, query_id=query.pk)
    with django_capture_on_commit_callbacks(execute=True):
        response = api(owner).post(
            f"/api/v1/queries/{query.pk}/escalate/",
            {"department": other_department.slug, "note": "Billing question"},
            format="json",
        )
    assert response.status_code == 200, response.content
    assert response.json()["department"] == other_department.slug
    assert response.json()["status"] == "open"
    assert api(outsider).get(f"/api/v1/queries/{query.pk}/").json()["status"] == "open"
    assert api(owner).get(f"/api/v1/queries/{query.pk}/").status_code == 404  # gone from support
    event = ParticipationEvent.objects.get(kind="query_escalated")
    assert event.actor_id == owner.pk
    assert event.data["to_department_id"] == other_department.pk
    assert Notification.objects.filter(user=outsider, kind="engage.query_escalated").exists()


def test_escalation_by_someone_not_holding_it_is_403_and_bad_department_400(
    api, owner, colleague, reviewer, make_query, department, other_department
):
    query = make_query(department=department)
    services.query_claim(user=owner, query_id=query.pk)
    url = f"/api/v1/queries/{query.pk}/escalate/"
    assert api(colleague).post(url, {"department": other_department.slug}, format="json").status_code == 403
    response = api(owner).post(url, {"department": "nowhere"}, format="json")
    assert response.status_code == 400
    assert names_field(response.json(), "department")
    # A reviewer may escalate though they do not hold it.
    assert api(reviewer).post(url, {"department": other_department.slug}, format="json").status_code == 200


# --- Closing --------------------------------------------------------------------------------------


def test_the_holder_closes_with_a_reason(api, owner, make_query, department):
    query = make_query(department=department)
    services.query_claim(user=owner, query_id=query.pk)
    url = f"/api/v1/queries/{query.pk}/close/"
    bad = api(owner).post(url, {"reason": "boring"}, format="json")
    assert bad.status_code == 400
    assert names_field(bad.json(), "reason")
    response = api(owner).post(url, {"reason": "spam"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "closed"
    assert response.json()["close_reason"] == "spam"
    assert api(owner).post(url, {"reason": "spam"}, format="json").status_code == 409


def test_a_colleague_not_holding_it_may_not_close(api, owner, colleague, make_query, department):
    query = make_query(department=department)
    services.query_claim(user=owner, query_id=query.pk)
    assert (
        api(colleague).post(f"/api/v1/queries/{query.pk}/close/", {"reason": "spam"}, format="json").status_code == 403
    )


def test_a_reviewer_closing_a_query_in_review_withdraws_the_answer(api, owner, reviewer, make_query, department):
    query = make_query(department=department)
    services.query_claim(user=owner, query_id=query.pk)
    answer = services.answer_submit(user=owner, query_id=query.pk, body="hm")
    response = api(reviewer).post(f"/api/v1/queries/{query.pk}/close/", {"reason": "duplicate"}, format="json")
    assert response.status_code == 200
    assert Answer.objects.get(pk=answer.pk).status == "withdrawn"


# --- Response-time breaches -----------------------------------------------------------------------


def test_breaches_notify_once_per_query(make_query, department, reviewer, owner, django_capture_on_commit_callbacks):
    overdue = make_query(department=department, priority="urgent", received_at=timezone.now() - timedelta(hours=2))
    held = make_query(department=department, priority="urgent", received_at=timezone.now() - timedelta(hours=2))
    services.query_claim(user=owner, query_id=held.pk)
    fresh = make_query(department=department, priority="urgent")
    answered = make_query(department=department, priority="urgent", received_at=timezone.now() - timedelta(hours=2))
    Query.objects.filter(pk=answered.pk).update(state="answered")
    with django_capture_on_commit_callbacks(execute=True):
        assert services.sla_breaches_escalate() == 2
    with django_capture_on_commit_callbacks(execute=True):
        assert services.sla_breaches_escalate() == 0  # idempotent
    assert set(Query.objects.filter(sla_breached_at__isnull=False).values_list("pk", flat=True)) == {
        overdue.pk,
        held.pk,
    }
    assert Query.objects.get(pk=fresh.pk).sla_breached_at is None
    breaches = Notification.objects.filter(kind="engage.sla_breach")
    assert breaches.filter(user=reviewer).count() == 2
    assert breaches.filter(user=owner).count() == 1  # the holder of the held one


# --- Insights -------------------------------------------------------------------------------------


@pytest.fixture
def product_owner(db):
    product = DepartmentFactory(slug="product", kind=DepartmentKind.PRODUCT, customer_facing=False)
    return UserFactory(department=product, name="Pat Product")


def test_an_employee_turns_visible_queries_into_an_insight(api, owner, make_query, department, product_owner):
    first = make_query(department=department)
    second = make_query(department=department)
    response = api(owner).post(
        "/api/v1/insights/",
        {"title": "Customers want dark mode", "description": "Asked twice", "query_ids": [first.pk, second.pk]},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "submitted"
    assert body["query_ids"] == sorted([first.pk, second.pk])
    assert ParticipationEvent.objects.filter(kind="insight_submitted", actor=owner).count() == 1


def test_an_insight_cannot_cite_queries_one_cannot_see(api, outsider, make_query, department):
    query = make_query(department=department)
    response = api(outsider).post("/api/v1/insights/", {"title": "x", "query_ids": [query.pk]}, format="json")
    assert response.status_code == 400
    assert names_field(response.json(), "query_ids")
    assert not Insight.objects.exists()


def test_only_product_members_and_admins_move_an_insight(
    api, owner, responder, make_query, department, product_owner, admin_user, django_capture_on_commit_callbacks
):
    query = make_query(department=department)
    services.query_claim(user=responder, query_id=query.pk)
    services.answer_submit(user=responder, query_id=query.pk, body="We will pass it on.")
    insight = services.insight_create(user=owner, title="Dark mode", description="", query_ids=[query.pk])
    url = f"/api/v1/insights/{insight.pk}/status/"
    assert api(owner).post(url, {"status": "planned"}, format="json").status_code == 403
    bad = api(product_owner).post(url, {"status": "submitted"}, format="json")
    assert bad.status_code == 400
    assert api(product_owner).post(url, {"status": "planned"}, format="json").json()["status"] == "planned"
    with django_capture_on_commit_callbacks(execute=True):
        shipped = api(admin_user).post(url, {"status": "shipped"}, format="json")
    assert shipped.json()["status"] == "shipped"
    history = api(owner).get(f"/api/v1/insights/{insight.pk}/").json()["history"]
    assert [(h["from_status"], h["to_status"]) for h in history] == [
        ("", "submitted"),
        ("submitted", "planned"),
        ("planned", "shipped"),
    ]
    # The people who answered are told, and so is the customer's thread.
    assert Notification.objects.filter(user=responder, kind="engage.insight").exists()
    thread = Delivery.objects.get(kind="insight_shipped", query=query)
    assert thread.status == "delivered"
    assert thread.payload["query_external_id"] == query.external_id
    assert ParticipationEvent.objects.filter(kind="insight_status_changed").count() == 2


# --- Channels API ---------------------------------------------------------------------------------


def test_admins_make_channels_and_see_the_secret_once(api, admin_user, owner):
    response = api(admin_user).post(
        "/api/v1/channels/", {"slug": "x", "name": "X", "kind": "twitter", "secret": "mine"}, format="json"
    )
    assert response.status_code == 201
    secret = response.json()["secret"]
    assert secret != "mine"  # not writable
    listed = api(admin_user).get("/api/v1/channels/").json()["results"]
    assert secret not in str(listed)
    assert (
        api(owner).post("/api/v1/channels/", {"slug": "y", "name": "Y", "kind": "web"}, format="json").status_code
        == 403
    )
    bad = api(admin_user).post("/api/v1/channels/", {"slug": "z", "name": "Z", "kind": "fax"}, format="json")
    assert bad.status_code == 400
    assert "kind" in bad.json()
    dup = api(admin_user).post("/api/v1/channels/", {"slug": "x", "name": "X", "kind": "web"}, format="json")
    assert dup.status_code == 400


def test_responders_are_whoever_training_says(owner):
    assert services.user_is_responder(user=owner) is False
    certify_responder(owner)
    assert services.user_is_responder(user=owner) is True
    assert RoleName.REVIEWER not in owner.role_set
