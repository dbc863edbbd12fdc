"""Outbound delivery: signed, retried with backoff into a dead letter an admin can retry,
and never sent to loopback, link-local, private or reserved addresses.

Every test here runs with a guard on the socket layer: asked to connect anywhere but
loopback, it fails the test before any packet leaves, so even a broken SSRF check could
not reach another machine. Redirects are served by a local test server on 127.0.0.1.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Notification
from config.models import OutboxJob
from engage import outbound, ratings, services, signing
from engage.models import Channel, Delivery
from tests.engage.conftest import names_field

pytestmark = pytest.mark.django_db

LOOPBACK = {"127.0.0.1", "::1"}


class GuardTripped(BaseException):
    """Raised by the socket guard (a BaseException so no `except Exception` swallows it)."""


@pytest.fixture(autouse=True)
def socket_guard(monkeypatch) -> list[Any]:
    """Make any connection to a non-loopback address fail the test; record every attempt."""
    attempts: list[Any] = []
    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex

    def check(sock: socket.socket, address: Any) -> None:
        attempts.append(address)
        if sock.family == socket.AF_UNIX:
            return
        host = address[0]
        if host not in LOOPBACK:
            raise GuardTripped(f"test tried to connect to {address!r}")

    def guarded_connect(sock: socket.socket, address: Any) -> None:
        check(sock, address)
        return original_connect(sock, address)

    def guarded_connect_ex(sock: socket.socket, address: Any) -> int:
        check(sock, address)
        return original_connect_ex(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
    return attempts


class Recorder:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.routes: dict[str, tuple[int, dict[str, str]]] = {}
        self.default: tuple[int, dict[str, str]] = (200, {})


@pytest.fixture
def local_server() -> Iterator[tuple[str, Recorder]]:
    """A plain HTTP server on 127.0.0.1 recording what it receives; answers per path."""
    recorder = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            recorder.requests.append(
                {"path": self.path, "headers": dict(self.headers.items()), "body": self.rfile.read(length)}
            )
            code, headers = recorder.routes.get(self.path, recorder.default)
            self.send_response(code)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", recorder
    finally:
        server.shutdown()
        server.server_close()


# --- The guard itself ----------------------------------------------------------------------------


def test_the_guard_fails_any_connection_beyond_loopback(socket_guard):
    with pytest.raises(GuardTripped):
        socket.create_connection(("10.0.0.1", 80), timeout=0.1)
    assert socket_guard == [("10.0.0.1", 80)]


# --- Refused targets ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://[::1]:9/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/hook",
        "http://10.255.255.254:8080/hook",
        "http://192.168.1.1/",
        "http://172.16.0.1/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://localhost:9/hook",
        "https://localhost/hook",
    ],
)
def test_refused_targets_are_never_connected_to(url, socket_guard):
    outcome = outbound.post_signed(url, {"x": 1}, secret="s")
    assert outcome.ok is False
    assert outcome.permanent is True
    assert "refused" in outcome.error or "not a public address" in outcome.error
    assert socket_guard == [], "nothing may be connected to"


def test_a_name_resolving_to_loopback_is_refused(socket_guard):
    assert {info[4][0] for info in socket.getaddrinfo("localhost", 80)} <= LOOPBACK  # precondition
    with pytest.raises(outbound.OutboundRefused):
        outbound.resolve("localhost", 80)
    assert socket_guard == []


def test_a_redirect_to_a_private_address_is_refused(local_server, settings, socket_guard):
    settings.ENGAGE_OUTBOUND_ALLOW_LOOPBACK = True  # only so the local test server is reachable
    base, recorder = local_server
    recorder.routes["/hook"] = (302, {"Location": "http://10.0.0.1/steal"})
    outcome = outbound.post_signed(f"{base}/hook", {"x": 1}, secret="s")
    assert outcome.ok is False
    assert outcome.permanent is True
    assert "10.0.0.1" in outcome.error
    assert [request["path"] for request in recorder.requests] == ["/hook"]
    assert all(address[0] in LOOPBACK for address in socket_guard)


def test_a_redirect_to_the_metadata_address_by_relative_hops_is_refused(local_server, settings, socket_guard):
    settings.ENGAGE_OUTBOUND_ALLOW_LOOPBACK = True
    base, recorder = local_server
    recorder.routes["/a"] = (307, {"Location": "/b"})
    recorder.routes["/b"] = (308, {"Location": "http://169.254.169.254/latest/meta-data/"})
    outcome = outbound.post_signed(f"{base}/a", {"x": 1}, secret="s")
    assert outcome.ok is False
    assert "169.254.169.254" in outcome.error
    assert [request["path"] for request in recorder.requests] == ["/a", "/b"]


def test_loopback_stays_refused_unless_explicitly_allowed(local_server, socket_guard):
    base, recorder = local_server
    outcome = outbound.post_signed(f"{base}/hook", {"x": 1}, secret="s")
    assert outcome.ok is False
    assert outcome.permanent is True
    assert recorder.requests == []
    assert socket_guard == []


def test_redirects_are_followed_at_most_three_times(local_server, settings):
    settings.ENGAGE_OUTBOUND_ALLOW_LOOPBACK = True
    base, recorder = local_server
    for hop in range(5):
        recorder.routes[f"/r{hop}"] = (307, {"Location": f"/r{hop + 1}"})
    recorder.routes["/r5"] = (200, {})
    outcome = outbound.post_signed(f"{base}/r0", {"x": 1}, secret="s")
    assert outcome.ok is False
    assert len(recorder.requests) == 4  # the first request and three redirects
    recorder.requests.clear()
    followed = outbound.post_signed(f"{base}/r2", {"x": 1}, secret="s")
    assert followed.ok is True
    assert [request["path"] for request in recorder.requests] == ["/r2", "/r3", "/r4", "/r5"]


def test_channel_outbound_urls_must_be_http(admin_user, api):
    response = api(admin_user).post(
        "/api/v1/channels/",
        {"slug": "x", "name": "X", "kind": "web", "outbound_url": "file:///etc/passwd"},
        format="json",
    )
    assert response.status_code == 400
    assert names_field(response.json(), "outbound_url")


SAVE_REFUSED = [
    "http://127.0.0.1:9/hook",
    "http://localhost:9/hook",
    "http://[::1]/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.255.255.1/hook",  # would hang, were it ever connected to
    "http://192.168.1.1/",
    "http://172.16.0.1/",
    "http://100.64.0.1/",
    "http://0.0.0.0/",
    "http://[::ffff:10.0.0.1]/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
]


@pytest.mark.parametrize("url", SAVE_REFUSED)
def test_a_channel_pointing_at_a_private_address_is_refused_when_saved(url, admin_user, api, socket_guard):
    client = api(admin_user)
    made = client.post(
        "/api/v1/channels/", {"slug": "x", "name": "X", "kind": "web", "outbound_url": url}, format="json"
    )
    assert made.status_code == 400
    assert names_field(made.json(), "outbound_url")
    assert "public address" in json.dumps(made.json())
    assert not Channel.objects.filter(slug="x").exists()

    services.channel_create(slug="y", name="Y", kind="web")
    changed = client.patch("/api/v1/channels/y/", {"outbound_url": url}, format="json")
    assert changed.status_code == 400
    assert names_field(changed.json(), "outbound_url")
    assert Channel.objects.get(slug="y").outbound_url == ""
    services_ports = {5432, 6379}  # the database and Redis the test itself uses
    outbound_attempts = [a for a in socket_guard if isinstance(a, tuple) and a[1] not in services_ports]
    assert outbound_attempts == [], "resolved and checked, never connected to"


def test_the_new_channel_page_refuses_a_private_address_as_the_fields_error(admin_user, socket_guard):
    client = Client()
    client.force_login(admin_user)
    url = "http://169.254.169.254/latest/meta-data/"
    page = client.post("/channels/", {"slug": "meta", "name": "Meta", "kind": "web", "outbound_url": url})
    assert page.status_code == 400
    html = page.content.decode()
    assert "public address" in html
    assert 'name="outbound_url" aria-invalid="true"' in html
    assert f'value="{url}"' in html
    assert not Channel.objects.filter(slug="meta").exists()


def test_a_public_or_not_yet_resolvable_address_is_kept_and_vetted_again_at_delivery(admin_user, api, settings):
    client = api(admin_user)
    for slug, url in (("pub", "https://93.184.215.14/hook"), ("later", "https://hooks.engage-test.invalid/in")):
        made = client.post(
            "/api/v1/channels/", {"slug": slug, "name": slug, "kind": "web", "outbound_url": url}, format="json"
        )
        assert made.status_code == 201, made.content
        assert Channel.objects.get(slug=slug).outbound_url == url
    settings.ENGAGE_OUTBOUND_ALLOW_LOOPBACK = True  # a test receiver on loopback, as the delivery tests use
    assert services.channel_update(channel=Channel.objects.get(slug="pub"), outbound_url="http://127.0.0.1:9/x")


# --- Delivery of published answers --------------------------------------------------------------


def _publish_on(channel: Channel, responder, make_query, department, capture) -> Any:
    query = make_query(department=department)
    services.query_claim(user=responder, query_id=query.pk)
    with capture(execute=True):
        answer = services.answer_submit(user=responder, query_id=query.pk, body="Here is *how*.")
    return query, answer


def test_a_published_answer_is_delivered_signed(
    channel, responder, make_query, department, local_server, settings, django_capture_on_commit_callbacks
):
    settings.ENGAGE_OUTBOUND_ALLOW_LOOPBACK = True
    base, recorder = local_server
    services.channel_update(channel=channel.channel, outbound_url=f"{base}/inbox")
    query, answer = _publish_on(channel.channel, responder, make_query, department, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get(answer=answer)
    assert delivery.status == "delivered"
    assert delivery.attempts == 1
    (request,) = recorder.requests
    body = json.loads(request["body"])
    assert body == {
        "query_external_id": query.external_id,
        "thread_id": query.external_id,  # additions: the thread and the customer message answered
        "in_reply_to": query.external_id,
        "answer_id": answer.pk,
        "body": "Here is *how*.",
        "body_html": answer.body_html,
        "author": {"name": responder.name},
        "published_at": answer.published_at.isoformat(),
        "rating_url": ratings.link_for(answer_id=answer.pk, published_at=answer.published_at),
    }
    stamp = request["headers"]["X-Engage-Timestamp"]
    expected = signing.signature(channel.secret, stamp, request["body"])
    assert request["headers"]["X-Engage-Signature"] == f"v1={expected}"


def test_without_an_outbound_url_the_local_adapter_records_the_delivery(
    channel, responder, make_query, department, django_capture_on_commit_callbacks, socket_guard
):
    _query, answer = _publish_on(channel.channel, responder, make_query, department, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get(answer=answer)
    assert delivery.status == "delivered"
    assert delivery.target == "local"
    assert delivery.payload["answer_id"] == answer.pk
    assert socket_guard == []


def test_failures_back_off_then_become_a_dead_letter_an_admin_can_retry(
    channel, responder, make_query, department, local_server, settings, admin_user, api,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    settings.ENGAGE_OUTBOUND_ALLOW_LOOPBACK = True
    base, recorder = local_server
    recorder.default = (503, {})
    services.channel_update(channel=channel.channel, outbound_url=f"{base}/inbox")
    _query, answer = _publish_on(channel.channel, responder, make_query, department, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get(answer=answer)
    assert delivery.status == "pending"
    assert delivery.attempts == 1
    assert delivery.last_status_code == 503
    wait = delivery.next_attempt_at - timezone.now()
    assert timedelta(seconds=20) < wait <= timedelta(seconds=30)
    assert OutboxJob.objects.filter(task_name="engage.deliver", run_after__isnull=False).exists()

    # Each failure doubles the wait; the schedule adds up to about an hour before giving up.
    waits = [services._backoff(n) for n in range(1, services.DELIVERY_MAX_ATTEMPTS)]
    assert waits == sorted(waits)
    assert 50 * 60 <= sum(waits) <= 75 * 60

    with django_capture_on_commit_callbacks(execute=True):  # runs the admins' notice job
        for _ in range(services.DELIVERY_MAX_ATTEMPTS - 1):
            Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
            services.delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "dead"
    assert delivery.attempts == services.DELIVERY_MAX_ATTEMPTS
    assert len(recorder.requests) == services.DELIVERY_MAX_ATTEMPTS
    # One idempotency key for every attempt of the delivery (README, "Outbound delivery").
    assert {request["headers"]["X-Engage-Delivery-Id"] for request in recorder.requests} == {str(delivery.pk)}
    assert services.delivery_attempt(delivery_id=delivery.pk) == "skipped"  # a dead letter is left alone

    # The admins' notice links to the page that lists the dead letter, with its Retry button.
    notice = Notification.objects.get(user=admin_user, kind="engage.delivery_dead")
    browser = Client()
    browser.force_login(admin_user)
    page = browser.get(notice.url)
    assert page.status_code == 200
    assert f'id="delivery-{delivery.pk}"' in page.content.decode()

    listed = api(admin_user).get("/api/v1/deliveries/?status=dead").json()["results"]
    assert [row["id"] for row in listed] == [delivery.pk]
    assert api(responder).get("/api/v1/deliveries/?status=dead").status_code == 403

    recorder.default = (204, {})
    with django_capture_on_commit_callbacks(execute=True):
        retried = api(admin_user).post(f"/api/v1/deliveries/{delivery.pk}/retry/")
    assert retried.status_code == 200
    delivery.refresh_from_db()
    assert delivery.status == "delivered"
    assert api(admin_user).post(f"/api/v1/deliveries/{delivery.pk}/retry/").status_code == 409


def test_a_refused_target_becomes_a_dead_letter_at_once(
    channel, responder, make_query, department, django_capture_on_commit_callbacks, socket_guard
):
    Channel.objects.filter(pk=channel.channel.pk).update(outbound_url="http://169.254.169.254/hook")
    _query, answer = _publish_on(channel.channel, responder, make_query, department, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get(answer=answer)
    assert delivery.status == "dead"
    assert "169.254.169.254" in delivery.last_error
    assert socket_guard == []


def test_a_second_run_of_the_same_attempt_sends_once(
    channel, responder, make_query, department, local_server, settings
):
    settings.ENGAGE_OUTBOUND_ALLOW_LOOPBACK = True
    base, recorder = local_server
    services.channel_update(channel=channel.channel, outbound_url=f"{base}/inbox")
    query = make_query(department=department)
    services.query_claim(user=responder, query_id=query.pk)
    answer = services.answer_submit(user=responder, query_id=query.pk, body="Once.")  # jobs not run
    delivery = Delivery.objects.get(answer=answer)
    assert services.delivery_attempt(delivery_id=delivery.pk) == "delivered"
    assert services.delivery_attempt(delivery_id=delivery.pk) == "skipped"
    assert len(recorder.requests) == 1


def test_a_job_that_finds_its_attempt_leased_waits_for_the_lease_instead_of_giving_up(
    channel, responder, make_query, department, local_server, settings, django_capture_on_commit_callbacks
):
    """A worker killed mid-attempt: the job comes back at once and finds the lease held."""
    settings.ENGAGE_OUTBOUND_ALLOW_LOOPBACK = True
    base, recorder = local_server
    recorder.default = (503, {})
    services.channel_update(channel=channel.channel, outbound_url=f"{base}/inbox")
    _query, answer = _publish_on(channel.channel, responder, make_query, department, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get(answer=answer)
    leased_until = timezone.now() + timedelta(seconds=12)  # as a killed attempt leaves it
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=leased_until)
    OutboxJob.objects.all().delete()
    assert services.delivery_attempt(delivery_id=delivery.pk, attempt=delivery.attempts) == "waiting"
    (job,) = OutboxJob.objects.filter(task_name="engage.deliver")
    assert job.args == [delivery.pk, delivery.attempts]
    assert leased_until <= job.run_after <= leased_until + timedelta(seconds=2), "as soon as the lease allows"
    assert timedelta(seconds=60) >= services.DELIVERY_ATTEMPT_LEASE
    # A job for an attempt already made is a duplicate: it goes away.
    assert services.delivery_attempt(delivery_id=delivery.pk, attempt=delivery.attempts - 1) == "skipped"
