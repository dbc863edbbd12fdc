"""The web pages of community queries, through Django's test client with real sessions.

The queue (filters, order, keyset pages, the live feed is in test_queue_feed.py),
the query page (claim, release, answer with approved messaging, escalate, close, insight),
the draft offered back after a lapsed claim, review from the one review queue, hostile
Markdown, the insights board, dead letters and channels for administrators.
"""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import RoleName
from content import services as content_services
from engage import services
from engage.models import (
    Answer,
    AnswerStatus,
    Channel,
    Delivery,
    DeliveryStatus,
    Insight,
    InsightStatus,
    InsightStatusChange,
    Query,
    QueryDraft,
    QueryState,
)
from tests.engage.conftest import REFUNDS_MESSAGE, certify_responder, make_approved_message
from tests.factories import DepartmentFactory, UserFactory
from tests.html_safety import active_content
from tests.platform.test_markdown import HOSTILE_MARKDOWN

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def flashes(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


class _Section(HTMLParser):
    """The inner HTML of the element with a given id (enough for our own, well-formed pages)."""

    def __init__(self, element_id: str) -> None:
        super().__init__(convert_charrefs=False)
        self.element_id = element_id
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if self.depth:
            self.depth += 1
            self.parts.append(self.get_starttag_text() or "")
        elif dict(attrs).get("id") == self.element_id:
            self.depth = 1

    def handle_startendtag(self, tag, attrs):
        if self.depth:
            self.parts.append(self.get_starttag_text() or "")

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1
            if self.depth:
                self.parts.append(f"</{tag}>")

    def handle_data(self, data):
        if self.depth:
            self.parts.append(data)

    def handle_entityref(self, name):
        if self.depth:
            self.parts.append(f"&{name};")

    def handle_charref(self, name):
        if self.depth:
            self.parts.append(f"&#{name};")


def section(html: str, element_id: str) -> str:
    parser = _Section(element_id)
    parser.feed(html)
    return "".join(parser.parts)


def queue_ids(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'<li id="q-(\d+)"', response.content.decode())]


@pytest.fixture
def published_message(db, department):
    """An approved message about refunds, meant for everyone."""
    return make_approved_message(**REFUNDS_MESSAGE)


# --- Access ----------------------------------------------------------------------------------------


def test_pages_need_sign_in(make_query, department):
    query = make_query(department=department)
    for url in ("/queries/", f"/queries/{query.pk}/", "/insights/", "/queries/live/?shown=1"):
        response = Client().get(url)
        assert response.status_code == 302
        assert "/login/" in response["Location"]


def test_another_departments_query_is_404_on_every_page(outsider, owner, make_query, department):
    query = make_query(department=department)
    services.query_claim(user=owner, query_id=query.pk)
    services.query_draft_save(user=owner, query_id=query.pk, body="mine")
    client = client_for(outsider)
    assert client.get(f"/queries/{query.pk}/").status_code == 404
    for action in ("claim", "release", "draft", "answer", "escalate", "close"):
        response = client.post(f"/queries/{query.pk}/{action}/", {"body": "x", "reason": "spam", "department": "x"})
        assert response.status_code == 404, action
    query.refresh_from_db()
    assert query.claimed_by == owner
    assert query.state == QueryState.OPEN
    # Nor is it in their queue, or in what the live check reports as still listed.
    assert query.pk not in queue_ids(client.get("/queries/?status="))


def test_an_answer_in_review_is_404_to_another_department(owner, outsider, make_query, department):
    query = make_query(department=department)
    services.query_claim(user=owner, query_id=query.pk)
    answer = services.answer_submit(user=owner, query_id=query.pk, body="In review")
    response = client_for(outsider).post(f"/answers/{answer.pk}/approve/")
    assert response.status_code == 404
    answer.refresh_from_db()
    assert answer.status == AnswerStatus.PENDING_REVIEW


# --- The queue ---------------------------------------------------------------------------------------


