"""In a real browser: a curator writes and submits a message, a reviewer approves it, and an
employee finds it by search and shares it in one click (link made and text copied)."""

from __future__ import annotations

import re

import pytest

from accounts.models import RoleName
from content.models import Message, Share, Status
from tests.browser.conftest import browser_page, chromium, live_server, sign_in  # noqa: F401 (fixtures)
from tests.factories import DepartmentFactory, TopicFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_out(page):
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()


def test_write_submit_approve_find_and_share(browser_page, live_server, sign_in):  # noqa: F811
    marketing = DepartmentFactory(slug="marketing", name="Marketing", kind="marketing")
    support = DepartmentFactory(slug="support", name="Customer Support")
    TopicFactory(slug="refunds", name="Refunds", department=support)
    curator = UserFactory(department=marketing, name="Cora Curator", roles=[RoleName.CURATOR])
    reviewer = UserFactory(department=marketing, name="Rita Reviewer", roles=[RoleName.REVIEWER])
    employee = UserFactory(department=support, name="Ed Employee")
    page = browser_page

    # The curator writes, previews and submits.
    sign_in(page, live_server, curator)
    page.goto(f"{live_server.url}/messages/new/")
    page.get_by_label("Title").fill("Refunds reach your card in five days")
    page.get_by_label("Body").fill("Every **refund** reaches your card within five working days.")
    page.get_by_label("Short post").fill("Refunds reach your card in 5 working days.")
    page.get_by_role("button", name="Preview").click()
    page.locator("#preview strong", has_text="refund").wait_for()
    page.get_by_label("Refunds").check()
    page.get_by_label("Customer Support").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save and submit for review").click()
    message = Message.objects.get(title="Refunds reach your card in five days")
    assert message.status == Status.IN_REVIEW
    assert page.get_by_text("In review").first.is_visible()
    sign_out(page)

    # The reviewer finds it in the queue and approves the revision they saw.
    sign_in(page, live_server, reviewer)
    page.goto(f"{live_server.url}/review/")
    with page.expect_navigation():
        page.get_by_role("link", name="Refunds reach your card in five days").click()
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile(r"^Approve revision 1$")).click()
    message.refresh_from_db()
    assert message.status == Status.PUBLISHED
    assert message.approved_by == reviewer
    sign_out(page)

    # The employee searches (live, with htmx) and shares to LinkedIn in one click.
    sign_in(page, live_server, employee)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page.goto(f"{live_server.url}/messages/")
    page.get_by_label("Search approved messaging").fill("how long until my refund arrives on my card")
    page.locator("#message-results", has_text="best first").wait_for()  # the search answered, no reload
    page.wait_for_function("() => window.location.search.includes('q=how')")  # the search is in the address
    card = page.locator(f"#message-{message.pk}")
    card.get_by_role("button", name="LinkedIn").click()
    link = page.locator(f"#share-result-{message.pk} [data-testid=share-url]")
    link.wait_for()
    share = Share.objects.get(message=message, user=employee)
    assert share.channel == "linkedin"
    assert link.inner_text().endswith(f"/s/{share.code}")
    copied = page.locator(f"#share-result-{message.pk} .share-result__copied")
    copied.wait_for()
    clipboard = page.evaluate("navigator.clipboard.readText()")
    assert clipboard.endswith(f"/s/{share.code}")
    assert clipboard.startswith("Refunds reach your card in 5 working days.")  # the post for the channel

    # A visitor following the link lands on the message and is counted; a headless browser,
    # which says what it is in its user agent, is not.
    for agent in (None, "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0"):
        visitor = page.context.browser.new_context(**({"user_agent": agent} if agent else {}))
        try:
            landing = visitor.new_page()
            landing.goto(f"{live_server.url}/s/{share.code}")
            assert landing.get_by_role("heading", name="Refunds reach your card in five days").is_visible()
        finally:
            visitor.close()
        share.refresh_from_db()
        assert share.click_count == (0 if agent is None else 1)


def test_a_double_click_on_share_makes_one_share(browser_page, live_server, sign_in):  # noqa: F811
    from tests.content.conftest import publish

    marketing = DepartmentFactory(slug="marketing", name="Marketing")
    author = UserFactory(department=marketing, roles=[RoleName.CURATOR])
    reviewer = UserFactory(department=marketing, roles=[RoleName.REVIEWER])
    employee = UserFactory(department=marketing)
    message = publish(author, reviewer)
    page = browser_page
    sign_in(page, live_server, employee)
    page.goto(f"{live_server.url}/messages/{message.pk}/")
    page.locator("[data-testid=share-x]").first.dblclick()
    page.locator(f"#share-result-{message.pk} [data-testid=share-url]").wait_for()
    page.wait_for_load_state("networkidle")
    share = Share.objects.get(message=message, user=employee)  # one, not two
    assert page.locator(f"#share-result-{message.pk} [data-testid=share-url]").inner_text().endswith(f"/s/{share.code}")


def test_the_reviewer_sees_what_changed_in_a_revision(browser_page, live_server, sign_in):  # noqa: F811
    from content import services
    from tests.content.conftest import publish

    marketing = DepartmentFactory(slug="marketing", name="Marketing")
    author = UserFactory(department=marketing, roles=[RoleName.CURATOR])
    reviewer = UserFactory(department=marketing, roles=[RoleName.REVIEWER])
    message = publish(author, reviewer, title="Refunds take five days", body="We refund every order in five days.")
    services.message_update(
        user=author,
        message_id=message.pk,
        fields={"title": "Refunds take three days", "body": "We refund every order in three days."},
    )
    page = browser_page
    sign_in(page, live_server, reviewer)
    page.goto(f"{live_server.url}/messages/{message.pk}/")
    diff = page.get_by_test_id("revision-diff")
    assert diff.get_by_role("heading").inner_text() == "What changed: revision 1 → 2"
    assert "five" in diff.locator("dl.diff del.diff__removed").first.inner_text()
    assert "three" in diff.locator("dl.diff ins.diff__added").first.inner_text()
    # Removed text is struck through and readable (the colours come from the theme's tokens).
    style = diff.locator("dl.diff del.diff__removed").first.evaluate("e => getComputedStyle(e).textDecorationLine")
    assert "line-through" in style
    assert page.get_by_role("button", name="Approve revision 2").is_visible()
