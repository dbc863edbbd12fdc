"""Browser tests: Playwright (sync API) driving Debian's Chromium against ``live_server``.

Put browser tests in this directory and mark them ``browser``. Fixtures:

- ``browser_page``: a fresh Chromium page (1280 by 900) whose console is watched: a page that
  breaks the Content-Security-Policy or throws a script error fails the test.
- ``sign_in``: ``sign_in(page, live_server, user)`` signs ``user`` in through the sign-in
  page (users from ``tests.factories`` share ``TEST_PASSWORD``); also importable from
  ``tests.browser.helpers``.

Without Chromium (or the ``playwright`` package) these tests are skipped, visibly; with
``ENGAGE_REQUIRE_BROWSER=1`` they fail instead.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test.utils import override_settings

from tests.browser.helpers import shared_chromium, watched_page
from tests.browser.helpers import sign_in as _sign_in
from tests.web.conftest import ensure_roles

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# (creating people, reading rows back) are still plain synchronous code.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = os.environ.get("ENGAGE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _unavailable(reason: str) -> None:
    if os.environ.get("ENGAGE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"ENGAGE_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def live_server(request: pytest.FixtureRequest) -> Iterator[Any]:
    """pytest-django's live server, serving plain HTTP.

    Production settings redirect HTTP to HTTPS; the server's security middleware reads
    that once, when the server starts, so it starts without it. Everything else
    (CSP, secure cookies, headers) stays as in production.
    """
    from pytest_django.live_server_helper import LiveServer

    addr = request.config.getvalue("liveserver") or os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS") or "localhost"
    with override_settings(SECURE_SSL_REDIRECT=False):
        server = LiveServer(addr)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        _unavailable(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("the playwright package is not installed")
    # One Playwright per process, however many modules import this fixture.
    browser = shared_chromium.acquire(CHROMIUM, CHROMIUM_ARGS)
    yield browser
    shared_chromium.release()


@pytest.fixture
def browser_page(chromium: Any, transactional_db: Any) -> Iterator[Any]:
    ensure_roles()
    yield from watched_page(chromium, viewport={"width": 1280, "height": 900})


@pytest.fixture
def sign_in() -> Callable[..., None]:
    return _sign_in
