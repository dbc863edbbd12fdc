"""What the query page costs (issue 11, "Pages"): a fixed number of statements, whoever reads
it and however long its thread, on a thread that has every kind of entry — follow-ups,
notes with mentions, answers sent back and written again (revisions), hand-offs, published
answers with the customer's rating and their deliveries, an approved message to suggest and
a similar answered query — so the count cannot hide behind empty data."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.http import Http404
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from engage import handoff, ratings, selectors, services, threads
from engage.models import Answer, Query
from tests.engage.conftest import REFUNDS_MESSAGE, certify_responder, make_approved_message, payload
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# The page's statements, read by anyone who sees the query:
#   session, user, the user's roles (sign-in);
#   the query with its channel, department, holder, closer and topics, the reader's saved
#   draft and whether it has follow-ups, notes and hand-offs (one);
#   its answers with their authors, reviewers and ratings;
#   the approved messages matching the question (one);
#   the similar answered queries with their published answers (one);
#   the thread's customer messages; its notes and their mentions; the hand-offs;
#   the notifications count (the navigation).
PAGE = 12
# Revisions (the answers' authors and reviewers only, when one of their answers is there).
REVISIONS = 1
# A reviewer may hand the query over and escalate it: the colleagues it can go to (and
# their roles) and the departments it can be escalated to.
REVIEWER_ACTIONS = 3


@pytest.fixture
def approved_message(db) -> Any:
    return make_approved_message(**REFUNDS_MESSAGE)


def _turn(n: int, *, query_id: int, owner: User, colleague: User, reviewer: User, post_webhook: Any) -> None:
    """One turn of the conversation with every kind of entry: a claim handed over, an answer
    sent back and written again, published and rated, a note mentioning someone, and the
    customer's follow-up (which opens the next turn)."""
    services.query_claim(user=owner, query_id=query_id)
    handoff.query_handoff(user=owner, query_id=query_id, to=colleague.pk, note=f"Over to you {n}")
    answer = services.answer_submit(user=colleague, query_id=query_id, body=f"First try {n}")
    services.answer_reject(user=reviewer, answer_id=answer.pk, comment=f"Use the approved wording {n}.")
    services.answer_submit(user=colleague, query_id=query_id, body=f"Answer {n}: refunds take five days.")
    services.answer_approve(user=reviewer, answer_id=answer.pk)
    published = Answer.objects.get(pk=answer.pk)
    assert published.status == "published"
    assert published.published_at is not None
    token = ratings.token_for(answer_id=published.pk, published_at=published.published_at)
    ratings.rating_save(token=token, score=4, comment=f"Rated {n}")
    handle = colleague.email.split("@")[0]
    threads.note_add(user=owner, query_id=query_id, body=f"Note {n} for @{handle}")
    response = post_webhook(payload(f"follow-{n}", text=f"Follow-up {n} about my refund", thread_id="root-cost"))
    assert response.status_code == 201, response.content


@pytest.fixture
def long_thread(post_webhook, owner, colleague, reviewer, responder, department, refund_topic, approved_message):
    """``grow()`` adds a turn to the query's thread; the query is answered on its topic once before."""
    similar = Query.objects.get(pk=post_webhook(payload("similar-1", text="Refund for a kettle?")).json()["id"])
    Query.objects.filter(pk=similar.pk).update(department=department)
    similar.topics.add(refund_topic)
    services.query_claim(user=responder, query_id=similar.pk)
    services.answer_submit(user=responder, query_id=similar.pk, body="Kettle refunds take five days.")
    root = post_webhook(payload("root-cost", text="I need a refund for my order")).json()["id"]
    Query.objects.filter(pk=root).update(department=department)
    Query.objects.get(pk=root).topics.add(refund_topic)
    turns = iter(range(1, 100))

    def grow() -> None:
        _turn(next(turns), query_id=root, owner=owner, colleague=colleague, reviewer=reviewer,
              post_webhook=post_webhook)  # fmt: skip

    grow()
    return root, grow


def _statements(user: User, query_id: int) -> tuple[int, str]:
    client = Client()
    client.force_login(user)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"/queries/{query_id}/")
    assert response.status_code == 200
    return len(captured.captured_queries), response.content.decode()


def _listed(captured: CaptureQueriesContext) -> str:
    return "\n".join(q["sql"][:160] for q in captured.captured_queries)


def test_the_query_page_makes_a_fixed_number_of_statements_on_a_full_thread(
    long_thread, owner, colleague, reviewer, django_assert_num_queries
):
    root, _grow = long_thread
    expected = {
        owner: PAGE,  # no answer of theirs: no revisions; no reviewer actions
        colleague: PAGE + REVISIONS,  # their own answers' revisions
        reviewer: PAGE + REVISIONS + REVIEWER_ACTIONS,
    }
    for person, count in expected.items():
        client = Client()
        client.force_login(person)
        with django_assert_num_queries(count):
            page = client.get(f"/queries/{root}/")
        assert page.status_code == 200
        html = page.content.decode()
        # What the statements were for is on the page.
        for shown in (
            "Follow-up 1 about my refund",  # a follow-up
            "Answer 1: refunds take five days.",  # the published answer, in the thread
            "The customer rated it 4 of 5",  # its rating
            "Note 1 for @",  # a note
            "mentions Colin Colleague",  # and whom it mentions
            "Over to you 1",  # the hand-off
            "Refunds take five working days",  # the approved message suggested
            "Refund for a kettle?",  # the similar answered query
            "Kettle refunds take five days.",  # and its answer
        ):
            assert shown in html, (person.name, shown)
        sees_revisions = "Use the approved wording 1." in html
        assert sees_revisions == (person != owner), person.name