def test_the_queue_lists_the_departments_open_queries_earliest_due_first(
    owner, colleague, make_query, department, other_department
):
    normal = make_query("normal one", department=department)
    urgent = make_query("urgent one", department=department, priority="urgent")
    low = make_query("low one", department=department, priority="low")
    unrouted = make_query("nobody's yet")
    elsewhere = make_query("finance only", department=other_department)
    claimed = make_query("taken", department=department)
    services.query_claim(user=colleague, query_id=claimed.pk)

    response = client_for(owner).get("/queries/")
    assert response.status_code == 200
    ids = queue_ids(response)
    assert ids[0] == urgent.pk  # due in an hour
    assert set(ids) == {normal.pk, urgent.pk, low.pk, unrouted.pk}
    assert ids.index(normal.pk) < ids.index(low.pk)
    assert elsewhere.pk not in ids
    assert claimed.pk not in ids

    # Filters: claimed ones, mine, any status.
    assert queue_ids(client_for(owner).get("/queries/?status=claimed")) == [claimed.pk]
    assert queue_ids(client_for(colleague).get("/queries/?status=&mine=1")) == [claimed.pk]
    assert claimed.pk in queue_ids(client_for(owner).get("/queries/?status="))


def test_the_queue_filters_by_topic(owner, make_query, department, refund_topic):
    refund = make_query("I want a refund", department=department)  # routed by keyword: carries the topic
    other = make_query("Opening hours?", department=department)
    ids = queue_ids(client_for(owner).get("/queries/?topic=refunds"))
    assert ids == [refund.pk]
    assert other.pk in queue_ids(client_for(owner).get("/queries/"))


def test_reviewers_start_on_their_department_and_may_choose_another(reviewer, make_query, department, other_department):
    here = make_query("ours", department=department)
    there = make_query("theirs", department=other_department)
    client = client_for(reviewer)
    assert queue_ids(client.get("/queries/")) == [here.pk]
    assert queue_ids(client.get("/queries/?department=finance")) == [there.pk]
    assert set(queue_ids(client.get("/queries/?department="))) == {here.pk, there.pk}


def test_the_queue_pages_by_keyset_and_its_queries_do_not_grow_with_rows(
    owner, make_query, department, django_assert_max_num_queries
):
    client = client_for(owner)
    made = [make_query(f"question {n}", department=department) for n in range(3)]
    with django_assert_max_num_queries(14) as few:
        client.get("/queries/")
    baseline = len(few.captured_queries)
    made += [make_query(f"question {n}", department=department) for n in range(3, 55)]
    with django_assert_max_num_queries(baseline) as many:
        first = client.get("/queries/")
    assert len(many.captured_queries) == baseline
    first_ids = queue_ids(first)
    assert len(first_ids) == 50
    next_url = re.search(r'href="([^"]+cursor=[^"]+)" rel="next"', first.content.decode()).group(1)
    second_ids = queue_ids(client.get(next_url.replace("&amp;", "&")))
    assert len(second_ids) == 5
    assert set(first_ids) | set(second_ids) == {q.pk for q in made}
    assert not set(first_ids) & set(second_ids)
    assert client.get("/queries/?cursor=not-a-cursor", follow=True).status_code == 200


# --- Claim, release, answer ----------------------------------------------------------------------------


def test_claim_then_release_through_the_pages(owner, colleague, make_query, department):
    query = make_query(department=department)
    client = client_for(owner)
    response = client.post(f"/queries/{query.pk}/claim/", {"next": "/queries/"})
    assert response.status_code == 302
    assert response["Location"] == f"/queries/{query.pk}/#answer"
    query.refresh_from_db()
    assert query.claimed_by == owner
    assert query.claimed_until > timezone.now()
    page = client.get(f"/queries/{query.pk}/").content.decode()
    assert 'id="answer-form"' in page
    assert "Send for review" in page  # not a certified responder

    # A colleague sees who holds it, cannot claim it, and goes back where they were.
    other = client_for(colleague)
    assert "is answering" in other.get(f"/queries/{query.pk}/").content.decode()
    refused = other.post(f"/queries/{query.pk}/claim/", {"next": "/queries/"})
    assert refused["Location"] == "/queries/"
    assert "Someone else holds this query." in flashes(refused)
    query.refresh_from_db()
    assert query.claimed_by == owner

    released = client.post(f"/queries/{query.pk}/release/")
    assert released.status_code == 302
    query.refresh_from_db()
    assert query.claimed_by is None
    assert query.status_at() == "open"
    assert "release" in flashes(released)[-1].lower()


def test_the_claim_cap_is_told_on_the_page(owner, make_query, department, settings):
    settings.ENGAGE_MAX_OPEN_CLAIMS = 1
    first, second = make_query(department=department), make_query(department=department)
    client = client_for(owner)
    client.post(f"/queries/{first.pk}/claim/")
    response = client.post(f"/queries/{second.pk}/claim/", {"next": "/queries/"})
    assert "You already hold 1 claims" in flashes(response)[-1]
    second.refresh_from_db()
    assert second.claimed_by is None


