"""In a real browser: "use this message" inserts exactly the text the card shows. A message
with a short post and a full text shows both, each with the button that inserts it; axe-core
finds nothing on that page."""

from __future__ import annotations

import pytest

from engage import services
from engage.models import Query
from tests.browser.conftest import browser_page, chromium, live_server, sign_in  # noqa: F401 (fixtures)
from tests.engage.conftest import make_approved_message
from tests.engage.test_browser_keyboard import assert_no_axe_violation
from tests.factories import DepartmentFactory, TopicFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_inserted_text_is_the_text_on_the_card(browser_page, live_server, sign_in):  # noqa: F811
    support = DepartmentFactory(slug="support", name="Customer Support")
    TopicFactory(slug="outages", name="Outages", keywords=["down"], department=support)
    ana = UserFactory(department=support)
    message = make_approved_message(
        title="When something is down",
        body="Acknowledge it and point to the status page. Never guess at causes in public.",
        short_text="Some of you can't reach us right now: the status page is down.",
        link_url="https://status.example.com",
    )
    channel, _secret = services.channel_create(slug="forum", name="Community forum", kind="forum")
    query_id, _ = services.query_receive(
        channel=channel, inbound=services.Inbound(external_id="u-1", text="Status page broken?", author_handle="@c")
    )
    Query.objects.filter(pk=query_id).update(department=support)
    page = browser_page
    sign_in(page, live_server, ana)
    page.goto(f"{live_server.url}/queries/{query_id}/")
    with page.expect_navigation():
        page.get_by_role("button", name="Claim to answer").click()
    card = page.locator(f"#suggestion-{message.pk}")
    shown_short = card.locator(f"#suggestion-{message.pk}-short").inner_text()
    shown_full = card.locator(f"#suggestion-{message.pk}-body").inner_text()
    assert shown_short == "Some of you can't reach us right now: the status page is down.\n\nhttps://status.example.com"
    assert "Never guess at causes in public." in shown_full
    assert card.get_by_text("Short post", exact=True).is_visible()
    assert card.get_by_text("Full message", exact=True).is_visible()

    card.get_by_role("button", name="Use the short post").click()
    body = page.locator("#id_body")
    assert body.input_value() == shown_short  # exactly the card's text, nothing of the staff guidance
    assert "Never guess" not in body.input_value()
    assert_no_axe_violation(page, "query page with both versions of a message")
