"""Text past a limit is refused with a message naming the field, never silently cut.

An escalation note (documented as at most 2,000 characters) and an insight's title (200)
and description (10,000): a 400 naming the field in the API, the error on the page with
the text back in the form, and nothing written.
"""

from __future__ import annotations

import html

import pytest
from django.test import Client

from engage import services
from engage.models import Insight
from tests.engage.conftest import names_field

pytestmark = pytest.mark.django_db

NOTE = "Billing should look at this. " * 110  # 3,080 characters
TITLE = "Customers keep asking for a dark mode in the mobile app " * 6  # 336 characters


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def flashes(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


def test_an_over_long_escalation_note_is_refused_by_the_api_naming_the_field(
    api, owner, make_query, department, other_department
):
    query = make_query(department=department)
    services.query_claim(user=owner, query_id=query.pk)
    url = f"/api/v1/queries/{query.pk}/escalate/"
    response = api(owner).post(url, {"department": other_department.slug, "note": "x" * 2001}, format="json")
    assert response.status_code == 400
    assert names_field(response.json(), "note")
    query.refresh_from_db()
    assert query.department == department
    assert query.escalated_at is None
    whole = api(owner).post(url, {"department": other_department.slug, "note": "y" * 2000}, format="json")
    assert whole.status_code == 200
    query.refresh_from_db()
    assert query.escalation_note == "y" * 2000


def test_an_over_long_escalation_note_on_the_page_comes_back_whole_with_the_error(
    owner, make_query, department, other_department
):
    query = make_query(department=department)
    client = client_for(owner)
    client.post(f"/queries/{query.pk}/claim/")
    refused = client.post(f"/queries/{query.pk}/escalate/", {"department": other_department.slug, "note": NOTE})
    assert refused["Location"] == f"/queries/{query.pk}/"
    assert flashes(refused)[-1] == f"A note is at most 2,000 characters (this one has {len(NOTE.strip()):,})."
    query.refresh_from_db()
    assert query.department == department
    assert query.escalation_note == ""
    page = client.get(f"/queries/{query.pk}/").content.decode()
    assert f'maxlength="2000">{html.escape(NOTE)}</textarea>' in page, "the whole note is back in the form"
    assert f'value="{other_department.slug}" selected' in page
    assert html.escape(NOTE) not in client.get(f"/queries/{query.pk}/").content.decode(), "shown back once"


def test_an_over_long_insight_title_or_description_is_refused_by_the_api(api, owner, make_query, department):
    query = make_query(department=department)
    title = api(owner).post("/api/v1/insights/", {"title": TITLE, "query_ids": [query.pk]}, format="json")
    assert title.status_code == 400
    assert names_field(title.json(), "title")
    description = api(owner).post(
        "/api/v1/insights/", {"title": "Dark mode", "description": "d" * 10_001, "query_ids": [query.pk]}, format="json"
    )
    assert description.status_code == 400
    assert names_field(description.json(), "description")
    assert not Insight.objects.exists()


@pytest.mark.parametrize(
    ("values", "says"),
    [
        (
            {"title": TITLE, "description": "Asked twice"},
            f"A title is at most 200 characters (this one has {len(TITLE.strip())}).",
        ),
        (
            {"title": "Dark mode", "description": "d" * 10_001},
            "A description is at most 10,000 characters (this one has 10,001).",
        ),
    ],
    ids=["title", "description"],
)
def test_an_over_long_insight_on_the_query_page_is_refused_and_comes_back_whole(
    owner, make_query, department, values, says
):
    query = make_query(department=department)
    client = client_for(owner)
    refused = client.post("/insights/new/", {**values, "query_ids": [query.pk], "next": f"/queries/{query.pk}/"})
    assert refused["Location"] == f"/queries/{query.pk}/"
    assert flashes(refused)[-1] == says
    assert not Insight.objects.exists(), "nothing saved, not even a cut title"
    page = client.get(f"/queries/{query.pk}/").content.decode()
    assert '<details class="insight-form" open>' in page
    assert f'value="{html.escape(values["title"])}"' in page
    assert f">{html.escape(values['description'])}</textarea>" in page
    assert 'aria-invalid="true"' in page
