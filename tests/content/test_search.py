"""Search across live messaging: free text (a whole customer question) matches on any of its
words, ranked; PostgreSQL's full-text search, and a plain fallback elsewhere."""

from __future__ import annotations

import pytest
from django.db import connection

from content import selectors, services
from tests.content.conftest import make_message, publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def corpus(author, reviewer):
    return {
        "refunds": publish(
            author,
            reviewer,
            title="Refunds take five days",
            body="Every refund reaches your card within five working days of the return arriving.",
        ),
        "shipping": publish(
            author,
            reviewer,
            title="Shipping to Norway",
            body="We ship to Norway with tracked delivery; customs fees are included.",
        ),
        "returns": publish(
            author,
            reviewer,
            title="How returns work",
            body="Print the label, drop the parcel off, and your refund follows once it arrives.",
        ),
        "support_only": publish(
            author,
            reviewer,
            title="Refund escalations",
            body="Refund escalation path for agents.",
            audience=["support"],
        ),
    }


def titles(found):
    return [m.title for m in found]


def test_a_long_customer_question_still_finds_the_approved_wording(employee, corpus):
    question = (
        "Hi there, I sent my parcel back two weeks ago and I still have not seen my refund on my card. "
        "How long do refunds usually take? Thanks!"
    )
    found = selectors.messages_search(user=employee, text=question)
    assert found, "a long question must still match"
    assert found[0].title in {"Refunds take five days", "How returns work", "Refund escalations"}
    assert "Shipping to Norway" not in titles(found)


def test_ranking_puts_the_best_match_first(stranger, corpus):
    found = selectors.messages_search(user=stranger, text="refund card five days")
    assert titles(found)[0] == "Refunds take five days"
    found = selectors.messages_search(user=stranger, text="norway customs")
    assert titles(found) == ["Shipping to Norway"]


def test_only_live_messages_meant_for_the_person(author, reviewer, employee, stranger, corpus):
    make_message(author, title="Refund draft", body="refund refund refund")
    assert "Refund escalations" in titles(selectors.messages_search(user=employee, text="refund escalation"))
    assert "Refund escalations" not in titles(selectors.messages_search(user=stranger, text="refund escalation"))
    assert "Refund draft" not in titles(selectors.messages_search(user=author, text="refund"))
    services.message_withdraw(user=reviewer, message_id=corpus["refunds"].pk)
    assert "Refunds take five days" not in titles(selectors.messages_search(user=employee, text="refunds"))


def test_empty_or_stop_word_only_text_finds_nothing(employee, corpus):
    assert selectors.messages_search(user=employee, text="") == []
    assert selectors.messages_search(user=employee, text="how are you, and is it?") == []
    assert selectors.messages_search(user=employee, text="refund", limit=0) == []


def test_limit_is_respected(employee, corpus):
    assert len(selectors.messages_search(user=employee, text="refund", limit=1)) == 1


def test_the_search_endpoint(api, employee, corpus):
    response = api(employee).get("/api/v1/messages/search/", {"q": "Where is my refund?"})
    assert response.status_code == 200
    results = response.json()["results"]
    assert results
    assert all(r["status"] == "published" for r in results)
    assert api(employee).get("/api/v1/messages/search/").status_code == 400


def test_the_search_page_and_its_htmx_fragment(client, employee, corpus):
    client.force_login(employee)
    page = client.get("/messages/", {"q": "norway"})
    assert page.status_code == 200
    assert "Shipping to Norway" in page.content.decode()
    assert "Refunds take five days" not in page.content.decode()
    fragment = client.get("/messages/", {"q": "norway"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="message-results")
    assert fragment.status_code == 200
    assert "<html" not in fragment.content.decode()
    assert 'id="message-results"' in fragment.content.decode()


def test_edits_reach_the_search_only_when_approved(author, reviewer, employee, corpus):
    message = corpus["shipping"]
    services.message_update(user=author, message_id=message.pk, fields={"body": "Now also to Iceland."})
    assert selectors.messages_search(user=employee, text="iceland") == []
    services.message_approve(user=reviewer, message_id=message.pk)
    assert titles(selectors.messages_search(user=employee, text="iceland")) == ["Shipping to Norway"]


@pytest.mark.postgres
def test_postgres_uses_full_text_search_with_stemming_and_a_gin_index(employee, corpus):
    assert connection.vendor == "postgresql"
    # Stemming: "shipped" matches "ship" and "Shipping"; the fallback's substring match would not.
    assert titles(selectors.messages_search(user=employee, text="shipped")) == ["Shipping to Norway"]
    # Title matches weigh more than body matches.
    assert titles(selectors.messages_search(user=employee, text="returns"))[0] == "How returns work"
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'content_message_search_idx'")
        row = cursor.fetchone()
    assert row is not None
    assert "gin" in row[0].lower()


def test_fallback_search_on_other_databases(employee, corpus):
    if connection.vendor == "postgresql":
        found = selectors._search_fallback(
            selectors.messages_live_for(user=employee), selectors.search_terms("refund card"), 10
        )
    else:
        found = selectors.messages_search(user=employee, text="refund card")
    assert titles(found)[0] == "Refunds take five days"
    assert "Shipping to Norway" not in titles(found)
