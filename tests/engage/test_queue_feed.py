"""The live queue's feed (``engage.queue_feed``), through Django's test client with real
sessions: 304 while the page is current; when it is not, the new order and the HTML of only
the rows the page lacks or shows out of date; claims, releases, lapsed claims, new queries;
the filters and visibility of the page; a constant number of statements."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from html import unescape

import pytest
from django.test import Client
from django.utils import timezone

from engage import services
from engage.models import Query
from tests.factories import DepartmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_feed_cache(settings) -> None:
    """Every poll reads the database here; the cached fast path has its own tests below."""
    settings.ENGAGE_QUEUE_FEED_CACHE_SECONDS = 0


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page_state(client: Client, url: str = "/queries/") -> tuple[str, list[str]]:
    """What the queue page shows: its ETag and its rows as ``id.signature``."""
    html = client.get(url).content.decode()
    etag = re.search(r'data-etag="([^"]*)"', html).group(1).replace("&quot;", '"')
    rows = re.findall(r'<li id="q-(\d+)" class="[^"]*" data-sig="([0-9a-f]{8})"', html)
    return etag, [f"{pk}.{sig}" for pk, sig in rows]


def feed(client: Client, etag: str, have: list[str], **filters: str):
    return client.get("/queries/live/", {**filters, "have": have}, headers={"If-None-Match": etag})


def test_unchanged_page_is_304_then_a_claim_a_release_and_a_new_query_show(owner, colleague, make_query, department):
    first = make_query("first question", department=department)
    second = make_query("second question", department=department)
    client = client_for(owner)
    etag, have = page_state(client)
    assert [row.split(".")[0] for row in have] == [str(first.pk), str(second.pk)]

    response = feed(client, etag, have)
    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == etag
    assert "no-cache" in response["Cache-Control"]

    # A colleague claims the first: it leaves the open queue; the second is not sent again.
    services.query_claim(user=colleague, query_id=first.pk)
    response = feed(client, etag, have)
    assert response.status_code == 200
    body = response.json()
    assert [pk for pk, _sig in body["rows"]] == [second.pk]
    assert body["html"] == {}
    assert body["announce"] == "A query left this list: someone claimed or finished it."
    assert response["ETag"] == body["etag"] != etag
    assert feed(client, body["etag"], [f"{pk}.{sig}" for pk, sig in body["rows"]]).status_code == 304

    # Released: it comes back, in its place (earliest due first), with its row's HTML.
    services.query_release(user=colleague, query_id=first.pk)
    have = [f"{pk}.{sig}" for pk, sig in body["rows"]]
    body = feed(client, body["etag"], have).json()
    assert [pk for pk, _sig in body["rows"]] == [first.pk, second.pk]
    assert list(body["html"]) == [str(first.pk)]
    assert f'<li id="q-{first.pk}"' in body["html"][str(first.pk)]
    assert f'aria-label="Claim query {first.pk}"' in body["html"][str(first.pk)]
    assert 'name="next" value="/queries/?status=open' in body["html"][str(first.pk)]
    assert body["announce"] == "A query joined this list."
    # The page's own signatures are the feed's: the page as rendered now is what the feed says.
    assert page_state(client) == (body["etag"], [f"{pk}.{sig}" for pk, sig in body["rows"]])

    # A new query arrives.
    third = make_query("a brand new question", department=department)
    have = [f"{pk}.{sig}" for pk, sig in body["rows"]]
    body = feed(client, body["etag"], have).json()
    assert [pk for pk, _sig in body["rows"]] == [first.pk, second.pk, third.pk]
    assert list(body["html"]) == [str(third.pk)]
    assert "a brand new question" in body["html"][str(third.pk)]


def test_a_changed_row_is_sent_again_and_a_lapsed_claim_reappears(owner, colleague, make_query, department):
    query = make_query("will be claimed", department=department)
    client = client_for(owner)
    etag, have = page_state(client, "/queries/?status=")
    services.query_claim(user=colleague, query_id=query.pk)
    body = feed(client, etag, have, status="").json()
    assert [pk for pk, _sig in body["rows"]] == [query.pk]
    assert "qstatus--claimed" in body["html"][str(query.pk)]  # the same row, now claimed, re-sent
    assert body["announce"] == ""

    # In the open queue a claim that lapses (no write at all) brings the row back.
    etag, have = page_state(client)
    assert have == []
    Query.objects.filter(pk=query.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
    body = feed(client, etag, have).json()
    assert [pk for pk, _sig in body["rows"]] == [query.pk]


def test_the_feed_keeps_the_page_filters_and_visibility(owner, make_query, department):
    elsewhere = DepartmentFactory(slug="finance", name="Finance")
    mine = make_query("ours", department=department)
    client = client_for(owner)
    etag, have = page_state(client)
    make_query("theirs", department=elsewhere)  # not visible to owner
    assert feed(client, etag, have).status_code == 304
    urgent = make_query("urgent ours", department=department, priority="urgent")
    body = feed(client, etag, have).json()
    assert {pk for pk, _sig in body["rows"]} == {mine.pk, urgent.pk}
    # A status filter the page applied is the feed's too.
    assert feed(client, '"x"', [], status="answered").json()["rows"] == []
    # Bad filters are a 400 naming the problem; junk rows are ignored.
    bad = client.get("/queries/live/", {"topic": "no-such-topic"})
    assert bad.status_code == 400
    assert "topic" in bad.content.decode()
    assert feed(client, '"x"', ["x", "-1.abcdefgh", "9" * 40 + ".00000000", "1.zz"]).status_code == 200


def test_the_feed_needs_sign_in():
    response = Client().get("/queries/live/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_feed_statements_do_not_grow_with_rows(
    owner, make_query, department, django_assert_num_queries, django_assert_max_num_queries
):
    client = client_for(owner)
    for n in range(3):
        make_query(f"question {n}", department=department)
    with django_assert_max_num_queries(10) as few:  # generous bound, read back below
        client.get("/queries/live/", headers={"If-None-Match": '"stale"'})
    changed = len(few.captured_queries)
    etag = client.get("/queries/live/")["ETag"]
    with django_assert_max_num_queries(10) as unchanged:
        assert client.get("/queries/live/", headers={"If-None-Match": etag}).status_code == 304
    not_modified = len(unchanged.captured_queries)
    for n in range(3, 60):
        make_query(f"question {n}", department=department)
    with django_assert_num_queries(changed):
        body = client.get("/queries/live/", headers={"If-None-Match": '"stale"'}).json()
    assert len(body["rows"]) == 50
    assert len(body["html"]) == 50
    etag = client.get("/queries/live/")["ETag"]
    with django_assert_num_queries(not_modified):
        assert client.get("/queries/live/", headers={"If-None-Match": etag}).status_code == 304


def page_feed(client: Client) -> tuple[str, str]:
    """The queue page's feed address (with its signed token) and ETag."""
    html = client.get("/queries/").content.decode()
    url = unescape(re.search(r'data-feed-url="([^"]*)"', html).group(1))
    return url, unescape(re.search(r'data-etag="([^"]*)"', html).group(1))