def test_an_uncertified_answer_is_reviewed_from_the_review_queue_and_delivered(
    owner, reviewer, make_query, department, published_message, django_capture_on_commit_callbacks
):
    query = make_query("How long does a refund take?", department=department)
    client = client_for(owner)
    client.post(f"/queries/{query.pk}/claim/")
    page = client.get(f"/queries/{query.pk}/").content.decode()
    assert f'data-use-message="{published_message.pk}"' in page  # suggested for this question

    response = client.post(
        f"/queries/{query.pk}/answer/",
        {"body": "Thanks for asking: **five** days.", "message_ids": [published_message.pk]},
    )
    assert response.status_code == 302
    answer = Answer.objects.get(query=query)
    assert answer.status == AnswerStatus.PENDING_REVIEW
    assert list(answer.messages.values_list("pk", flat=True)) == [published_message.pk]
    assert "Sent for review" in flashes(response)[-1]

    # The author cannot approve their own; the reviewer finds it in the one review queue.
    assert "Another reviewer decides" in client.get(f"/queries/{query.pk}/").content.decode()
    own = client.post(f"/answers/{answer.pk}/approve/")
    assert own.status_code in (302, 404)
    answer.refresh_from_db()
    assert answer.status == AnswerStatus.PENDING_REVIEW

    review = client_for(reviewer)
    queue_page = review.get("/review/").content.decode()
    assert f'id="review-answer-{answer.pk}"' in queue_page
    assert "<strong>five</strong>" in queue_page
    with django_capture_on_commit_callbacks(execute=True):  # the delivery job runs after the commit
        approved = review.post(f"/answers/{answer.pk}/approve/", {"next": "/review/"})
    assert approved["Location"] == "/review/"
    answer.refresh_from_db()
    assert answer.status == AnswerStatus.PUBLISHED
    assert answer.reviewed_by == reviewer
    delivery = Delivery.objects.get(answer=answer)
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.target == "local"
    shown = client.get(f"/queries/{query.pk}/").content.decode()
    assert "Delivered to Community forum (local adapter)" in shown
    assert f'id="review-answer-{answer.pk}"' not in review.get("/review/").content.decode()


def test_a_rejection_comes_back_to_the_author_with_its_comment(owner, reviewer, make_query, department):
    query = make_query(department=department)
    services.query_claim(user=owner, query_id=query.pk)
    answer = services.answer_submit(user=owner, query_id=query.pk, body="First try")
    review = client_for(reviewer)
    empty = review.post(f"/answers/{answer.pk}/reject/", {"comment": "  "})
    assert "comment is required" in flashes(empty)[-1]
    answer.refresh_from_db()
    assert answer.status == AnswerStatus.PENDING_REVIEW
    review.post(f"/answers/{answer.pk}/reject/", {"comment": "Say when the refund arrives."})
    answer.refresh_from_db()
    assert answer.status == AnswerStatus.DRAFT
    page = client_for(owner).get(f"/queries/{query.pk}/").content.decode()
    assert "A reviewer sent your answer back" in page
    assert "Say when the refund arrives." in page
    assert ">First try</textarea>" in page


def test_a_certified_responder_publishes_from_the_page(owner, make_query, department):
    certify_responder(owner)
    query = make_query(department=department)
    client = client_for(owner)
    client.post(f"/queries/{query.pk}/claim/")
    assert "Publish answer" in client.get(f"/queries/{query.pk}/").content.decode()
    response = client.post(f"/queries/{query.pk}/answer/", {"body": "Done **today**."})
    assert "Published" in flashes(response)[-1]
    query.refresh_from_db()
    assert query.state == QueryState.ANSWERED


def test_an_empty_answer_is_refused_and_nothing_is_lost(owner, make_query, department):
    query = make_query(department=department)
    client = client_for(owner)
    client.post(f"/queries/{query.pk}/claim/")
    response = client.post(f"/queries/{query.pk}/answer/", {"body": "   "})
    assert "cannot be empty" in flashes(response)[-1]
    assert not Answer.objects.filter(query=query).exists()


