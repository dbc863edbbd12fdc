"""In a real browser, a conversation between a customer and two employees (issue 13).

Ana answered a customer; the customer writes again on the same thread (the signed webhook's
``in_reply_to``), and the re-opened query appears live in Ben's queue within 5 seconds,
without a reload. Ben opens it, sees the follow-up in the conversation, and leaves an internal
note mentioning Ana; Ana is told (her notifications link to the note), and the note is on the
thread for both of them.
"""

from __future__ import annotations

import time

import pytest

from engage import services
from engage.models import Query, QueryState
from tests.browser.conftest import browser_page, chromium, live_server, sign_in  # noqa: F401 (fixtures)
from tests.engage.conftest import certify_responder
from tests.engage.test_browser_live_queue import WITHIN_MS, post_webhook, second_page  # noqa: F401 (fixture)
from tests.factories import DepartmentFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_follow_up_reappears_live_and_a_note_mentions_a_colleague(
    browser_page,  # noqa: F811
    second_page,  # noqa: F811
    live_server,  # noqa: F811
    sign_in,  # noqa: F811
):
    support = DepartmentFactory(slug="support", name="Customer Support")
    ana = UserFactory(department=support, name="Ana Answerer", email="ana@example.com")
    ben = UserFactory(department=support, name="Ben Colleague", email="ben@example.com")
    certify_responder(ana)
    channel, secret = services.channel_create(slug="forum", name="Community forum", kind="forum")
    query_id, _ = services.query_receive(
        channel=channel,
        inbound=services.Inbound(external_id="conv-1", text="Where is my parcel?", author_handle="@carol"),
    )
    Query.objects.filter(pk=query_id).update(department=support)
    services.query_claim(user=ana, query_id=query_id)
    services.answer_submit(user=ana, query_id=query_id, body="It left our warehouse this morning.")
    assert Query.objects.get(pk=query_id).state == QueryState.ANSWERED

    ana_page, ben_page = browser_page, second_page
    sign_in(ana_page, live_server, ana)
    sign_in(ben_page, live_server, ben)
    ben_page.goto(f"{live_server.url}/queries/?status=open")
    ben_page.evaluate("window.__notReloaded = true")
    assert ben_page.locator(f"#q-{query_id}").count() == 0  # answered: not in the open queue

    # The customer writes again on the same thread.
    status = post_webhook(
        live_server.url,
        "forum",
        secret,
        {
            "external_id": "conv-2",
            "in_reply_to": "conv-1",
            "text": "It has not arrived yet, can you check again?",
            "author": {"handle": "@carol", "name": "Carol"},
        },
    )
    assert status in (200, 201)
    started = time.monotonic()
    ben_page.locator(f"#q-{query_id}").wait_for(timeout=WITHIN_MS)
    assert (time.monotonic() - started) * 1000 < WITHIN_MS
    assert ben_page.evaluate("window.__notReloaded") is True
    assert Query.objects.get(pk=query_id).state == QueryState.OPEN

    # Ben opens it: the conversation holds the answer and the follow-up, in order.
    ben_page.goto(f"{live_server.url}/queries/{query_id}/")
    thread = ben_page.locator("#thread")
    answer = thread.get_by_test_id("thread-answer")
    follow_up = thread.get_by_test_id("thread-message")
    assert "It left our warehouse this morning." in answer.inner_text()
    assert "It has not arrived yet" in follow_up.inner_text()
    assert answer.bounding_box()["y"] < follow_up.bounding_box()["y"]

    # A note mentioning Ana.
    ben_page.locator("#id_note").fill("@ana you answered this one, could you look at the tracking?")
    ben_page.get_by_role("button", name="Add note").click()
    note = ben_page.get_by_test_id("thread-note")
    note.wait_for()
    assert "mentions Ana Answerer" in note.inner_text()

    # Ana is told, and the notification leads to the note on the query.
    ana_page.goto(f"{live_server.url}/notifications/")
    ana_page.locator(".note__title a", has_text="Ben Colleague mentioned you in a note").click()
    ana_page.wait_for_url(f"**/queries/{query_id}/**")
    assert "could you look at the tracking?" in ana_page.get_by_test_id("thread-note").inner_text()
