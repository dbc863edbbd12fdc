"""People sitting on the queue page, polling as their browsers do (``bench.live_queue``).

``python -m bench.pollers REQUESTS PEOPLE PAUSE_MS SECONDS HOST PORT`` plays ``PEOPLE``
people, each sending the next line of ``REQUESTS`` (``bench.load.request_line``'s format)
every ``PAUSE_MS`` (+-20 %), and prints one line ``BENCH {json}`` with the figures (the keys
wrk's ``done()`` printed: requests, duration_us, p50_us, p95_us, p99_us, statuses, errors).

Each poll opens its connection when it is due, sends the request, reads the answer until the
server closes (gunicorn's sync workers close after every answer), and only then waits. That
is what a browser does; wrk does not: after a close it reconnects at once and waits out the
pause on the open connection, and a sync worker that accepted it sits in its read until the
request comes. With 300 such connections the 5 workers spent their time waiting on idle
sockets, and every request, the Q1 baseline's too, took about 2.7 s (measured 2026-12-04) —
a figure of the load generator, not of the feed.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

TIMEOUT_S = 10.0


@dataclass
class Figures:
    latencies_us: list[int] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(
        default_factory=lambda: {"connect": 0, "read": 0, "write": 0, "timeout": 0, "status": 0}
    )


def parse(line: str) -> bytes:
    """A request line (METHOD, PATH, HEADERS "a: b | c: d" or "-", BODY "-") as bytes to send."""
    method, path, header_text, _body = line.split("\t")
    headers = [] if header_text == "-" else [h.strip() for h in header_text.split(" | ")]
    return "\r\n".join([f"{method} {path} HTTP/1.1", *headers, "Connection: close", "", ""]).encode()


async def poll_once(request: bytes, host: str, port: int, figures: Figures) -> None:
    started = time.perf_counter()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), TIMEOUT_S)
    except (TimeoutError, OSError):
        figures.errors["connect"] += 1
        return
    try:
        writer.write(request.replace(b"\r\n", f"\r\nHost: {host}:{port}\r\n".encode(), 1))
        await writer.drain()
    except OSError:
        figures.errors["write"] += 1
        writer.close()
        return
    try:
        answer = await asyncio.wait_for(reader.read(-1), TIMEOUT_S)  # until the server closes
        status = answer.split(b" ", 2)[1].decode()
    except TimeoutError:
        figures.errors["timeout"] += 1
        return
    except (OSError, IndexError, UnicodeDecodeError):
        figures.errors["read"] += 1
        return
    finally:
        writer.close()
    figures.latencies_us.append(int((time.perf_counter() - started) * 1e6))
    figures.statuses[status] = figures.statuses.get(status, 0) + 1
    if not status.startswith(("2", "3")):
        figures.errors["status"] += 1


async def person(index: int, people: int, requests: list[bytes], pause_s: float, until: float, host: str,
                 port: int, figures: Figures) -> None:  # fmt: skip
    chance = random.Random(index + 1)
    position = index
    await asyncio.sleep(chance.uniform(0, pause_s))  # the people arrive spread over one interval
    while time.monotonic() < until:
        await poll_once(requests[position % len(requests)], host, port, figures)
        position += people
        await asyncio.sleep(pause_s * chance.uniform(0.8, 1.2))


def percentile(values: list[int], share: float) -> int:
    if not values:
        return 0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def main(argv: list[str]) -> None:
    requests_file, people, pause_ms, seconds, host, port = argv
    requests = [parse(line) for line in Path(requests_file).read_text().splitlines() if line]
    figures = Figures()
    started = time.monotonic()
    until = started + int(seconds)
    await asyncio.gather(
        *(
            person(i, int(people), requests, int(pause_ms) / 1000, until, host, int(port), figures)
            for i in range(int(people))
        )
    )
    duration_us = int((time.monotonic() - started) * 1e6)
    result = {
        "requests": len(figures.latencies_us),
        "duration_us": duration_us,
        "p50_us": percentile(figures.latencies_us, 0.50),
        "p95_us": percentile(figures.latencies_us, 0.95),
        "p99_us": percentile(figures.latencies_us, 0.99),
        "statuses": figures.statuses,
        "errors": figures.errors,
    }
    print("BENCH " + json.dumps(result), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