def test_answering_without_a_claim_is_refused(owner, make_query, department):
    query = make_query(department=department)
    response = client_for(owner).post(f"/queries/{query.pk}/answer/", {"body": "Hello"})
    assert "live claim" in flashes(response)[-1]
    assert not Answer.objects.filter(query=query).exists()
    assert QueryDraft.objects.get(query=query, author=owner).body == "Hello"  # kept for them


def test_use_this_message_without_script_adds_it_to_the_draft(owner, make_query, department, published_message):
    query = make_query("refund?", department=department)
    client = client_for(owner)
    client.post(f"/queries/{query.pk}/claim/")
    response = client.post(
        f"/queries/{query.pk}/draft/", {"body": "Hello Ana,", "use_message": str(published_message.pk)}
    )
    assert response.status_code == 302
    draft = QueryDraft.objects.get(query=query, author=owner)
    assert draft.body.startswith("Hello Ana,\n\nEvery **refund** reaches your card")
    assert draft.body.endswith("https://www.example.com/help/refunds")
    assert draft.message_ids == [published_message.pk]
    page = client.get(f"/queries/{query.pk}/").content.decode()
    assert f'name="message_ids" value="{published_message.pk}"' in page
    # A message the person cannot see is a 404, not a way to read it.
    assert client.post(f"/queries/{query.pk}/draft/", {"body": "", "use_message": "999999"}).status_code == 404


def test_each_version_of_a_message_is_shown_whole_and_inserts_exactly_itself(
    owner, make_query, department, published_message
):
    query = make_query("refund?", department=department)
    client = client_for(owner)
    client.post(f"/queries/{query.pk}/claim/")
    page = client.get(f"/queries/{query.pk}/").content.decode()
    card = section(page, f"suggestion-{published_message.pk}")
    short = "Refunds reach your card in five working days.\n\nhttps://www.example.com/help/refunds"
    full = "Every **refund** reaches your card within five working days.\n\nhttps://www.example.com/help/refunds"
    # Both versions shown whole, labelled, each with its own button carrying exactly that text.
    assert "Short post" in card
    assert "Full message" in card
    assert f'id="suggestion-{published_message.pk}-short">{short}</p>' in card
    assert f'id="suggestion-{published_message.pk}-body">{full.replace("*", "*")}</p>' in card
    assert f'value="{published_message.pk}:short"' in card
    assert f'data-insert-text="{short.replace(chr(10), "&#10;")}"' in card or f'data-insert-text="{short}"' in card
    assert ">Use the short post</button>" in card
    assert ">Use the full message</button>" in card
    assert "Each button inserts exactly the text above it." in card
    # Without script the button inserts the same text.
    client.post(f"/queries/{query.pk}/draft/", {"body": "Hi,", "use_message": f"{published_message.pk}:short"})
    assert QueryDraft.objects.get(query=query, author=owner).body == f"Hi,\n\n{short}"
    bad = client.post(f"/queries/{query.pk}/draft/", {"body": "", "use_message": f"{published_message.pk}:long"})
    assert bad.status_code == 400
    assert "use_message" in bad.content.decode()
    assert QueryDraft.objects.get(query=query, author=owner).body == f"Hi,\n\n{short}"  # unchanged


