"""The queue's search and filters (``engage.queue_search``), through the page: full-text on
PostgreSQL (stemmed, every word), a plain match elsewhere; channel, priority, overdue and
"mine"; the URL keeps them (next page, live feed); statements constant in page size."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from engage import services
from engage.models import Query

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def queue_ids(response) -> list[int]:  # type: ignore[no-untyped-def]
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
