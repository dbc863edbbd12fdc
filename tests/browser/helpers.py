"""Helpers for browser tests (see conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.factories import TEST_PASSWORD


@dataclass
class ConsoleWatch:
    """Collects what would mean a broken page: CSP refusals, script errors, failed loads."""

    problems: list[str] = field(default_factory=list)

    @classmethod
    def attach(cls, page: Any) -> ConsoleWatch:
        watch = cls()
        page.on("pageerror", lambda error: watch.problems.append(f"script error: {error}"))
        page.on("console", watch._console)
        return watch

    def _console(self, message: Any) -> None:
        if message.type != "error":
            return
        text = message.text
        # 4xx answers a test provokes on purpose (a 403 page, a 404) are not problems.
        if "the server responded with a status of 4" in text:
            return
        self.problems.append(f"console: {text}")


class _SharedChromium:
    """Playwright's sync API allows one instance per thread: share it, count its users."""

    def __init__(self) -> None:
        self._playwright: Any = None
        self._browser: Any = None
        self._users = 0

    def acquire(self, executable: str, args: list[str]) -> Any:
        if self._browser is None:
            from playwright.sync_api import sync_playwright

            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(executable_path=executable, args=args)
        self._users += 1
        return self._browser

    def release(self) -> None:
        self._users -= 1
        if self._users == 0 and self._browser is not None:
            self._browser.close()
            self._playwright.stop()
            self._browser = self._playwright = None


shared_chromium = _SharedChromium()


def sign_in(page: Any, live_server: Any, user: Any, *, password: str = TEST_PASSWORD) -> None:
    """Sign ``user`` in through the sign-in page and wait for the page it lands on."""
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    if "/login/" in page.url:
        raise AssertionError(f"sign-in failed for {user.email}: still on {page.url}")


def watched_page(chromium: Any, *, who: str = "the browser", **options: Any) -> Iterator[Any]:
    """A page in a fresh context (its own cookies) whose console is watched: the test fails
    if the page broke the Content-Security-Policy or threw a script error. ``options`` go to
    ``new_context`` (viewport, color_scheme …). Yield from it in a fixture."""
    context = chromium.new_context(**options)
    context.set_default_timeout(10_000)
    page = context.new_page()
    watch = ConsoleWatch.attach(page)
    yield page
    context.close()
    if watch.problems:
        pytest.fail(f"{who} reported problems:\n" + "\n".join(watch.problems), pytrace=False)
