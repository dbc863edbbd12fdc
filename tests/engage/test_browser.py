"""In a real browser: two employees open the same queue; one claims a query and it leaves
the other's page without a reload; the claimer answers with a suggested approved message;
a reviewer approves it from the review queue; the answer is delivered (the local adapter)
and the query page says so."""

from __future__ import annotations

import re

import pytest

from accounts.models import RoleName
from engage import services
from engage.models import Answer, AnswerStatus, Delivery, DeliveryStatus, Query, QueryState
from tests.browser.conftest import browser_page, chromium, live_server, sign_in  # noqa: F401 (fixtures)
from tests.browser.helpers import watched_page
from tests.engage.conftest import REFUNDS_MESSAGE, make_approved_message
from tests.factories import DepartmentFactory, TopicFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_out(page):
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()


@pytest.fixture
def second_page(chromium):  # noqa: F811
    """Another person's browser: its own context (cookies), its console watched too."""
    yield from watched_page(chromium, who="the second browser", viewport={"width": 390, "height": 844})  # a phone


def test_claimed_query_leaves_the_other_queue_then_answered_reviewed_delivered(
    browser_page,  # noqa: F811
    second_page,
    live_server,  # noqa: F811
    sign_in,  # noqa: F811
):
    support = DepartmentFactory(slug="support", name="Customer Support")
    TopicFactory(slug="refunds", name="Refunds", keywords=["refund"], department=support)
    ana = UserFactory(department=support, name="Ana Answerer")
    ben = UserFactory(department=support, name="Ben Colleague")
    rita = UserFactory(department=support, name="Rita Reviewer", roles=[RoleName.REVIEWER])
    message = make_approved_message(**REFUNDS_MESSAGE | {"link_url": ""})
    channel, _secret = services.channel_create(slug="forum", name="Community forum", kind="forum")
    ids = []
    for n, text in enumerate(["How long does a refund take to reach my card?", "Do you ship to Iceland?"]):
        query_id, _ = services.query_receive(
            channel=channel, inbound=services.Inbound(external_id=f"t-{n}", text=text, author_handle=f"@c{n}")
        )
        Query.objects.filter(pk=query_id).update(department=support)
        ids.append(query_id)
    refund_query, other_query = ids

    # Both open the queue.
    ana_page, ben_page = browser_page, second_page
    sign_in(ana_page, live_server, ana)
    sign_in(ben_page, live_server, ben)
    for page in (ana_page, ben_page):
        page.goto(f"{live_server.url}/queries/")
        page.locator(f"#q-{refund_query}").wait_for()
    ben_page.evaluate("window.__notReloaded = true")

    # Ana claims; the query leaves Ben's page by itself, the other one stays.
    with ana_page.expect_navigation():
        ana_page.get_by_role("button", name=f"Claim query {refund_query}").click()
    assert ana_page.url.endswith(f"/queries/{refund_query}/#answer")
    ben_page.locator(f"#q-{refund_query}").wait_for(state="detached", timeout=12_000)
    assert ben_page.evaluate("window.__notReloaded") is True
    assert ben_page.locator(f"#q-{other_query}").is_visible()
    assert ben_page.locator("#queue-announce").inner_text().startswith("A query left this list")

    # Ana answers with the suggested approved message.
    suggestion = ana_page.locator(f"#suggestion-{message.pk}")
    suggestion.get_by_role("button", name="Use the full message").click()
    body = ana_page.get_by_label(re.compile("^Your answer"))
    assert "Every **refund** reaches your card within five working days." in body.input_value()
    assert ana_page.locator("#used-messages-list").inner_text().strip() == "Refunds take five working days"
    body.press("Control+Home")
    body.press_sequentially("Hello! ")
    ana_page.get_by_role("button", name="Preview").click()
    ana_page.locator("#answer-preview strong", has_text="refund").wait_for()
    with ana_page.expect_navigation():
        ana_page.get_by_role("button", name="Send for review").click()
    answer = Answer.objects.get(query_id=refund_query)
    assert answer.status == AnswerStatus.PENDING_REVIEW
    assert answer.body.startswith("Hello! Every **refund**")
    assert list(answer.messages.values_list("pk", flat=True)) == [message.pk]
    assert ana_page.get_by_text("Sent for review").is_visible()
    sign_out(ana_page)

    # Rita approves it from the review queue.
    sign_in(ana_page, live_server, rita)
    ana_page.goto(f"{live_server.url}/review/")
    item = ana_page.locator(f"#review-answer-{answer.pk}")
    assert item.locator("strong", has_text="refund").is_visible()
    with ana_page.expect_navigation():
        item.get_by_role("button", name=re.compile("^Approve and publish")).click()
    answer.refresh_from_db()
    assert answer.status == AnswerStatus.PUBLISHED
    assert answer.reviewed_by == rita
    assert Query.objects.get(pk=refund_query).state == QueryState.ANSWERED

    # Delivered back to the channel (the local adapter records it), and the page says so.
    delivery = Delivery.objects.get(answer=answer)
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.target == "local"
    ana_page.goto(f"{live_server.url}/queries/{refund_query}/")
    shown = ana_page.locator("[data-testid=delivery]")
    assert shown.inner_text().startswith("Delivered to Community forum (local adapter)")
    assert ana_page.locator("#published-answer strong", has_text="refund").is_visible()
