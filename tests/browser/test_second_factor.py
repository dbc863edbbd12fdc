"""The second factor from the profile in Chromium: set it up from the QR page (the image
is drawn, within the CSP), sign in again with a code, remove it."""

from __future__ import annotations

import time

import pyotp
import pytest

from accounts.models import RoleName
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_set_up_sign_in_with_a_code_and_remove(browser_page, live_server, sign_in, tmp_path):
    person = UserFactory(name="Tess Totp", roles=[RoleName.CURATOR])
    page = browser_page
    sign_in(page, live_server, person)

    page.goto(f"{live_server.url}/profile/")
    with page.expect_navigation():
        page.get_by_role("link", name="Set up an authenticator app").click()
    qr = page.locator("#totp-qr")
    assert qr.is_visible()
    # The QR code's SVG loaded (a data: image the CSP allows) and has a size.
    assert page.evaluate("document.getElementById('totp-qr').naturalWidth") > 50
    page.screenshot(path=str(tmp_path / "set-up.png"))
    totp = pyotp.TOTP(page.locator("#totp-secret").inner_text())
    page.get_by_label("Code from the app").fill(totp.now())
    with page.expect_navigation():
        page.get_by_role("button", name="Confirm").click()
    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10

    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Email").fill(person.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    assert page.url == f"{live_server.url}/login/code/"
    page.get_by_label("Code").fill(totp.at(time.time() + 30))  # the set-up spent this window's code
    with page.expect_navigation():
        page.get_by_role("button", name="Continue").click()
    assert not page.url.startswith(f"{live_server.url}/login/")  # in (back where they were)

    page.goto(f"{live_server.url}/profile/")
    assert page.locator("#recovery-codes-left").inner_text() == "10 recovery codes left"
    with page.expect_navigation():
        page.get_by_role("link", name="Remove the second factor").click()
    page.get_by_label("Or your password").fill(TEST_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Remove the second factor").click()
    assert page.url == f"{live_server.url}/profile/"
    assert page.get_by_text("Your second factor is removed.").is_visible()
    assert page.get_by_role("link", name="Set up an authenticator app").is_visible()
