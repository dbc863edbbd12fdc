"""In a real browser, two employees on one query page: each sees the other there within a
few seconds, and who is typing a reply; the one who leaves drops out."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from engage import services
from engage.models import Query
from tests.browser.conftest import browser_page, chromium, live_server, sign_in  # noqa: F401 (fixtures)
from tests.browser.helpers import watched_page
from tests.engage.test_browser_keyboard import assert_no_axe_violation
from tests.factories import DepartmentFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FEW_SECONDS_MS = 5_000


@pytest.fixture
def second_page(chromium):  # noqa: F811
    yield from watched_page(chromium, who="the second browser", viewport={"width": 1280, "height": 900})


def test_who_else_has_the_query_open_and_who_types(browser_page, second_page, live_server, sign_in):  # noqa: F811
    support = DepartmentFactory(slug="support", name="Customer Support")
    ana = UserFactory(department=support, name="Ana Answerer")
    ben = UserFactory(department=support, name="Ben Colleague")
    channel, _secret = services.channel_create(slug="forum", name="Community forum", kind="forum")
    query_id, _ = services.query_receive(
        channel=channel, inbound=services.Inbound(external_id="p-1", text="Where is my parcel?", author_handle="@c")
    )
    Query.objects.filter(pk=query_id).update(department=support)
    ana_page, ben_page = browser_page, second_page
    sign_in(ana_page, live_server, ana)
    sign_in(ben_page, live_server, ben)
    ana_page.goto(f"{live_server.url}/queries/{query_id}/")
    ben_page.goto(f"{live_server.url}/queries/{query_id}/")

    ana_presence, ben_presence = ana_page.locator("#presence-list"), ben_page.locator("#presence-list")
    ana_presence.get_by_text("Ben Colleague").wait_for(timeout=FEW_SECONDS_MS)
    ben_presence.get_by_text("Ana Answerer").wait_for(timeout=FEW_SECONDS_MS)
    assert "typing" not in ana_presence.inner_text()

    # Ben claims and types: Ana sees that he is writing the answer.
    with ben_page.expect_navigation():
        ben_page.get_by_role("button", name="Claim to answer").click()
    ben_page.locator("#id_body").press_sequentially("Your parcel left our warehouse")
    ana_presence.get_by_text("(typing a reply…)").wait_for(timeout=FEW_SECONDS_MS)
    assert ana_presence.inner_text().startswith("Also here: Ben Colleague (typing a reply…)")
    assert_no_axe_violation(ana_page, "query page with presence")

    # Ben stops typing: after a few seconds he is no longer "typing"; then he leaves.
    expect(ana_presence).not_to_contain_text("typing", timeout=12_000)
    assert "Ben Colleague" in ana_presence.inner_text()
    ben_page.goto(f"{live_server.url}/queries/")
    expect(ana_presence).not_to_contain_text("Ben", timeout=16_000)
