"""The queue's search and filters (``engage.queue_search``), through the page: full-text on
PostgreSQL (stemmed, every word), a plain match elsewhere; channel, priority, overdue and
"mine"; the URL keeps them (next page, live feed); statements constant in page size."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from engage import queue_search, services, threads
from engage.models import Query
from tests.engage.conftest import payload

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def queue_ids(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'<li id="q-(\d+)"', response.content.decode())]


def test_search_finds_every_word_stemmed_and_keeps_the_other_filters(owner, make_query, department):
    refund = make_query("I was promised refunds for the broken chairs", department=department)
    card = make_query("My card was charged twice for one refund", department=department)
    make_query("Where is my parcel?", department=department)
    client = client_for(owner)
    assert set(queue_ids(client.get("/queries/", {"q": "refund"}))) == {refund.pk, card.pk}
    assert queue_ids(client.get("/queries/", {"q": "refund card"})) == [card.pk]  # every word
    assert queue_ids(client.get("/queries/", {"q": "REFUND   chairs"})) == [refund.pk]
    if connection.vendor == "postgresql":
        assert queue_ids(client.get("/queries/", {"q": "charging"})) == [card.pk]  # stemmed
    assert queue_ids(client.get("/queries/", {"q": "helicopter"})) == []
    # Words only of the stop list search nothing: the whole queue shows.
    assert len(queue_ids(client.get("/queries/", {"q": "the of"}))) == 3
    # The search applies on top of the status: claimed ones are not in the open queue.
    services.query_claim(user=owner, query_id=card.pk)
    assert queue_ids(client.get("/queries/", {"q": "refund"})) == [refund.pk]
    assert queue_ids(client.get("/queries/", {"q": "refund", "mine": "1", "status": ""})) == [card.pk]
    page = client.get("/queries/", {"q": "refund"}).content.decode()
    assert 'value="refund"' in page


def test_filters_by_channel_priority_and_overdue(owner, make_query, department):
    other, _secret = services.channel_create(slug="mail", name="Support mail", kind="email")
    normal = make_query("normal question", department=department)
    urgent = make_query("urgent question", department=department, priority="urgent")
    by_mail, _ = services.query_receive(
        channel=other, inbound=services.Inbound(external_id="m-1", text="by mail", author_handle="@m")
    )
    late = make_query("late question", department=department)
    Query.objects.filter(pk=late.pk).update(sla_due_at=timezone.now() - timedelta(hours=1))
    client = client_for(owner)
    assert queue_ids(client.get("/queries/", {"channel": "mail"})) == [by_mail]
    assert queue_ids(client.get("/queries/", {"priority": "urgent"})) == [urgent.pk]
    assert set(queue_ids(client.get("/queries/", {"priority": "bogus"}))) == {normal.pk, urgent.pk, by_mail, late.pk}
    assert queue_ids(client.get("/queries/", {"overdue": "1"})) == [late.pk]
    assert queue_ids(client.get("/queries/", {"overdue": "1", "priority": "urgent"})) == []
    html = client.get("/queries/", {"channel": "mail", "priority": "urgent", "overdue": "1"}).content.decode()
    assert '<option value="mail" selected>' in html
    assert '<option value="urgent" selected>' in html
    assert 'name="overdue" value="1" checked' in html
    # The live feed polls the same filters.
    feed = unescape(re.search(r'data-feed-url="([^"]*)"', html).group(1))
    assert "channel=mail" in feed
    assert "priority=urgent" in feed
    assert "overdue=1" in feed
    assert client.get("/queries/live/", {"overdue": "1"}).json()["rows"][0][0] == late.pk


def test_the_next_page_keeps_search_and_filters_and_statements_stay_constant(
    owner, make_query, department, django_assert_max_num_queries
):
    client = client_for(owner)
    for n in range(3):
        make_query(f"refund question {n}", department=department, priority="high")
    params = {"q": "refund", "priority": "high", "overdue": ""}
    with django_assert_max_num_queries(20) as few:
        client.get("/queries/", params)
    for n in range(3, 56):
        make_query(f"refund question {n}", department=department, priority="high")
    make_query("refund but low", department=department, priority="low")
    with django_assert_max_num_queries(len(few.captured_queries)):
        first = client.get("/queries/", params)
    assert len(queue_ids(first)) == 50
    next_url = unescape(re.search(r'href="([^"]+cursor=[^"]+)" rel="next"', first.content.decode()).group(1))
    assert "q=refund" in next_url
    assert "priority=high" in next_url
    assert len(queue_ids(client.get(next_url))) == 6


def test_search_covers_every_customer_message_of_the_thread_not_answers_or_notes(
    owner, responder, api, make_query, post_webhook, department
):  # type: ignore[no-untyped-def]
    parcel = make_query("Where is my parcel?", department=department, external_id="root-s")
    follow_up = post_webhook(payload("reply-s", text="It came broken, I want a refund", thread_id="root-s"))
    assert follow_up.json()["id"] == parcel.pk
    refund = make_query("A refund please", department=department)
    kettle = make_query("My kettle leaks", department=department)
    services.query_claim(user=responder, query_id=kettle.pk)
    answered = api(responder).post(
        f"/api/v1/queries/{kettle.pk}/answers/", {"body": "We will send a zebra-striped replacement."}, format="json"
    )
    assert answered.status_code == 201, answered.content
    threads.note_add(user=owner, query_id=refund.pk, body="Warehouse says the lighthouse batch is late.")
    client = client_for(owner)
    assert set(queue_ids(client.get("/queries/", {"q": "refund"}))) == {parcel.pk, refund.pk}  # a follow-up's word
    assert queue_ids(client.get("/queries/", {"q": "parcel broken"})) == [parcel.pk]  # words from two messages
    assert queue_ids(client.get("/queries/", {"q": "refund parcel"})) == [parcel.pk]
    assert queue_ids(client.get("/queries/", {"q": "kettle", "status": ""})) == [kettle.pk]
    assert queue_ids(client.get("/queries/", {"q": "zebra", "status": ""})) == []  # an answer's words: not searched
    assert queue_ids(client.get("/queries/", {"q": "lighthouse", "status": ""})) == []  # a note's: not searched
    if connection.vendor == "postgresql":
        assert set(queue_ids(client.get("/queries/", {"q": "refunded"}))) == {parcel.pk, refund.pk}  # stemmed
        # A word the dictionary drops ("before" is not on the shared stop list) is left out, not matched.
        assert set(queue_ids(client.get("/queries/", {"q": "refund before"}))) == {parcel.pk, refund.pk}
    # The live feed searches the same way.
    assert [row[0] for row in client.get("/queries/live/", {"q": "broken"}).json()["rows"]] == [parcel.pk]


@pytest.mark.postgres
def test_the_search_reads_the_message_tables_gin_index_and_the_query_row_carries_none(owner, make_query, department):
    make_query("A refund please", department=department)
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'engage_customermessage'")
        indexes = dict(cursor.fetchall())
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'engage_query' AND indexdef ILIKE '%gin%'")
        assert cursor.fetchall() == []  # a claim rewrites the query's row: no text index to redo there
    assert "gin" in indexes["custmsg_text_search_idx"].lower()
    queries = queue_search.narrow(Query.objects.all(), text="refund", now=timezone.now())
    sql, params = queries.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "custmsg_text_search_idx" in plan
