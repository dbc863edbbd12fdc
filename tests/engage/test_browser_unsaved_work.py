"""In a real browser: work a person must never lose.

The session is ended for real (its row deleted) while someone writes an answer; the
autosave notices, keeps the text in the browser, sends them through sign-in and back to
the same page with the text restored and saved. A form posted after the session ended
comes back to its page, never to a blank 405. An answer over the limit comes back with
its text; an autosave refused (409) says so; a paste past the limit is refused with a
message, never cut.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.sessions.models import Session

from engage import services
from engage.models import Query, QueryDraft, QueryState
from tests.browser.conftest import browser_page, chromium, live_server, sign_in  # noqa: F401 (fixtures)
from tests.factories import TEST_PASSWORD, DepartmentFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

KEEP = "engage:keep:answer:{}"


def claimed_query(name: str = "Ana Answerer") -> tuple[Any, Query]:
    support = DepartmentFactory(slug="support", name="Customer Support")
    ana = UserFactory(department=support, name=name)
    channel, _secret = services.channel_create(slug="forum", name="Community forum", kind="forum")
    query_id, _ = services.query_receive(
        channel=channel, inbound=services.Inbound(external_id="t-1", text="Where is my refund?", author_handle="@c")
    )
    Query.objects.filter(pk=query_id).update(department=support)
    services.query_claim(user=ana, query_id=query_id)
    return ana, Query.objects.get(pk=query_id)


def end_every_session() -> None:
    """The session expires for real: its row is gone, as after SESSION_COOKIE_AGE."""
    Session.objects.all().delete()


def kept(page: Any, query: Query) -> str | None:
    return page.evaluate("key => window.localStorage.getItem(key)", KEEP.format(query.pk))


def sign_in_here(page: Any, user: Any) -> None:
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


def test_a_session_that_ends_mid_answer_keeps_the_text_through_sign_in(browser_page, live_server, sign_in):  # noqa: F811
    ana, query = claimed_query()
    page = browser_page
    sign_in(page, live_server, ana)
    page.goto(f"{live_server.url}/queries/{query.pk}/")
    body = page.locator("#id_body")
    body.press_sequentially("The refund left us on Monday.")
    page.locator("#draft-status").get_by_text("Draft saved").wait_for()
    assert QueryDraft.objects.get(query=query).body == "The refund left us on Monday."

    end_every_session()
    body.press_sequentially(" It reaches your card within five working days.")
    full = "The refund left us on Monday. It reaches your card within five working days."
    alert = page.get_by_role("alert").filter(has_text="Your session has ended")
    alert.wait_for()
    # Nothing of the sign-in page was pasted into the form; the text is whole, and kept.
    assert body.input_value() == full
    assert "Password" not in page.locator("#answer-form").inner_text()
    assert kept(page, query) == full
    assert QueryDraft.objects.get(query=query).body == "The refund left us on Monday."

    with page.expect_navigation():
        alert.get_by_role("link", name="sign in again").click()
    assert "/login/" in page.url
    sign_in_here(page, ana)
    assert page.url.endswith(f"/queries/{query.pk}/")
    assert page.locator("#id_body").input_value() == full
    page.get_by_text("Your text is back as you left it").wait_for()
    page.locator("#draft-status").get_by_text("Draft saved").wait_for()
    assert QueryDraft.objects.get(query=query).body == full
    page.wait_for_function("key => window.localStorage.getItem(key) === null", arg=KEEP.format(query.pk))


def test_sending_after_the_session_ended_comes_back_to_the_page_not_a_405(browser_page, live_server, sign_in):  # noqa: F811
    ana, query = claimed_query()
    page = browser_page
    sign_in(page, live_server, ana)
    page.goto(f"{live_server.url}/queries/{query.pk}/")
    end_every_session()
    page.locator("#id_body").fill("Written after the session ended, sent before any autosave.")
    with page.expect_navigation():
        page.get_by_role("button", name="Send for review").click()
    assert "/login/" in page.url
    assert f"next=%2Fqueries%2F{query.pk}%2F" in page.url  # the page the form was on, not its action
    sign_in_here(page, ana)
    assert page.url.endswith(f"/queries/{query.pk}/")
    assert page.locator("#id_body").input_value() == "Written after the session ended, sent before any autosave."
    page.locator("#draft-status").get_by_text("Draft saved").wait_for()

    # An action's address opened as a page says what it is and links to its page.
    response = page.goto(f"{live_server.url}/queries/{query.pk}/answer/")
    assert response is not None
    assert response.status == 405
    page.get_by_role("heading", name="This address does something; it is not a page").wait_for()
    back = page.get_by_role("link", name="Go to the page it belongs to")
    assert back.get_attribute("href") == f"/queries/{query.pk}/"


def test_an_answer_over_the_limit_comes_back_with_its_text_and_the_error(browser_page, live_server, sign_in):  # noqa: F811
    ana, query = claimed_query()
    page = browser_page
    sign_in(page, live_server, ana)
    page.goto(f"{live_server.url}/queries/{query.pk}/")
    too_long = "x" * (services.MAX_ANSWER_LENGTH + 1)
    # As a browser without the limit (or a script) would send it.
    page.evaluate(
        "text => { const f = document.getElementById('id_body'); f.removeAttribute('maxlength'); f.value = text; }",
        too_long,
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Send for review").click()
    page.get_by_text(f"An answer is at most {services.MAX_ANSWER_LENGTH} characters.").first.wait_for()
    assert page.locator("#id_body").input_value() == too_long


def test_a_refused_autosave_is_shown_not_swallowed(browser_page, live_server, sign_in):  # noqa: F811
    ana, query = claimed_query()
    page = browser_page
    sign_in(page, live_server, ana)
    page.goto(f"{live_server.url}/queries/{query.pk}/")
    Query.objects.filter(pk=query.pk).update(state=QueryState.CLOSED, close_reason="spam")  # meanwhile
    page.locator("#id_body").press_sequentially("Still typing")
    alert = page.get_by_role("alert").filter(has_text="Not saved: This query is closed")
    alert.wait_for()
    assert "kept in this browser" in alert.inner_text()
    assert kept(page, query) == "Still typing"


def test_a_paste_past_the_limit_is_refused_with_a_message(browser_page, live_server, sign_in):  # noqa: F811
    ana, query = claimed_query()
    page = browser_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(page, live_server, ana)
    page.goto(f"{live_server.url}/queries/{query.pk}/")
    body = page.locator("#id_body")
    start = "y" * (services.MAX_ANSWER_LENGTH - 10)
    body.fill(start)
    page.evaluate("text => navigator.clipboard.writeText(text)", "z" * 25)
    body.focus()
    page.keyboard.press("Control+End")
    page.keyboard.press("Control+V")
    page.get_by_role("alert").filter(
        has_text=re.compile(r"Not pasted: that would make this 20,015 characters, and the limit is 20,000")
    ).wait_for()
    assert body.input_value() == start  # nothing was cut, nothing half-pasted
    page.evaluate("text => navigator.clipboard.writeText(text)", "z" * 10)
    page.keyboard.press("Control+V")
    page.wait_for_function("() => document.getElementById('id_body').value.length === 20000")
