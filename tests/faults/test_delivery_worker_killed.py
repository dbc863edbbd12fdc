"""A Celery worker SIGKILLed in the middle of an outbound delivery.

A real worker posts the delivery to a receiver of the test's own on loopback, which
records the ``X-Engage-Delivery-Id`` (it has handled the answer) and then holds its
response; the worker is killed right then, acknowledging nothing. Redis gives the job to
the next worker (visibility timeout shortened to 2 s); the job finds its attempt leased
and waits for the lease to end (35 s), not for the 5-minute sweep, then sends again with
the same delivery id, which the receiver recognises and drops.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.db import transaction

from config import jobs
from engage import services
from engage.models import Channel, Delivery, DeliveryStatus
from engage.outbound import DELIVERY_ID_HEADER
from tests.platform.procs import Worker, wait_for

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


class Receiver:
    """A webhook receiver that drops duplicates by delivery id, as README asks of one."""

    def __init__(self) -> None:
        self.handled: list[str] = []  # ids acted on (once each)
        self.dropped: list[str] = []  # ids seen again and dropped
        self.arrivals: list[float] = []
        self.hold_first = threading.Event()  # set: stop holding


@pytest.fixture
def receiver() -> Iterator[tuple[str, Receiver]]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            delivery_id = self.headers.get(DELIVERY_ID_HEADER, "")
            state.arrivals.append(time.monotonic())
            if delivery_id in state.handled:
                state.dropped.append(delivery_id)
            else:
                state.handled.append(delivery_id)
                state.hold_first.wait(60)  # acted on; the answer is slow to leave
            try:
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:
                pass  # the worker is gone

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", state
    finally:
        state.hold_first.set()
        server.shutdown()
        server.server_close()


def pending_delivery(url: str) -> Delivery:
    channel, _secret = services.channel_create(slug="forum", name="Forum", kind="forum")
    Channel.objects.filter(pk=channel.pk).update(outbound_url=url)  # loopback: the test's receiver
    with transaction.atomic():
        query_id, _created = services.query_receive(
            channel=Channel.objects.get(pk=channel.pk),
            inbound=services.Inbound(external_id="ext-1", text="Where is my order?", author_handle="@cust"),
        )
    return Delivery.objects.create(
        channel_id=channel.pk, query_id=query_id, payload={"answer_id": 1, "body": "On its way."}
    )


def test_a_delivery_whose_worker_is_killed_mid_post_resumes_after_its_lease_with_the_same_id(
    fault_env: dict[str, str], workers: list[Worker], receiver: tuple[str, Receiver], settings: Any
) -> None:
    url, state = receiver
    env = {**fault_env, "ENGAGE_CELERY_VISIBILITY_TIMEOUT": "2", "ENGAGE_OUTBOUND_ALLOW_LOOPBACK": "1"}
    settings.ENGAGE_HOT_JOBS_BY_RELAY = False  # published at commit
    delivery = pending_delivery(url)
    first = Worker(env).start()
    workers.append(first)
    with transaction.atomic():
        jobs.enqueue("engage.deliver", delivery.pk, 0)
    wait_for(lambda: state.handled, timeout=30, what="the first attempt to reach the receiver")
    first.kill()
    killed_at = time.monotonic()
    state.hold_first.set()

    # kombu's Redis transport restores unacknowledged messages older than the visibility
    # timeout when a worker starts and then only every hundred seconds or so (a restore every
    # tenth of its 10 s cycles): the next worker must start once the job is older than that
    # timeout (2 s here), or its first restore finds it too young and the next comes too late.
    time.sleep(float(env["ENGAGE_CELERY_VISIBILITY_TIMEOUT"]) + 1)
    workers.append(Worker(env).start())  # Redis hands it the unacknowledged job
    delivered = wait_for(
        lambda: Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.DELIVERED).first(),
        timeout=75,
        interval=0.25,
        what="the redelivered job to send it again once the lease ended",
    )
    resent_after = state.arrivals[-1] - killed_at
    print(f"sent again {resent_after:.1f} s after the worker was killed (lease {services.DELIVERY_ATTEMPT_LEASE})")
    assert state.handled == [str(delivery.pk)], "the receiver acted on the answer once"
    assert state.dropped == [str(delivery.pk)], "the duplicate came with the same id and was dropped"
    assert len(state.arrivals) == 2
    lease = services.DELIVERY_ATTEMPT_LEASE.total_seconds()
    assert resent_after < lease + 15, "seconds after the lease, not the 5-minute sweep"
    assert delivered.attempts == 1
