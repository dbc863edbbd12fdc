"""In a real browser, two employees on the same queue: the live queue both ways.

Ana claims a query and it leaves Ben's page; she releases it and it comes back; a customer
writes through the signed webhook and the new query appears — each within 5 seconds,
without a reload, and Ben's focus stays on the row he was on (unchanged rows are the very
same elements, never re-rendered)."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest

from engage import services, signing
from engage.models import Query
from tests.browser.conftest import browser_page, chromium, live_server, sign_in  # noqa: F401 (fixtures)
from tests.browser.helpers import watched_page
from tests.factories import DepartmentFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WITHIN_MS = 5_000


@pytest.fixture
def second_page(chromium):  # noqa: F811
    yield from watched_page(chromium, who="the second browser", viewport={"width": 1280, "height": 900})


def post_webhook(base_url: str, slug: str, secret: str, body: dict) -> int:
    raw = json.dumps(body).encode()
    stamp = str(int(time.time()))
    request = urllib.request.Request(
        f"{base_url}/api/v1/channels/{slug}/webhook/",
        data=raw,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Engage-Timestamp": stamp,
            "X-Engage-Signature": f"v1={signing.signature(secret, stamp, raw)}",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(response.status)


def test_claimed_released_and_new_queries_show_live_for_the_other_person(
    browser_page,  # noqa: F811
    second_page,
    live_server,  # noqa: F811
    sign_in,  # noqa: F811
):
    support = DepartmentFactory(slug="support", name="Customer Support")
    ana = UserFactory(department=support, name="Ana Answerer")
    ben = UserFactory(department=support, name="Ben Colleague")
    channel, secret = services.channel_create(slug="forum", name="Community forum", kind="forum")
    ids = []
    for n, text in enumerate(["Where is my parcel?", "Can I change my address?", "Do you ship abroad?"]):
        query_id, _ = services.query_receive(
            channel=channel, inbound=services.Inbound(external_id=f"t-{n}", text=text, author_handle=f"@c{n}")
        )
        Query.objects.filter(pk=query_id).update(department=support)
        ids.append(query_id)
    claimed, kept, last = ids

    ana_page, ben_page = browser_page, second_page
    sign_in(ana_page, live_server, ana)
    sign_in(ben_page, live_server, ben)
    for page in (ana_page, ben_page):
        page.goto(f"{live_server.url}/queries/")
        page.locator(f"#q-{claimed}").wait_for()
    # Ben is working down the list: his focus is on the second row. Mark the page and the
    # rows so a reload or a re-render would show.
    ben_page.evaluate("window.__notReloaded = true")
    ben_page.evaluate(f"document.getElementById('q-{kept}').__same = true")
    ben_page.evaluate(f"document.getElementById('q-{last}').__same = true")
    ben_page.locator(f"#q-{kept} a.qrow__text").focus()

    def ben_still_in_place() -> None:
        assert ben_page.evaluate("window.__notReloaded") is True
        assert ben_page.evaluate(f"document.getElementById('q-{kept}').__same") is True
        assert ben_page.evaluate(f"document.getElementById('q-{last}').__same") is True
        assert ben_page.evaluate("document.activeElement.closest('li').id") == f"q-{kept}"

    # Ana claims: the row leaves Ben's page.
    with ana_page.expect_navigation():
        ana_page.get_by_role("button", name=f"Claim query {claimed}").click()
    started = time.monotonic()
    ben_page.locator(f"#q-{claimed}").wait_for(state="detached", timeout=WITHIN_MS)
    claimed_gone = time.monotonic() - started
    ben_still_in_place()
    assert ben_page.locator("#queue-announce").inner_text() == "A query left this list: someone claimed or finished it."

    # Ana releases it: it comes back in its place, first (earliest due).
    with ana_page.expect_navigation():
        ana_page.get_by_role("button", name="Release").click()
    started = time.monotonic()
    ben_page.locator(f"#q-{claimed}").wait_for(timeout=WITHIN_MS)
    released_back = time.monotonic() - started
    assert ben_page.evaluate("[...document.querySelectorAll('#queue-list > li')].map(li => li.id)") == [
        f"q-{claimed}",
        f"q-{kept}",
        f"q-{last}",
    ]
    ben_still_in_place()
    assert ben_page.locator("#queue-announce").inner_text() == "A query joined this list."

    # A customer writes: the new query appears at the end (due last).
    assert post_webhook(live_server.url, "forum", secret, {
        "external_id": "new-1", "text": "My order arrived broken", "author": {"handle": "@new"},
    }) == 201  # fmt: skip
    new_id = Query.objects.get(external_id="new-1").pk
    Query.objects.filter(pk=new_id).update(department=support)  # routed to Ben's department
    started = time.monotonic()
    ben_page.locator(f"#q-{new_id}").wait_for(timeout=WITHIN_MS)
    new_shown = time.monotonic() - started
    assert "My order arrived broken" in ben_page.locator(f"#q-{new_id}").inner_text()
    ben_still_in_place()

    # The new row works like any other: Ben claims it from there.
    with ben_page.expect_navigation():
        ben_page.get_by_role("button", name=f"Claim query {new_id}").click()
    assert ben_page.url.endswith(f"/queries/{new_id}/#answer")
    print(f"live queue: claimed gone {claimed_gone:.1f}s, released back {released_back:.1f}s, new {new_shown:.1f}s")


def test_the_empty_queue_fills_when_a_customer_writes(browser_page, live_server, sign_in):  # noqa: F811
    support = DepartmentFactory(slug="support", name="Customer Support")
    ben = UserFactory(department=support)
    channel, _secret = services.channel_create(slug="forum", name="Community forum", kind="forum")
    sign_in(browser_page, live_server, ben)
    browser_page.goto(f"{live_server.url}/queries/")
    assert browser_page.get_by_text("New ones appear here as customers write").is_visible()
    query_id, _ = services.query_receive(
        channel=channel, inbound=services.Inbound(external_id="e-1", text="Hello?", author_handle="@c")
    )
    browser_page.locator(f"#q-{query_id}").wait_for(timeout=WITHIN_MS)
    assert not browser_page.get_by_text("New ones appear here as customers write").is_visible()
