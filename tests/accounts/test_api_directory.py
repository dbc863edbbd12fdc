"""/api/v1/departments/ and /api/v1/topics/: everyone signed in reads, admins write."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Department, DepartmentKind, Topic
from tests.factories import DepartmentFactory, TopicFactory

pytestmark = pytest.mark.django_db

DEPARTMENTS = "/api/v1/departments/"
TOPICS = "/api/v1/topics/"


@pytest.fixture(autouse=True)
def _plain_http(settings):
    settings.SECURE_SSL_REDIRECT = False  # the test client speaks plain HTTP


@pytest.fixture
def queries_for(django_assert_max_num_queries):
    """``queries_for(client, url, **params)``: (query count, body); never more than 3 queries."""

    def measure(client, url: str, **params) -> tuple[int, dict]:
        # token+person, count, page (the department comes joined with each topic)
        with django_assert_max_num_queries(3), CaptureQueriesContext(connection) as queries:
            response = client.get(url, params)
        assert response.status_code == 200
        return len(queries), response.json()

    return measure


# --- Departments -----------------------------------------------------------------------------


def test_everyone_signed_in_reads_departments(api, owner, outsider):
    for person in (owner, outsider):
        response = api(person).get(DEPARTMENTS)
        assert response.status_code == 200
        rows = response.json()["results"]
        assert [row["slug"] for row in rows] == ["support", "finance"]  # ordered by name: Customer…, Finance
        assert set(rows[0]) == {"id", "slug", "name", "kind", "customer_facing"}
    assert api().get(DEPARTMENTS).status_code == 401


def test_department_by_slug(api, owner, department):
    response = api(owner).get(f"{DEPARTMENTS}support/")
    assert response.status_code == 200
    assert response.json() == {
        "id": department.pk,
        "slug": "support",
        "name": "Customer Support",
        "kind": "customer_service",
        "customer_facing": True,
    }
    assert api(owner).get(f"{DEPARTMENTS}nowhere/").status_code == 404
    assert api().get(f"{DEPARTMENTS}support/").status_code == 401


def test_admin_creates_a_department(api, admin_user):
    payload = {"slug": "tech", "name": "Tech Support", "kind": "tech_support", "customer_facing": True}
    response = api(admin_user).post(DEPARTMENTS, payload, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["id"] > 0
    assert {key: body[key] for key in payload} == payload
    assert api(admin_user).get(f"{DEPARTMENTS}tech/").json() == body


def test_kind_and_customer_facing_have_defaults(api, admin_user):
    body = api(admin_user).post(DEPARTMENTS, {"slug": "misc", "name": "Misc"}, format="json").json()
    assert body["kind"] == "other"
    assert body["customer_facing"] is False


def test_non_admins_cannot_create_departments(api, owner):
    response = api(owner).post(DEPARTMENTS, {"slug": "mine", "name": "Mine", "kind": "hr"}, format="json")
    assert response.status_code == 403
    assert not Department.objects.filter(slug="mine").exists()
    assert api().post(DEPARTMENTS, {"slug": "anon", "name": "Anon"}, format="json").status_code == 401


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"slug": "x", "name": "X", "kind": "legal"}, "kind"),
        ({"slug": "x", "name": "X", "kind": ["hr"]}, "kind"),
        ({"slug": "not a slug", "name": "X"}, "slug"),
        ({"slug": "x" * 61, "name": "X"}, "slug"),
        ({"slug": "x", "name": ""}, "name"),
        ({"slug": "x", "name": "X", "customer_facing": "maybe"}, "customer_facing"),
        ({"slug": "support", "name": "Again"}, "slug"),
    ],
)
def test_invalid_departments_are_refused_naming_the_field(api, admin_user, department, payload, field):
    before = Department.objects.count()
    response = api(admin_user).post(DEPARTMENTS, payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert field in body or body.get("field") == field, body
    assert Department.objects.count() == before


def test_every_kind_of_api_md_is_accepted(api, admin_user):
    kinds = ["marketing", "customer_service", "tech_support", "hr", "finance", "sales", "product", "executive", "other"]
    assert sorted(DepartmentKind.values) == sorted(kinds)
    for kind in kinds:
        response = api(admin_user).post(DEPARTMENTS, {"slug": f"k-{kind}", "name": kind, "kind": kind}, format="json")
        assert response.status_code == 201, kind


def test_department_list_is_paginated_capped_and_constant_in_queries(api, owner, queries_for):
    Department.objects.bulk_create(Department(slug=f"d-{n:03}", name=f"Dept {n:03}") for n in range(210))
    client = api(owner)
    small, page = queries_for(client, DEPARTMENTS, page_size=3)
    assert len(page["results"]) == 3
    assert page["next"]
    large, page = queries_for(client, DEPARTMENTS, page_size=999)
    assert len(page["results"]) == 200
    assert small == large


# --- Topics ----------------------------------------------------------------------------------


def test_everyone_signed_in_reads_topics_oldest_first(api, outsider, department):
    first = TopicFactory(slug="refunds", name="Refunds", keywords=["refund", "money back"], department=department)
    TopicFactory(slug="outage", name="Outage", keywords=["down"], department=department)
    response = api(outsider).get(TOPICS)
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["slug"] for row in rows] == ["refunds", "outage"]
    assert rows[0] == {
        "id": first.pk,
        "slug": "refunds",
        "name": "Refunds",
        "keywords": ["refund", "money back"],
        "department": "support",
        "created_at": rows[0]["created_at"],
    }
    assert api().get(TOPICS).status_code == 401


def test_topic_by_slug(api, owner, department):
    TopicFactory(slug="refunds", department=department)
    assert api(owner).get(f"{TOPICS}refunds/").json()["department"] == "support"
    assert api(owner).get(f"{TOPICS}nothing/").status_code == 404


def test_admin_creates_a_topic_with_cleaned_keywords(api, admin_user, department):
    response = api(admin_user).post(
        TOPICS,
        {
            "slug": "billing",
            "name": "Billing",
            "keywords": ["Invoice", "  double   charged ", "invoice"],
            "department": "support",
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["id"] > 0
    assert body["keywords"] == ["invoice", "double charged"]
    assert body["department"] == "support"
    assert Topic.objects.get(slug="billing").department == department


def test_non_admins_cannot_create_topics(api, owner, department):
    payload = {"slug": "mine", "name": "Mine", "keywords": ["x"], "department": "support"}
    assert api(owner).post(TOPICS, payload, format="json").status_code == 403
    assert not Topic.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"slug": "t", "name": "T", "keywords": ["x"], "department": "nowhere"}, "department"),
        ({"slug": "t", "name": "T", "keywords": ["x"]}, "department"),
        ({"slug": "t", "name": "T", "keywords": "refund", "department": "support"}, "keywords"),
        ({"slug": "t", "name": "T", "keywords": ["  "], "department": "support"}, "keywords"),
        ({"slug": "t", "name": "T", "keywords": [{"a": 1}], "department": "support"}, "keywords"),
        ({"slug": "t", "name": "T", "keywords": ["k" * 101], "department": "support"}, "keywords"),
        ({"slug": "t t", "name": "T", "keywords": ["x"], "department": "support"}, "slug"),
        ({"slug": "existing", "name": "T", "keywords": ["x"], "department": "support"}, "slug"),
    ],
)
def test_invalid_topics_are_refused_naming_the_field(api, admin_user, department, payload, field):
    TopicFactory(slug="existing", department=department)
    response = api(admin_user).post(TOPICS, payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert field in body or body.get("field") == field, body
    assert Topic.objects.count() == 1


def test_topic_list_costs_the_same_queries_at_any_page_size(api, owner, queries_for):
    departments = [DepartmentFactory() for _ in range(5)]
    for n in range(40):
        TopicFactory(slug=f"t-{n}", department=departments[n % 5])
    client = api(owner)
    small, page = queries_for(client, TOPICS, page_size=2)
    large, page = queries_for(client, TOPICS, page_size=40)
    assert len(page["results"]) == 40
    assert {row["department"] for row in page["results"]} == {d.slug for d in departments}
    assert small == large
