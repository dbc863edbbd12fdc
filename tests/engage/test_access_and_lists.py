"""Who sees what (404 outside one's reach), fields that are not writable, and the queue:
filters, keyset pagination, and a number of SQL queries that does not grow with the page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import RoleName
from engage import services
from engage.models import Answer, Query
from tests.engage.conftest import certify_responder
from tests.factories import TopicFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_an_employee_of_another_department_gets_404_for_a_query(api, outsider, make_query, department):
    query = make_query(department=department)
    assert api(outsider).get(f"/api/v1/queries/{query.pk}/").status_code == 404
    for action in ("claim", "release", "escalate", "close"):
        assert api(outsider).post(f"/api/v1/queries/{query.pk}/{action}/", {}, format="json").status_code == 404
    assert api(outsider).get(f"/api/v1/queries/{query.pk}/answers/").status_code == 404


def test_an_employee_of_another_department_gets_404_for_an_answer(api, owner, outsider, make_query, department):
    certify_responder(owner)
    query = make_query(department=department)
    services.query_claim(user=owner, query_id=query.pk)
    answer = services.answer_submit(user=owner, query_id=query.pk, body="Published answer")
    assert answer.status == "published"
    assert api(owner).get(f"/api/v1/answers/{answer.pk}/").status_code == 200
    assert api(outsider).get(f"/api/v1/answers/{answer.pk}/").status_code == 404
    assert answer.pk not in [row["id"] for row in api(outsider).get("/api/v1/answers/").json()["results"]]


def test_unrouted_queries_are_visible_to_every_employee(api, outsider, make_query):
    query = make_query(text="nothing routes this")
    assert query.department is None
    assert api(outsider).get(f"/api/v1/queries/{query.pk}/").status_code == 200


def test_reviewers_and_executives_see_every_department(api, make_query, department, other_department):
    query = make_query(department=department)
    for role in (RoleName.REVIEWER, RoleName.EXECUTIVE, RoleName.ADMIN):
        person = UserFactory(department=other_department, roles=[role])
        assert api(person).get(f"/api/v1/queries/{query.pk}/").status_code == 200, role


def test_the_list_shows_an_employee_their_department_and_unrouted_only(
    api, owner, make_query, department, other_department
):
    mine = make_query(department=department)
    unrouted = make_query(text="no keywords")
    theirs = make_query(department=other_department)
    ids = [row["id"] for row in api(owner).get("/api/v1/queries/").json()["results"]]
    assert mine.pk in ids
    assert unrouted.pk in ids
    assert theirs.pk not in ids


def test_fields_that_are_not_writable_are_never_applied(api, owner, make_query, department, other_department):
    query = make_query(department=department)
    services.query_claim(user=owner, query_id=query.pk)
    response = api(owner).post(
        f"/api/v1/queries/{query.pk}/answers/",
        {"body": "An answer", "status": "published", "author": 999, "reviewed_by": owner.pk, "approved_by": 1},
        format="json",
    )
    assert response.status_code == 201
    stored = Answer.objects.get(pk=response.json()["id"])
    assert stored.status == "pending_review"  # not certified: the sent status was ignored
    assert stored.author_id == owner.pk
    assert stored.reviewed_by_id is None
    # A claim takes no body: a claimed_until sent along is not applied.
    other = make_query(department=department)
    far = (timezone.now() + timedelta(days=30)).isoformat()
    claimed = api(owner).post(
        f"/api/v1/queries/{other.pk}/claim/",
        {"claimed_until": far, "claimed_by": 1, "department": other_department.slug},
        format="json",
    )
    assert claimed.status_code == 200
    other.refresh_from_db()
    assert other.claimed_until - timezone.now() < timedelta(minutes=16)
    assert other.department == department


def test_webhook_fields_beyond_the_contract_are_ignored(post_webhook, department):
    response = post_webhook(
        {
            "external_id": "x1",
            "text": "hello",
            "author": {"handle": "@a"},
            "department": department.slug,
            "state": "closed",
        }
    )
    assert response.status_code == 201
    query = Query.objects.get(pk=response.json()["id"])
    assert query.department is None
    assert query.state == "open"


# --- Filters and pagination ---------------------------------------------------------------------


def test_filters_status_department_topic_mine(api, owner, colleague, make_query, department, refund_topic):
    refund = make_query(text="refund please")
    other = make_query(text="hello there", department=department)
    services.query_claim(user=owner, query_id=other.pk)
    client = api(owner)

    def ids(params: str) -> set[int]:
        response = client.get(f"/api/v1/queries/?{params}")
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    assert ids("topic=refunds") == {refund.pk}
    assert ids("status=claimed") == {other.pk}
    assert ids("status=open") == {refund.pk}
    assert ids("mine=true") == {other.pk}
    assert ids(f"department={department.slug}") == {refund.pk, other.pk}
    assert api(colleague).get("/api/v1/queries/?mine=1").json()["results"] == []
    assert client.get("/api/v1/queries/?status=bogus").status_code == 400
    assert client.get("/api/v1/queries/?department=nope").status_code == 400


def test_oldest_and_most_urgent_first(api, owner, make_query, department):
    now = timezone.now()
    low_old = make_query(department=department, priority="low", received_at=now - timedelta(hours=10))  # due +62h
    normal = make_query(department=department, priority="normal", received_at=now - timedelta(hours=1))  # due +23h
    urgent_new = make_query(department=department, priority="urgent", received_at=now)  # due +1h
    normal_old = make_query(department=department, priority="normal", received_at=now - timedelta(hours=23, minutes=30))
    ids = [row["id"] for row in api(owner).get("/api/v1/queries/").json()["results"]]
    assert ids == [normal_old.pk, urgent_new.pk, normal.pk, low_old.pk]


def test_keyset_pages_walk_the_whole_queue_without_repeats(api, owner, make_query, department):
    now = timezone.now()
    made = [make_query(department=department, received_at=now - timedelta(minutes=i % 3)) for i in range(7)]
    client = api(owner)
    seen: list[int] = []
    url = "/api/v1/queries/?page_size=3"
    while url:
        body = client.get(url).json()
        assert len(body["results"]) <= 3
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert sorted(seen) == sorted(q.pk for q in made)
    assert len(seen) == len(set(seen))


def test_a_row_claimed_meanwhile_drops_out_of_the_next_page_without_shifting(
    api, owner, colleague, make_query, department
):
    now = timezone.now()
    made = [make_query(department=department, received_at=now - timedelta(minutes=10 - i)) for i in range(4)]
    first = api(owner).get("/api/v1/queries/?status=open&page_size=2").json()
    services.query_claim(user=colleague, query_id=made[2].pk)
    second = api(owner).get(first["next"]).json()
    assert [row["id"] for row in second["results"]] == [made[3].pk]


def test_page_size_is_capped_at_200_and_bad_cursors_are_400(api, owner):
    assert api(owner).get("/api/v1/queries/?page_size=abc").status_code == 400
    assert api(owner).get("/api/v1/queries/?cursor=!!!").status_code == 400
    assert api(owner).get("/api/v1/queries/?page_size=5000").status_code == 200


def test_list_query_count_does_not_grow_with_the_page(api, owner, make_query, department, refund_topic):
    client = api(owner)
    second_topic = TopicFactory(slug="orders", keywords=["order"], department=department)
    assert second_topic

    def count_for(rows: int) -> int:
        Query.objects.all().delete()
        for i in range(rows):
            query = make_query(text="refund for my order", department=department)
            if i % 2:
                services.query_claim(user=UserFactory(department=department), query_id=query.pk)
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/api/v1/queries/?page_size=200")
        assert response.status_code == 200
        assert len(response.json()["results"]) == rows
        return len(captured.captured_queries)

    assert count_for(3) == count_for(30)
