"""In a real browser: a customer rates an answer from its link (choose 4, comment, send,
see thanks, then change it), without signing in; and one employee hands a claimed query to
another, who finds it in their own queue, holds it and was notified."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.models import Notification
from engage import ratings, services
from engage.models import AnswerRating, AnswerStatus, Query
from tests.browser.conftest import browser_page, chromium, live_server, sign_in  # noqa: F401 (fixtures)
from tests.browser.helpers import watched_page
from tests.engage.conftest import certify_responder
from tests.engage.test_browser_axe import AXE, violations
from tests.factories import DepartmentFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def second_page(chromium):  # noqa: F811
    yield from watched_page(chromium, who="the second browser", viewport={"width": 390, "height": 844})  # a phone


def _query(text: str, department) -> int:
    channel = services.channel_create(slug="forum", name="Community forum", kind="forum")[0]
    query_id, _ = services.query_receive(
        channel=channel, inbound=services.Inbound(external_id=f"b-{text[:8]}", text=text, author_handle="@cus")
    )
    Query.objects.filter(pk=query_id).update(department=department, routed_at=timezone.now())
    return query_id


def _axe_clean(page) -> None:
    if AXE.exists():  # the axe test itself insists on it under ENGAGE_REQUIRE_BROWSER
        page.evaluate(AXE.read_text())
        assert violations(page) == []


def test_a_customer_rates_an_answer_from_its_link_and_changes_it(browser_page, live_server):  # noqa: F811
    support = DepartmentFactory(slug="support", name="Customer Support")
    rory = UserFactory(department=support, name="Rory Responder")
    certify_responder(rory)
    query_id = _query("Where is my parcel?", support)
    services.query_claim(user=rory, query_id=query_id)
    answer = services.answer_submit(user=rory, query_id=query_id, body="It left our depot on **Monday**.")
    assert answer.status == AnswerStatus.PUBLISHED
    link = ratings.link_for(answer_id=answer.pk, published_at=answer.published_at)
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]

    page = browser_page  # never signed in: the customer
    page.goto(f"{live_server.url}{path}")
    page.get_by_role("heading", name="How did we do?").wait_for()
    _axe_clean(page)
    assert page.locator("#rated-answer strong", has_text="Monday").is_visible()
    page.get_by_label("4", exact=True).check()
    page.get_by_label("Anything you would like to tell us?").fill("Quick and clear, thanks")
    with page.expect_navigation():
        page.get_by_role("button", name="Send my rating").click()
    thanks = page.locator("#rate-thanks")
    assert "Thank you for your rating" in thanks.inner_text()
    assert "You rated this answer 4 out of 5." in thanks.inner_text()
    _axe_clean(page)
    rating = AnswerRating.objects.get(answer=answer)
    assert (rating.score, rating.comment) == (4, "Quick and clear, thanks")

    # Coming back, the rating is there to change.
    page.goto(f"{live_server.url}{path}")
    assert page.get_by_label("4", exact=True).is_checked()
    assert page.get_by_label("Anything you would like to tell us?").input_value() == "Quick and clear, thanks"
    page.get_by_label("5", exact=True).check()
    with page.expect_navigation():
        page.get_by_role("button", name="Change my rating").click()
    assert "You rated this answer 5 out of 5." in page.locator("#rate-thanks").inner_text()
    rating.refresh_from_db()
    assert rating.score == 5
    assert AnswerRating.objects.count() == 1

    # Sending without a choice is refused on the page, and nothing changes.
    page.goto(f"{live_server.url}{path}")
    page.evaluate("document.querySelectorAll('input[name=score]').forEach(i => { i.checked = false })")
    with page.expect_navigation():
        page.get_by_role("button", name="Change my rating").click()
    assert page.locator("#score-error").inner_text() == "Choose a rating from 1 to 5."
    _axe_clean(page)
    rating.refresh_from_db()
    assert rating.score == 5


def test_a_hand_off_between_two_employees_lands_in_the_others_queue(
    browser_page,  # noqa: F811
    second_page,
    live_server,  # noqa: F811
    sign_in,  # noqa: F811
):
    support = DepartmentFactory(slug="support", name="Customer Support")
    ana = UserFactory(department=support, name="Ana Answerer")
    ben = UserFactory(department=support, name="Ben Colleague")
    query_id = _query("My invoice shows the wrong address", support)
    services.query_claim(user=ana, query_id=query_id)
    services.query_draft_save(user=ana, query_id=query_id, body="Ana's half-written reply")

    ana_page, ben_page = browser_page, second_page
    sign_in(ana_page, live_server, ana)
    sign_in(ben_page, live_server, ben)
    ben_page.goto(f"{live_server.url}/queries/?status=&mine=1")
    assert ben_page.locator(f"#q-{query_id}").count() == 0

    ana_page.goto(f"{live_server.url}/queries/{query_id}/")
    _axe_clean(ana_page)
    ana_page.get_by_label("Give it to").select_option(label="Ben Colleague (Customer Support)")
    ana_page.locator("#handoff").get_by_label("Note for them").fill("Billing address question, you did the last one")
    with ana_page.expect_navigation():
        ana_page.get_by_role("button", name="Hand over").click()
    ana_page.get_by_text("Handed to Ben Colleague").wait_for()
    ana_page.get_by_role("heading", name="Ben Colleague is answering").wait_for()

    # Ben finds it among his own, holds it, and has the note; Ana's draft stayed Ana's.
    ben_page.goto(f"{live_server.url}/queries/?status=&mine=1")
    ben_page.locator(f"#q-{query_id}").wait_for()
    ben_page.goto(f"{live_server.url}/queries/{query_id}/")
    ben_page.get_by_role("heading", name="You hold this query").wait_for()
    assert ben_page.get_by_label("Your answer").input_value() == ""
    assert "Ana Answerer handed it to Ben Colleague" in ben_page.locator("#handoff").inner_text()
    told = Notification.objects.get(user=ben, kind="engage.query_handoff")
    assert told.body == "Billing address question, you did the last one"
    query = Query.objects.get(pk=query_id)
    assert query.claimed_by == ben
