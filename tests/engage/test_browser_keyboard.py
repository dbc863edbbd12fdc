"""In a real browser, the keyboard: j/k move through the queue, / searches, ? opens the list
of shortcuts (a modal dialog, Esc closes it), c claims, and the query page opens with the
focus in the answer box and the customer's question in view; e and r reach the escalation
form and the answer box, Ctrl+Enter sends. Keys typed into a field stay text. axe-core finds
nothing on either page, with the dialog open too."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from engage import services
from engage.models import Answer, Query
from tests.browser.conftest import browser_page, chromium, live_server, sign_in  # noqa: F401 (fixtures)
from tests.engage.test_browser_axe import AXE, violations
from tests.factories import DepartmentFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def active_row(page) -> str:
    return page.evaluate("(document.activeElement.closest('#queue-list > li') || {}).id || ''")


def assert_no_axe_violation(page, where: str) -> None:
    if not AXE.exists():
        pytest.skip("axe-core is not installed (npm ci)")
    page.evaluate(AXE.read_text())
    assert violations(page) == [], where


def test_the_queue_and_the_query_page_work_from_the_keyboard(browser_page, live_server, sign_in):  # noqa: F811
    support = DepartmentFactory(slug="support", name="Customer Support")
    DepartmentFactory(slug="billing", name="Billing")
    ana = UserFactory(department=support, name="Ana Answerer")
    channel, _secret = services.channel_create(slug="forum", name="Community forum", kind="forum")
    ids = []
    for n, text in enumerate(["My parcel never came", "Can I pay by invoice?", "The app crashes on start"]):
        query_id, _ = services.query_receive(
            channel=channel, inbound=services.Inbound(external_id=f"k-{n}", text=text, author_handle=f"@c{n}")
        )
        Query.objects.filter(pk=query_id).update(department=support)
        ids.append(query_id)
    page = browser_page
    sign_in(page, live_server, ana)
    page.goto(f"{live_server.url}/queries/")
    page.locator(f"#q-{ids[0]}").wait_for()

    page.keyboard.press("j")
    assert active_row(page) == f"q-{ids[0]}"
    page.keyboard.press("j")
    page.keyboard.press("j")
    assert active_row(page) == f"q-{ids[2]}"
    page.keyboard.press("j")  # the last stays the last
    assert active_row(page) == f"q-{ids[2]}"
    page.keyboard.press("k")
    assert active_row(page) == f"q-{ids[1]}"
    assert page.locator(f"#q-{ids[1]}").get_attribute("class").find("qrow--current") != -1

    # / goes to the search; letters typed there are text, not shortcuts.
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "filter-q"
    page.keyboard.type("jk c")
    assert page.locator("#filter-q").input_value() == "jk c"
    assert page.url.endswith("/queries/")
    page.locator("#filter-q").fill("")

    # ? opens the list as a modal dialog; Esc closes it.
    page.locator("h1").click()
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    dialog.wait_for()
    assert dialog.get_by_text("Next / previous query in the queue").is_visible()
    assert dialog.get_by_text("Send the answer, from the answer box").is_visible()
    assert_no_axe_violation(page, "queue page, shortcuts open")
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    # The button opens it too.
    page.get_by_role("button", name="Keyboard shortcuts").click()
    dialog.wait_for()
    dialog.get_by_role("button", name="Close").click()
    dialog.wait_for(state="hidden")
    assert_no_axe_violation(page, "queue page")

    # c claims the picked row; the query page opens at the answer box, the question in view.
    # (The row picked before the dialog is still the one j/k move from.)
    page.keyboard.press("k")
    assert active_row(page) == f"q-{ids[0]}"
    page.keyboard.press("j")
    assert active_row(page) == f"q-{ids[1]}"
    with page.expect_navigation():
        page.keyboard.press("c")
    assert page.url.endswith(f"/queries/{ids[1]}/#answer")
    expect(page.locator("#id_body")).to_be_focused()
    in_view = page.evaluate(
        """() => { const q = document.querySelector('.answer-form__question').getBoundingClientRect();
                   const b = document.getElementById('id_body').getBoundingClientRect();
                   return q.top >= 0 && q.bottom <= innerHeight && b.top >= 0 && b.bottom <= innerHeight; }"""
    )
    assert in_view is True
    assert page.locator(".answer-form__question").inner_text().endswith("Can I pay by invoice?")
    assert_no_axe_violation(page, "query page")

    # Out of the box, e reaches the escalation form and r comes back to the answer.
    page.locator("h1").click()
    page.keyboard.press("e")
    assert page.evaluate("document.activeElement.id") == "escalate-department"
    page.locator("h1").click()
    page.keyboard.press("r")
    assert page.evaluate("document.activeElement.id") == "id_body"
    # The page says how to send, and Ctrl+Enter sends.
    assert page.get_by_text("in the box sends it for review").is_visible()
    page.keyboard.type("We can invoice you: reply with your company's details.")
    with page.expect_navigation():
        page.keyboard.press("Control+Enter")
    assert Answer.objects.get(query_id=ids[1]).body == "We can invoice you: reply with your company's details."
