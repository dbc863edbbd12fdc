"""SCIM tests run against the live server (real HTTP, PostgreSQL behind it) with a real
provisioning token made by the service an administrator uses."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from accounts import services
from accounts.models import ScimToken
from tests.browser import conftest as browser_fixtures
from tests.web.conftest import ensure_roles

live_server = browser_fixtures.live_server

SCIM_TYPE = "application/scim+json"


@dataclass
class Scim:
    base: str
    token: str
    record: ScimToken
    http: requests.Session

    def url(self, path: str) -> str:
        return f"{self.base}/scim/v2/{path.lstrip('/')}"

    def call(
        self, method: str, path: str, body: Any = None, *, token: str | None = None, **kwargs: Any
    ) -> requests.Response:
        headers = {"Authorization": f"Bearer {token if token is not None else self.token}", "Accept": SCIM_TYPE}
        if body is not None:
            headers["Content-Type"] = SCIM_TYPE
        return self.http.request(method, self.url(path), json=body, headers=headers, timeout=30, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any) -> requests.Response:
        return self.call("POST", path, body, **kwargs)

    def put(self, path: str, body: Any, **kwargs: Any) -> requests.Response:
        return self.call("PUT", path, body, **kwargs)

    def patch(self, path: str, body: Any, **kwargs: Any) -> requests.Response:
        return self.call("PATCH", path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("DELETE", path, **kwargs)


@pytest.fixture
def scim(live_server: Any, transactional_db: Any) -> Iterator[Scim]:
    ensure_roles()
    issued = services.scim_token_create(name="Test provider", created_by=None)
    with requests.Session() as http:
        http.trust_env = False  # loopback only, whatever proxy the environment names
        yield Scim(base=live_server.url, token=issued.token, record=issued.record, http=http)