def test_most_polls_are_answered_from_the_cache_with_no_sql(
    owner, colleague, make_query, department, settings, django_assert_num_queries, django_assert_max_num_queries
):
    settings.ENGAGE_QUEUE_FEED_CACHE_SECONDS = 1.0
    query = make_query("will be claimed", department=department)
    client = client_for(owner)
    url, etag = page_feed(client)
    assert "t=" in url
    with django_assert_num_queries(0):
        response = client.get(url, headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response["ETag"] == etag

    # The token is bound to the session cookie: another person's cookie takes the full path.
    colleague_client = client_for(colleague)
    with django_assert_max_num_queries(10) as other:
        assert colleague_client.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert len(other.captured_queries) >= 3  # the session, the person, the fingerprint
    # A tampered token, or an ETag that is not the one cached, takes the full path too.
    with django_assert_max_num_queries(10) as tampered:
        client.get(url.replace("t=", "t=x"), headers={"If-None-Match": etag})
    assert tampered.captured_queries
    with django_assert_max_num_queries(10) as stale:
        assert client.get(url, headers={"If-None-Match": '"old"'}).status_code == 200
    assert stale.captured_queries

    # A change shows once the cached read is older than the cache time.
    services.query_claim(user=colleague, query_id=query.pk)
    time.sleep(1.1)
    response = client.get(url, headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert response.json()["rows"] == []


def test_the_fast_path_never_outlives_the_session(owner, make_query, department, settings):
    settings.ENGAGE_QUEUE_FEED_CACHE_SECONDS = 5.0
    make_query("anything", department=department)
    client = client_for(owner)
    url, etag = page_feed(client)
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    client.logout()
    response = client.get(url, headers={"If-None-Match": etag})
    assert response.status_code == 302
    assert "/login/" in response["Location"]
