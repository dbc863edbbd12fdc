from __future__ import annotations

import re

import pytest

from accounts.models import Notification, RoleName
from tests.factories import DepartmentFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_in_see_home_and_bell_then_sign_out(browser_page, live_server, sign_in):
    department = DepartmentFactory(slug="support", name="Customer Support")
    person = UserFactory(department=department, name="Bea Browser", roles=[RoleName.REVIEWER])
    Notification.objects.create(user=person, kind="account", title="Welcome aboard")
    page = browser_page

    sign_in(page, live_server, person)
    assert page.url == f"{live_server.url}/"
    assert page.get_by_role("heading", level=1).inner_text().endswith("Bea")
    assert page.get_by_text("Customer Support").first.is_visible()
    assert page.locator(".welcome").get_by_text("Reviewer").is_visible()

    bell = page.locator("#notification-bell")
    assert bell.is_visible()
    assert bell.locator(".bell__count").inner_text() == "1"
    assert bell.get_attribute("hx-trigger") == "every 30s"
    # htmx is loaded from our own server and running.
    assert page.evaluate("typeof window.htmx") == "object"

    # Landmarks a screen reader offers.
    assert page.get_by_role("navigation", name="Primary").is_visible()
    assert page.get_by_role("main").count() == 1
    assert page.get_by_role("banner").count() == 1

    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    assert page.url.startswith(f"{live_server.url}/login/")
    assert page.get_by_text("You have signed out.").is_visible()
    page.goto(f"{live_server.url}/")
    assert "/login/" in page.url


def test_the_bell_updates_when_a_notification_is_marked_read_with_htmx(browser_page, live_server, sign_in):
    person = UserFactory(name="Hal Htmx")
    first = Notification.objects.create(user=person, kind="account", title="First thing")
    Notification.objects.create(user=person, kind="account", title="Second thing")
    page = browser_page
    sign_in(page, live_server, person)
    page.goto(f"{live_server.url}/notifications/")
    assert page.locator("#notification-bell .bell__count").inner_text() == "2"

    page.get_by_role("button", name=re.compile(r"^Mark as read\W+First thing$")).click()
    page.locator(f"#note-{first.pk}:not(.note--unread)").wait_for()
    assert page.locator("#notification-bell .bell__count").inner_text() == "1"
    assert "/notifications/" in page.url, "no full page load"
    # Focus stays where the person was, on the item they acted on.
    assert page.evaluate("document.activeElement.id") == f"note-{first.pk}-action"
    first.refresh_from_db()
    assert first.read_at is not None


def test_keyboard_reaches_the_skip_link_first(browser_page, live_server, sign_in):
    person = UserFactory()
    page = browser_page
    sign_in(page, live_server, person)
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Skip to main content"
    assert page.locator(".skip-link").is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


@pytest.mark.parametrize("width", [1280, 390])
def test_home_fits_the_screen(browser_page, live_server, sign_in, width):
    person = UserFactory(name="Wendy Width", roles=[RoleName.ADMIN])
    page = browser_page
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server, person)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px at {width}px"
    assert page.locator("#notification-bell").is_visible()
    assert page.get_by_role("button", name="Sign out").is_visible()
    # On a phone the navigation is a strip under the header; on a desktop a sidebar.
    nav_box = page.get_by_role("navigation", name="Primary").bounding_box()
    main_box = page.locator("main").bounding_box()
    if width < 700:
        assert nav_box["y"] < main_box["y"]
    else:
        assert nav_box["x"] < main_box["x"]
    assert re.search(r"Good (morning|afternoon|evening), Wendy", page.locator("h1").inner_text())
