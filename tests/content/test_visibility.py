"""Who sees what: employees only live messages meant for them (404 otherwise); curators and
reviewers everything; lists cost the same number of queries whatever the page size."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from content import services
from tests.content.conftest import later, make_message, publish
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_employees_get_404_for_drafts_and_messages_in_review(api, author, employee):
    draft = make_message(author)
    in_review = make_message(author, title="In review")
    services.message_submit(user=author, message_id=in_review.pk)
    client = api(employee)
    for message in (draft, in_review):
        assert client.get(f"/api/v1/messages/{message.pk}/").status_code == 404
        assert client.post(f"/api/v1/messages/{message.pk}/shares/", {"channel": "x"}, format="json").status_code == 404
        assert client.patch(f"/api/v1/messages/{message.pk}/", {"title": "x"}, format="json").status_code == 404
        assert client.post(f"/api/v1/messages/{message.pk}/approve/", {}, format="json").status_code == 404
        assert client.get(f"/messages/{message.pk}/").status_code in (302, 404)


def test_employees_get_404_for_another_audience_and_200_for_their_own(api, author, reviewer, employee, stranger):
    for_support = publish(author, reviewer, audience=["support"])
    for_everyone = publish(author, reviewer, title="For all")
    assert api(employee).get(f"/api/v1/messages/{for_support.pk}/").status_code == 200
    assert api(stranger).get(f"/api/v1/messages/{for_support.pk}/").status_code == 404
    assert api(stranger).get(f"/api/v1/messages/{for_everyone.pk}/").status_code == 200


def test_someone_without_a_department_sees_only_messages_for_everyone(api, author, reviewer, department):
    loner = UserFactory(department=None)
    for_support = publish(author, reviewer, audience=["support"])
    for_everyone = publish(author, reviewer, title="For all")
    assert api(loner).get(f"/api/v1/messages/{for_support.pk}/").status_code == 404
    assert api(loner).get(f"/api/v1/messages/{for_everyone.pk}/").status_code == 200


def test_the_web_page_answers_404_too(client, author, reviewer, stranger):
    for_support = publish(author, reviewer, audience=["support"])
    client.force_login(stranger)
    assert client.get(f"/messages/{for_support.pk}/").status_code == 404


def test_lists_show_employees_only_live_messages_for_them(api, author, reviewer, employee, now):
    mine = publish(author, reviewer, title="Support only", audience=["support"])
    publish(author, reviewer, title="Finance only", audience=["finance"])
    everyone = publish(author, reviewer, title="Everyone")
    make_message(author, title="Draft")
    publish(author, reviewer, title="Later", publish_at=later(now, days=2))
    expired = publish(author, reviewer, title="Gone", expires_at=later(now, minutes=5))
    services.message_withdraw(user=reviewer, message_id=expired.pk)
    listed = api(employee).get("/api/v1/messages/").json()["results"]
    assert sorted(m["id"] for m in listed) == sorted([mine.pk, everyone.pk])
    assert {m["status"] for m in listed} == {"published"}


def test_curators_and_reviewers_see_all(api, author, reviewer, second_curator):
    publish(author, reviewer, audience=["finance"])
    make_message(author, title="Draft")
    for person in (second_curator, reviewer):
        assert len(api(person).get("/api/v1/messages/").json()["results"]) == 2


def test_list_filters(api, author, reviewer, topic, now):
    published = publish(author, reviewer, topics=["refunds"])
    draft = make_message(author, title="Draft")
    pending = make_message(author, title="Pending")
    services.message_submit(user=author, message_id=pending.pk)
    scheduled = publish(author, reviewer, title="Later", publish_at=later(now, days=1))
    client = api(reviewer)

    def ids(query: str) -> list[int]:
        response = client.get(f"/api/v1/messages/?{query}")
        assert response.status_code == 200, response.json()
        return sorted(m["id"] for m in response.json()["results"])

    assert ids("status=published") == [published.pk]
    assert ids("status=draft") == [draft.pk]
    assert ids("status=pending") == [pending.pk]
    assert ids("status=scheduled") == [scheduled.pk]
    assert ids("topic=refunds") == [published.pk]
    assert client.get("/api/v1/messages/?status=bogus").status_code == 400


def test_page_size_is_capped_at_200(api, author):
    for n in range(3):
        make_message(author, title=f"M{n}")
    response = api(author).get("/api/v1/messages/?page_size=1")
    assert len(response.json()["results"]) == 1
    assert response.json()["next"]


def _statements_by_page_size(client: Any, url: str, sizes: tuple[int, ...]) -> list[int]:
    """The statements a list costs at each page size, each page full (after a warm-up call)."""
    client.get(f"{url}?page_size={sizes[0]}")  # warm up (content types, etc.)
    counts = []
    for size in sizes:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"{url}?page_size={size}")
        assert response.status_code == 200
        assert len(response.json()["results"]) == size
        counts.append(len(queries))
    return counts


@pytest.mark.parametrize("as_role", ["employee", "reviewer"])
def test_message_list_query_count_does_not_grow_with_page_size(
    api, author, reviewer, employee, topic, department, other_department, as_role, django_assert_num_queries
):
    for n in range(12):
        message = publish(author, reviewer, title=f"Message {n}", topics=["refunds"], audience=["support", "finance"])
        if n % 3 == 0:
            services.message_update(user=author, message_id=message.pk, fields={"title": f"Pending {n}"})
    client = api(employee if as_role == "employee" else reviewer)
    counts = _statements_by_page_size(client, "/api/v1/messages/", (2, 10))
    assert counts[0] == counts[1], counts
    with django_assert_num_queries(counts[0]):
        client.get("/api/v1/messages/?page_size=12")


def test_toolkit_and_share_lists_query_count_does_not_grow(api, author, reviewer, employee):
    message = publish(author, reviewer)
    for _ in range(8):
        services.share_create(user=employee, message_id=message.pk, channel="linkedin")
    for n in range(8):
        toolkit = services.toolkit_create(author=author, fields={"title": f"Kit {n}", "audience": ["support"]})
        services.toolkit_item_add(user=author, toolkit_id=toolkit.pk, kind="link", url="https://example.com")
        services.toolkit_submit(user=author, toolkit_id=toolkit.pk)
        services.toolkit_approve(user=reviewer, toolkit_id=toolkit.pk)
    client = api(employee)
    for url in ("/api/v1/toolkits/", "/api/v1/shares/"):
        counts = _statements_by_page_size(client, url, (2, 8))
        assert counts[0] == counts[1], (url, counts)


def test_revision_and_history_lists_query_count_does_not_grow(api, author, reviewer, second_curator):
    message = make_message(author)
    for n in range(10):
        editor = author if n % 2 else second_curator
        services.message_update(user=editor, message_id=message.pk, fields={"body": f"Version {n}"})
    client = api(reviewer)
    for url in (f"/api/v1/messages/{message.pk}/revisions/", f"/api/v1/messages/{message.pk}/history/"):
        counts = _statements_by_page_size(client, url, (2, 9))
        assert counts[0] == counts[1], (url, counts)
