"""A real OpenID provider for the single sign-on tests: node's ``oidc-provider`` started by
``scripts/oidc_provider.mjs`` on a loopback port, with a client registered for Engage.

Without Node (or without ``npm ci``'s ``node_modules/oidc-provider``) these tests are
skipped, visibly; with ``ENGAGE_REQUIRE_SERVICES=1`` (CI) they fail instead.

Fixtures:

- ``provider``: the running provider (``issuer``, ``set_accounts``, ``quirk``, ``restart``);
- ``sso``: Engage configured for it (settings), the discovery cache cleared;
- ``http_flow``: drives a sign-in with ``requests`` up to the provider's answer to Engage.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
import requests
from django.core.cache import cache

from tests.browser import conftest as browser_fixtures

# The browser tests' fixtures, shared: one live server (plain HTTP) and one Chromium.
live_server = browser_fixtures.live_server
chromium = browser_fixtures.chromium
browser_page = browser_fixtures.browser_page

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "oidc_provider.mjs"
CLIENT_ID = "engage-tests"
CLIENT_SECRET = "a-client-secret-for-tests-only"
PROVIDER_PASSWORD = "provider-password"

DEFAULT_ACCOUNTS: dict[str, Any] = {
    "ada": {
        "password": PROVIDER_PASSWORD,
        "claims": {
            "email": "Ada.Lovelace@Example.com",
            "email_verified": True,
            "name": "Ada Lovelace",
            "department": "support",
            "groups": ["engage-curators", "staff"],
        },
    },
}


def _unavailable(reason: str) -> None:
    if os.environ.get("ENGAGE_REQUIRE_SERVICES") == "1":
        pytest.fail(f"ENGAGE_REQUIRE_SERVICES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Provider:
    config_path: Path
    port: int
    process: subprocess.Popen[str] | None = None
    accounts: dict[str, Any] = field(default_factory=dict)

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["node", str(SCRIPT), str(self.config_path)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.process.stdout is not None
        deadline = time.monotonic() + 20
        seen = []
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            seen.append(line)
            if line.startswith("ready "):
                return
        self.stop()
        raise RuntimeError("the OpenID provider did not start:\n" + "".join(seen))

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def restart(self) -> None:
        """A new process: new signing key (a rotation), sessions forgotten."""
        self.stop()
        self.start()
        self.set_accounts(self.accounts)

    def _control(self, path: str, body: dict[str, Any]) -> None:
        response = requests.post(f"{self.issuer}/__test/{path}", json=body, timeout=5)
        response.raise_for_status()

    def set_accounts(self, accounts: dict[str, Any]) -> None:
        self.accounts = accounts
        self._control("accounts", accounts)

    def quirk(self, name: str | None) -> None:
        self._control("quirk", {"quirk": name})


@pytest.fixture(scope="session")
def provider(live_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    if not shutil.which("node"):
        _unavailable("Node.js is not installed (the OpenID provider of the SSO tests runs on it)")
    if not (ROOT / "node_modules" / "oidc-provider").is_dir():
        _unavailable("node_modules/oidc-provider is missing: run `npm ci` (scripts/bootstrap.sh does)")
    port = _free_port()
    config_path = tmp_path_factory.mktemp("oidc") / "provider.json"
    config_path.write_text(
        json.dumps(
            {
                "port": port,
                "client": {
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "redirect_uris": [f"{live_server.url}/oidc/callback/"],
                    "post_logout_redirect_uris": [f"{live_server.url}/login/"],
                },
                "accounts": DEFAULT_ACCOUNTS,
                "test_controls": True,
            }
        )
    )
    running = Provider(config_path=config_path, port=port, accounts=DEFAULT_ACCOUNTS)
    running.start()
    yield running
    running.stop()


@pytest.fixture
def sso(provider: Provider, settings: Any, transactional_db: Any) -> Iterator[Provider]:
    from tests.web.conftest import ensure_roles

    ensure_roles()
    settings.OIDC_ISSUER = provider.issuer
    settings.OIDC_CLIENT_ID = settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_BUTTON_NAME = "Example Corp"
    settings.OIDC_HELP_CONTACT = "it-help@example.com"
    settings.OIDC_GROUP_ROLES = {"engage-curators": ["curator"], "engage-admins": ["admin"]}
    # requests (unlike Chromium) sends no Secure cookie over plain http://localhost.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.SECURE_CSP = {
        **settings.SECURE_CSP,
        "form-action": [*settings.SECURE_CSP["form-action"], provider.issuer],
    }
    cache.clear()
    provider.set_accounts(json.loads(json.dumps(DEFAULT_ACCOUNTS)))
    provider.quirk(None)
    yield provider
    provider.quirk(None)
    cache.clear()


_FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')


@dataclass
class HttpFlow:
    """A person's browser, as ``requests``: drives a sign-in to the provider's answer."""

    base: str
    provider: Provider
    session: requests.Session = field(default_factory=requests.Session)

    def callback_url(self, *, login: str = "ada", password: str = PROVIDER_PASSWORD) -> str:
        """Start a sign-in at Engage, sign in and consent at the provider; return (not
        follow) the URL the provider sends the browser back to."""
        response = self.session.get(f"{self.base}/oidc/authenticate/", allow_redirects=False, timeout=10)
        assert response.status_code == 302, response.text[:500]
        url = response.headers["Location"]
        for _ in range(12):
            if url.startswith(f"{self.base}/oidc/callback/"):
                return url
            response = self.session.get(url, allow_redirects=False, timeout=10)
            if response.is_redirect:
                url = urljoin(url, response.headers["Location"])
                continue
            assert response.status_code == 200, response.text[:500]
            action = urljoin(url, _FORM_ACTION.search(response.text).group(1))
            data = {"login": login, "password": password} if action.endswith("/login") else {}
            response = self.session.post(action, data=data, allow_redirects=False, timeout=10)
            assert response.is_redirect, response.text[:500]
            url = urljoin(action, response.headers["Location"])
        raise AssertionError(f"the provider never sent the browser back to Engage (last: {url})")

    def finish(self, url: str) -> requests.Response:
        return self.session.get(url, allow_redirects=False, timeout=10)


@pytest.fixture
def http_flow(sso: Provider, live_server: Any) -> HttpFlow:
    return HttpFlow(base=live_server.url, provider=sso)
