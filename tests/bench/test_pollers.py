"""bench.pollers plays people polling as browsers do: a connection per poll, opened when it is
due and its request sent at once (never an idle connection waiting out the pause, which holds
a sync worker), with the figures bench.live_queue reads."""

from __future__ import annotations

import asyncio
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench import pollers
from bench.load import request_line

PAUSE_S = 0.2


def test_each_poll_is_its_own_connection_and_its_request_comes_at_once() -> None:
    seen: list[tuple[str, str | None]] = []
    idle: list[float] = []  # from the connection's opening to its request

    class Handler(BaseHTTPRequestHandler):
        def setup(self) -> None:
            self.opened_at = time.monotonic()
            super().setup()

        def do_GET(self) -> None:
            idle.append(time.monotonic() - self.opened_at)
            seen.append((self.path, self.headers.get("If-None-Match")))
            self.send_response(304 if self.headers.get("If-None-Match") == '"same"' else 200)
            self.send_header("Connection", "close")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    lines = [request_line("GET", "/feed?a=1", {"If-None-Match": '"same"'}), request_line("GET", "/feed?b=2")]
    requests = [pollers.parse(line) for line in lines]
    figures = pollers.Figures()
    until = time.monotonic() + 1.2

    async def people() -> None:
        port = server.server_port
        await asyncio.gather(*(pollers.person(i, 3, requests, PAUSE_S, until, "127.0.0.1", port, figures)
                               for i in range(3)))  # fmt: skip

    # In a thread of its own: the browser tests' Playwright keeps an event loop running in the
    # main thread for the whole session, where asyncio.run() would refuse to start.
    runner = threading.Thread(target=asyncio.run, args=(people(),))
    try:
        runner.start()
        runner.join(timeout=30)
    finally:
        server.shutdown()
    assert not runner.is_alive()
    assert len(figures.latencies_us) == len(seen) >= 9  # one connection per poll, each answered
    assert max(idle) < PAUSE_S / 2  # no connection sat open through a pause
    assert set(seen) == {("/feed?a=1", '"same"'), ("/feed?b=2", None)}
    assert set(figures.statuses) == {"304", "200"}
    assert figures.errors == {"connect": 0, "read": 0, "write": 0, "timeout": 0, "status": 0}
