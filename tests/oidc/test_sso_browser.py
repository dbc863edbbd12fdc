"""Single sign-on end to end in Chromium, against the real provider (conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import DepartmentFactory

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


def _loopback_only(page: Any) -> None:
    """Nothing but this machine: any other address is refused by the browser itself."""

    def route(request_route: Any) -> None:
        host = request_route.request.url.split("/")[2].split(":")[0]
        if host in ("localhost", "127.0.0.1"):
            request_route.continue_()
        else:
            request_route.abort()

    page.route("**/*", route)


def test_sign_in_with_the_provider_and_sign_out(browser_page: Any, sso: Any, live_server: Any) -> None:
    DepartmentFactory(slug="support", name="Customer Support")
    page = browser_page
    _loopback_only(page)
    page.goto(f"{live_server.url}/login/")
    page.get_by_role("link", name="Sign in with Example Corp").click()
    # The provider's own pages: its login, then its consent.
    page.wait_for_url(f"{sso.issuer}/interaction/**")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("provider-password")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(f"{live_server.url}/")
    profile = page.goto(f"{live_server.url}/profile/")
    assert profile is not None
    assert profile.status == 200
    body = page.locator("main").inner_text()
    assert "Customer Support" in body
    assert "Curator" in body or "curator" in body
    # Sign out: Engage's session, then the provider's (RP-initiated logout).
    page.goto(f"{live_server.url}/")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{sso.issuer}/session/end**")
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(f"{live_server.url}/login/")
    assert page.get_by_text("You have signed out.").is_visible()
    page.goto(f"{live_server.url}/profile/")
    assert "/login/" in page.url
