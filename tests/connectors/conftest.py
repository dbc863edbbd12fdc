"""Fixtures for the connectors: loopback servers that answer as Discourse and Slack do, and
a responder publishing answers through the real services."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from accounts.models import User
from engage import services
from engage.models import Answer
from tests.connectors.mailservers import dovecot_server, mailbox, smtp_server  # noqa: F401 (fixtures)
from tests.engage.conftest import certify_responder
from tests.factories import TopicFactory, UserFactory


@dataclass
class Exchange:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeServer:
    """A loopback HTTP server; ``handle(exchange)`` returns ``(status, headers, body)``."""

    url: str
    exchanges: list[Exchange] = field(default_factory=list)
    handle: Callable[[Exchange], tuple[int, dict[str, str], bytes]] = lambda exchange: (200, {}, b"{}")


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    server_state: dict[str, FakeServer] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            exchange = Exchange(self.command, self.path, dict(self.headers.items()), self.rfile.read(length))
            fake = server_state["fake"]
            fake.exchanges.append(exchange)
            code, headers, body = fake.handle(exchange)
            self.send_response(code)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = _serve
        do_GET = _serve

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_state["fake"] = FakeServer(url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server_state["fake"]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def loopback_allowed(settings) -> None:  # type: ignore[no-untyped-def]
    settings.ENGAGE_OUTBOUND_ALLOW_LOOPBACK = True  # only so the loopback test servers are reachable


@pytest.fixture
def refund_topic(department):  # type: ignore[no-untyped-def]
    return TopicFactory(slug="refunds", name="Refunds", keywords=["refund"], department=department)


@pytest.fixture
def responder(department) -> User:  # type: ignore[no-untyped-def]
    user = UserFactory(department=department, name="Rory Responder")
    certify_responder(user)
    return user


@pytest.fixture
def answer_now(responder, django_capture_on_commit_callbacks) -> Callable[..., Answer]:  # type: ignore[no-untyped-def]
    """``answer_now(query_id, body)``: the certified responder claims and publishes; the
    delivery job runs after the commit, as the worker would run it."""

    def answer(query_id: int, body: str = "You will get your refund within five days, sorry for the wait.") -> Answer:
        services.query_claim(user=responder, query_id=query_id)
        with django_capture_on_commit_callbacks(execute=True):
            return services.answer_submit(user=responder, query_id=query_id, body=body)

    return answer