def test_the_draft_autosaves_for_htmx(owner, make_query, department):
    query = make_query(department=department)
    client = client_for(owner)
    client.post(f"/queries/{query.pk}/claim/")
    response = client.post(f"/queries/{query.pk}/draft/", {"body": "half an answer"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "Draft saved at" in response.content.decode()
    assert QueryDraft.objects.get(query=query, author=owner).body == "half an answer"


def test_the_draft_survives_a_lapsed_claim_and_is_offered_back_to_its_author(owner, colleague, make_query, department):
    query = make_query(department=department)
    client = client_for(owner)
    client.post(f"/queries/{query.pk}/claim/")
    client.post(f"/queries/{query.pk}/draft/", {"body": "Dear customer, about your refund"})
    Query.objects.filter(pk=query.pk).update(claimed_until=timezone.now() - timedelta(minutes=1))

    page = client.get(f"/queries/{query.pk}/").content.decode()
    assert "You left a draft here" in page
    assert "Claim and continue my draft" in page
    # Only to its author: a colleague sees none of it.
    other = client_for(colleague).get(f"/queries/{query.pk}/").content.decode()
    assert "Dear customer" not in other
    assert "You left a draft" not in other

    client.post(f"/queries/{query.pk}/claim/")
    page = client.get(f"/queries/{query.pk}/").content.decode()
    assert ">Dear customer, about your refund</textarea>" in page


def test_hostile_markdown_through_the_query_page_is_inert(reviewer, owner, make_query, department):
    certify_responder(owner)
    body = "\n\n".join(HOSTILE_MARKDOWN)
    query = make_query(department=department)
    client = client_for(owner)
    preview = client.post("/queries/preview/", {"body": body}).content.decode()
    assert active_content(preview) == []
    client.post(f"/queries/{query.pk}/claim/")
    client.post(f"/queries/{query.pk}/answer/", {"body": body})
    assert Answer.objects.get(query=query).status == AnswerStatus.PUBLISHED
    for viewer in (owner, reviewer):
        html = client_for(viewer).get(f"/queries/{query.pk}/").content.decode()
        answer_html = section(html, "published-answer")
        assert answer_html.strip()
        assert active_content(answer_html) == []
    # And where it is shown as a similar answered query.
    answer = Answer.objects.get(query=query)
    later = make_query(department=department)
    html = client_for(reviewer).get(f"/queries/{later.pk}/").content.decode()
    similar = section(html, f"similar-answer-{answer.pk}")
    assert similar.strip()
    assert active_content(similar) == []


def test_hostile_markdown_in_the_review_queue_is_inert(owner, reviewer, make_query, department):
    query = make_query(department=department)
    services.query_claim(user=owner, query_id=query.pk)
    answer = services.answer_submit(user=owner, query_id=query.pk, body="\n\n".join(HOSTILE_MARKDOWN))
    html = client_for(reviewer).get("/review/").content.decode()
    shown = section(html, f"review-answer-body-{answer.pk}")
    assert shown.strip()
    assert active_content(shown) == []


# --- Escalate, close, insights ------------------------------------------------------------------------


def test_escalate_and_close_through_the_pages(owner, reviewer, make_query, department, other_department):
    query = make_query(department=department)
    client = client_for(owner)
    client.post(f"/queries/{query.pk}/claim/")
    response = client.post(f"/queries/{query.pk}/escalate/", {"department": "finance", "note": "Invoice question"})
    assert response["Location"] == "/queries/"  # it left the owner's department
    query.refresh_from_db()
    assert query.department == other_department
    assert query.escalation_note == "Invoice question"
    # An empty or unknown department is explained in words, not as "No department ''.".
    other = make_query(department=department)
    client.post(f"/queries/{other.pk}/claim/")
    assert flashes(client.post(f"/queries/{other.pk}/escalate/", {"department": ""}))[-1] == (
        "Choose the department to escalate it to."
    )
    assert (
        "There is no department called “nowhere”"
        in flashes(client.post(f"/queries/{other.pk}/escalate/", {"department": "nowhere"}))[-1]
    )
    assert client.get(f"/queries/{query.pk}/").status_code == 404

    closing = make_query(department=department)
    refused = client.post(f"/queries/{closing.pk}/close/", {"reason": "spam"})  # not holding it
    assert "Only the person holding" in flashes(refused)[-1]
    review = client_for(reviewer)
    bad = review.post(f"/queries/{closing.pk}/close/", {"reason": "bored"})
    assert (
        flashes(bad)[-1]
        == "Choose why it is being closed: spam (spam), duplicate (duplicate), no action needed (no_action)."
    )
    review.post(f"/queries/{closing.pk}/close/", {"reason": "duplicate"})
    closing.refresh_from_db()
    assert closing.state == QueryState.CLOSED
    assert closing.close_reason == "duplicate"
    assert "Closed as duplicate" in review.get(f"/queries/{closing.pk}/").content.decode()


def test_an_insight_from_the_query_page_and_the_board(owner, make_query, department):
    product = DepartmentFactory(slug="product", name="Product", kind="product", customer_facing=False)
    owner_of_product = UserFactory(department=product, name="Pia Product")
    first = make_query("Please add dark mode", department=department)
    second = make_query("Dark mode would be lovely", department=department)
    client = client_for(owner)
    response = client.post(
        "/insights/new/",
        {"title": "Dark mode", "description": "Asked twice", "query_ids": [first.pk, second.pk], "status": "shipped"},
    )
    insight = Insight.objects.get()
    assert response["Location"] == f"/insights/{insight.pk}/"
    assert insight.status == InsightStatus.SUBMITTED  # a field that is not writable is never applied
    assert sorted(insight.queries.values_list("pk", flat=True)) == sorted([first.pk, second.pk])
    board = client.get("/insights/").content.decode()
    assert f'id="insight-{insight.pk}"' in board
    assert f'action="/insights/{insight.pk}/move/"' not in board  # employees do not move them

    assert client.post(f"/insights/{insight.pk}/move/", {"status": "planned"}).status_code == 403
    product_client = client_for(owner_of_product)
    assert f'action="/insights/{insight.pk}/move/"' in product_client.get("/insights/").content.decode()
    product_client.post(f"/insights/{insight.pk}/move/", {"status": "planned"})
    insight.refresh_from_db()
    assert insight.status == InsightStatus.PLANNED
    detail = product_client.get(f"/insights/{insight.pk}/").content.decode()
    assert "Submitted → <strong>Planned</strong>" in detail

    bad = client.post("/insights/new/", {"title": "", "query_ids": [first.pk]})
    assert "needs a title" in flashes(bad)[-1]


def _move_options(html: str, insight_pk: int) -> list[tuple[str, bool]]:
    """(value, selected) of each option of the insight's Move select on a page."""
    select = re.search(rf'<select id="move-{insight_pk}" name="status">(.*?)</select>', html, re.S)
    assert select, f"no Move select for insight {insight_pk}"
    return [(v, bool(sel)) for v, sel in re.findall(r'<option value="([a-z_]+)"( selected)?>', select.group(1))]


def test_the_insights_board_offers_only_the_moves_that_make_sense_defaulting_to_the_current_status(
    owner, make_query, department
):
    product = DepartmentFactory(slug="product", name="Product", kind="product", customer_facing=False)
    pia = UserFactory(department=product, name="Pia Product")
    client = client_for(pia)
    query = make_query("Please add dark mode", department=department)
    insight = services.insight_create(user=owner, title="Dark mode", description="", query_ids=[query.pk])
    expected = {
        InsightStatus.SUBMITTED: ["submitted", "under_review", "planned", "declined"],
        InsightStatus.PLANNED: ["planned", "shipped", "under_review", "declined"],
        InsightStatus.SHIPPED: ["shipped", "planned"],
        InsightStatus.DECLINED: ["declined", "under_review"],
    }
    for status, values in expected.items():
        Insight.objects.filter(pk=insight.pk).update(status=status)
        options = _move_options(client.get("/insights/").content.decode(), insight.pk)
        assert [v for v, _ in options] == values, status
        assert [v for v, selected in options if selected] == [status]  # one click never un-ships

    # Moving to the status it has changes nothing; the service refuses a move that makes no sense.
    response = client.post(f"/insights/{insight.pk}/move/", {"status": "declined"})
    assert "It stays declined" in flashes(response)[-1]
    assert not InsightStatusChange.objects.filter(insight=insight, from_status="declined").exists()
    refused = client.post(f"/insights/{insight.pk}/move/", {"status": "shipped"})
    assert "An insight that is Declined can move to Under review, not to Shipped." in flashes(refused)[-1]
    insight.refresh_from_db()
    assert insight.status == InsightStatus.DECLINED


# --- Administrators ----------------------------------------------------------------------------------


def test_dead_letters_are_for_admins_and_can_be_retried(
    owner, admin_user, make_query, department, django_capture_on_commit_callbacks
):
    certify_responder(owner)
    query = make_query(department=department)
    services.query_claim(user=owner, query_id=query.pk)
    answer = services.answer_submit(user=owner, query_id=query.pk, body="Delivered?")
    delivery = Delivery.objects.get(answer=answer)
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.DEAD, attempts=8, last_error="HTTP 503", last_status_code=503, dead_at=timezone.now()
    )
    assert client_for(owner).get("/deliveries/").status_code == 403
    assert client_for(owner).post(f"/deliveries/{delivery.pk}/retry/").status_code == 403
    admin = client_for(admin_user)
    page = admin.get("/deliveries/").content.decode()
    assert f'id="delivery-{delivery.pk}"' in page
    assert "HTTP 503" in page
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(f"/deliveries/{delivery.pk}/retry/")
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED  # the local adapter, run after commit
    assert f'id="delivery-{delivery.pk}"' not in admin.get("/deliveries/").content.decode()


def test_channels_show_their_secret_once_and_rotate(owner, admin_user):
    assert client_for(owner).get("/channels/").status_code == 403
    admin = client_for(admin_user)
    made = admin.post("/channels/", {"slug": "x-social", "name": "X", "kind": "twitter", "outbound_url": ""})
    assert made.status_code == 200
    channel = Channel.objects.get(slug="x-social")
    assert channel.secret in made.content.decode()
    assert "no-store" in made["Cache-Control"]
    listing = admin.get("/channels/").content.decode()
    assert "x-social" in listing
    assert channel.secret not in listing

    rotated = admin.post("/channels/x-social/rotate/")
    channel.refresh_from_db()
    assert channel.secret in rotated.content.decode()
    assert channel.previous_secret
    assert channel.previous_secret not in rotated.content.decode()

    duplicate = admin.post("/channels/", {"slug": "x-social", "name": "Again", "kind": "twitter"})
    assert duplicate.status_code == 400
    assert "already exists" in duplicate.content.decode()
    private = admin.post("/channels/", {"slug": "y", "name": "Y", "kind": "web", "outbound_url": "ftp://x"})
    assert private.status_code == 400
    assert not Channel.objects.filter(slug="y").exists()


# --- Navigation and the home card ---------------------------------------------------------------------


def test_navigation_and_the_home_card(owner, admin_user, make_query, department):
    held = make_query("mine now", department=department)
    make_query("waiting", department=department)
    services.query_claim(user=owner, query_id=held.pk)
    home = client_for(owner).get("/").content.decode()
    assert 'href="/queries/"' in home
    assert 'href="/insights/"' in home
    assert 'href="/deliveries/"' not in home
    assert "1 open query waits in Customer Support." in home
    assert f'href="/queries/{held.pk}/"' in home
    assert 'href="/deliveries/"' in client_for(admin_user).get("/").content.decode()


# --- A session that ended ------------------------------------------------------------------------


def test_an_ended_session_answers_htmx_with_401_and_a_form_post_returns_to_its_page(owner, make_query, department):
    query = make_query(department=department)
    anonymous = Client()
    background = anonymous.post(f"/queries/{query.pk}/draft/", {"body": "x"}, headers={"HX-Request": "true"})
    assert background.status_code == 401  # not the sign-in page, pasted into the form
    assert background["X-Engage-Session"] == "expired"
    assert "<form" not in background.content.decode()
    posted = anonymous.post(
        f"/queries/{query.pk}/answer/", {"body": "x"}, headers={"Referer": f"http://testserver/queries/{query.pk}/"}
    )
    assert posted["Location"] == f"/login/?next=%2Fqueries%2F{query.pk}%2F"
    elsewhere = anonymous.post(
        f"/queries/{query.pk}/answer/", {"body": "x"}, headers={"Referer": "https://evil.test/x"}
    )
    assert elsewhere["Location"] == f"/login/?next=/queries/{query.pk}/answer/"  # another site's page is never a target
    page = client_for(owner).get(f"/queries/{query.pk}/answer/")
    assert page.status_code == 405
    assert page["Allow"] == "POST"
    assert f'href="/queries/{query.pk}/"' in page.content.decode()


def test_message_usage_counts_use_in_published_answers(owner, reviewer, make_query, department):
    curator = UserFactory(department=department, roles=[RoleName.CURATOR])
    message = content_services.message_create(
        author=curator, fields={"title": "Refunds take five days", "body": "Five working days.", "short_text": "5d"}
    )
    content_services.message_submit(user=curator, message_id=message.pk)
    content_services.message_approve(user=reviewer, message_id=message.pk)
    certify_responder(owner)
    for n in range(2):
        query = make_query(f"Refund {n}?", department=department)
        services.query_claim(user=owner, query_id=query.pk)
        services.answer_submit(user=owner, query_id=query.pk, body="Five working days.", message_ids=[message.pk])
    unpublished = make_query("Refund later?", department=department)
    services.query_claim(user=owner, query_id=unpublished.pk)
    services.query_draft_save(user=owner, query_id=unpublished.pk, body="Draft", message_ids=[message.pk])
    report = client_for(curator).get("/api/v1/messages/usage/").json()
    assert report["totals"]["answers"] == 2
    row = next(r for r in report["messages"] if r["id"] == message.pk)
    assert row["answers"] == 2
    assert row["shares"] == 0
    page = client_for(curator).get("/messages/usage/").content.decode()
    assert "Uses in answers" in page
    assert re.search(r"Refunds take five days.*?<td>0</td><td>0</td><td>0</td><td>2</td>", page, re.S)