def test_the_query_page_costs_the_same_however_long_its_thread(long_thread, owner, colleague, reviewer):
    root, grow = long_thread
    short = {person.pk: _statements(person, root)[0] for person in (owner, colleague, reviewer)}
    for _ in range(3):
        grow()
    for person in (owner, colleague, reviewer):
        count, html = _statements(person, root)
        assert count == short[person.pk], (person.name, short[person.pk], count)
        for shown in ("Follow-up 4 about my refund", "Note 4 for @", "Over to you 4"):
            assert shown in html, (person.name, shown)
        assert html.count("The customer rated it 4 of 5") == 4  # every published answer, with its rating


def _page_shape(page: Any) -> dict[str, Any]:
    query = page.query
    draft = page.saved_draft
    return {
        "row": {f.attname: getattr(query, f.attname) for f in Query._meta.concrete_fields},
        "names": [
            getattr(getattr(query, name), "name", None) for name in ("channel", "department", "claimed_by", "closed_by")
        ],
        "topics": [(t.pk, t.slug, t.name) for t in page.topics],
        "draft": (draft.pk, draft.body, draft.message_ids) if draft else None,
        "flags": (page.has_followups, page.has_notes, page.has_handoffs),
    }


def test_the_pages_one_statement_reads_what_the_orm_reads(
    long_thread, make_query, owner, colleague, reviewer, outsider, department, approved_message
):
    """The query page's fixed statement (PostgreSQL) and its ORM form (other databases) agree,
    for every reader, including who may not see the query at all."""
    root, _grow = long_thread
    services.query_claim(user=owner, query_id=root)
    services.query_draft_save(user=owner, query_id=root, body="Half written", message_ids=[approved_message.pk])
    closed = make_query("Spam spam", department=department)
    services.query_close(user=reviewer, query_id=closed.pk, reason="spam")
    bare = make_query("Nothing else here")  # unrouted, no topics, one message
    for query_id in (root, closed.pk, bare.pk):
        for person in (owner, colleague, reviewer, outsider):
            if person == outsider and query_id != bare.pk:
                for read in (selectors._query_page_statement, selectors._query_page_orm):
                    with pytest.raises(Http404):
                        read(user=person, id=query_id)
                continue
            fixed = _page_shape(selectors._query_page_statement(user=person, id=query_id))
            orm = _page_shape(selectors._query_page_orm(user=person, id=query_id))
            assert fixed == orm, (query_id, person.name)
    owners = _page_shape(selectors._query_page_statement(user=owner, id=root))
    assert owners["draft"][1:] == ("Half written", [approved_message.pk])
    assert owners["flags"] == (True, True, True)
    assert owners["names"][2] == owner.name
    assert _page_shape(selectors._query_page_statement(user=colleague, id=root))["draft"] is None
    assert _page_shape(selectors._query_page_statement(user=owner, id=closed.pk))["names"][3] == reviewer.name
    assert _page_shape(selectors._query_page_statement(user=owner, id=bare.pk))["flags"] == (False, False, False)


def _similar_shape(found: list[Any]) -> list[Any]:
    return [
        (q.pk, q.text, [(a.pk, a.body_html, a.published_at, a.author.name) for a in q.published_answers]) for q in found
    ]


def test_the_similar_answered_statement_reads_what_the_orm_reads(
    long_thread, make_query, responder, owner, outsider, reviewer, department, other_department, refund_topic
):
    """By topic, by department, or neither, for readers who see all, their department's or
    only unrouted queries: the same queries, texts and published answers, in the same order."""
    root, _grow = long_thread
    elsewhere = UserFactory(department=other_department, name="Elsa Elsewhere")
    certify_responder(elsewhere)
    cases = [(department, True, responder), (department, False, responder), (other_department, True, elsewhere),
             (None, True, responder), (None, False, responder)]  # fmt: skip
    for n, (where, topical, author) in enumerate(cases):
        query = make_query(f"Answered {n}", department=where)
        if topical:
            query.topics.add(refund_topic)
        services.query_claim(user=author, query_id=query.pk)
        services.answer_submit(user=author, query_id=query.pk, body=f"About {n}")
    untopical = make_query("No topic here", department=department)
    unrouted = make_query("Nowhere yet")
    for query_id in (root, untopical.pk, unrouted.pk):
        query = Query.objects.get(pk=query_id)
        for person in (owner, outsider, reviewer):
            fixed = _similar_shape(selectors._similar_statement(user=person, query=query, limit=5, topics=None))
            orm = _similar_shape(selectors._similar_orm(user=person, query=query, limit=5, topics=None))
            assert fixed == orm, (query.text, person.name)

    def texts(person: User, query_id: int) -> list[str]:
        found = selectors._similar_statement(user=person, query=Query.objects.get(pk=query_id), limit=5, topics=None)
        return [q.text for q in found]

    assert texts(owner, root) == ["Answered 3", "Answered 0", "Refund for a kettle?"]
    assert texts(outsider, unrouted.pk) == ["Answered 4", "Answered 3", "Answered 2"]  # any answered they see
    assert texts(reviewer, root) == ["Answered 3", "Answered 2", "Answered 0", "Refund for a kettle?"]
    assert texts(owner, untopical.pk)[:2] == ["Answered 1", "Answered 0"]  # no topic: its department's
    kettle = selectors._similar_statement(user=owner, query=Query.objects.get(pk=root), limit=5, topics=None)[-1]
    assert [(a.author.name, a.body_html) for a in kettle.published_answers] == [
        ("Rory Responder", "<p>Kettle refunds take five days.</p>\n")
    ]
