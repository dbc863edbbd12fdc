"""The outbound adapter: POST a signed JSON body to a channel's ``outbound_url``.

Guarded against server-side request forgery. The host is resolved here, every address
it resolves to is vetted (loopback, link-local, private, reserved, multicast, unspecified
and shared addresses are refused, IPv4-mapped IPv6 included), and the connection is
made to the vetted address itself, so a second DNS answer cannot switch it. Redirects
are not followed by a library: up to three are followed here, each target vetted the
same way. Every request has a 10-second timeout.

A channel without an ``outbound_url`` (or with a ``local:`` one) uses the local adapter,
which only records the delivery: the embedded default and the tests.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from django.conf import settings

from engage import signing

TIMEOUT_SECONDS = 10.0
MAX_REDIRECTS = 3
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
LOCAL_TARGET = "local"
DELIVERY_ID_HEADER = "X-Engage-Delivery-Id"
MAX_RESPONSE_BYTES = 256 * 1024


class OutboundRefused(Exception):
    """The target may not be reached (a private address, a bad URL): retrying will not help."""


class Unresolved(OutboundRefused):
    """The host's name does not resolve (now)."""


@dataclass(frozen=True)
class Outcome:
    ok: bool
    target: str
    status_code: int | None = None
    error: str = ""
    permanent: bool = False  # no point retrying
    remote_id: str = ""  # the source's id of what was sent (a connector's post id, Message-ID, ts)


def is_local(url: str) -> bool:
    return not url.strip() or url.strip().lower().startswith("local:")


def validate_url(url: str) -> str:
    """A channel's ``outbound_url`` as it may be stored: empty, ``local:…`` or http(s) with a host."""
    url = url.strip()
    if is_local(url):
        return url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundRefused("The outbound URL must be an http or https URL with a host.")
    if parts.username or parts.password:
        raise OutboundRefused("The outbound URL must not carry credentials.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise OutboundRefused("The outbound URL's port is not a number from 1 to 65535.") from None
    _refuse_private_target(parts.hostname, port)
    return url


def _refuse_private_target(host: str, port: int) -> None:
    """At save: refuse a host that is, or resolves to, an address no delivery may reach.

    Resolved, never connected to. A name that does not resolve now is kept (DNS may not be
    set up yet); every delivery and every redirect resolves and vets it again anyway.
    """
    try:
        resolve(host, port)
    except Unresolved:
        return
    except OutboundRefused as exc:
        raise OutboundRefused(f"The outbound URL must point at a public address: {host} is not one ({exc}).") from None


def vet_host(host: str, port: int) -> None:
    """At save, for a connector's server: as :func:`_refuse_private_target`, raising the bare reason."""
    try:
        resolve(host, port)
    except Unresolved:
        return


def _allow_loopback() -> bool:
    return bool(getattr(settings, "ENGAGE_OUTBOUND_ALLOW_LOOPBACK", False))


def vet_address(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """``address`` if it is a public unicast address, else ``OutboundRefused``."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        raise OutboundRefused(f"{address!r} is not an IP address") from None
    candidates: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        for embedded in (ip.ipv4_mapped, ip.sixtofour, ip.teredo[1] if ip.teredo else None):
            if embedded is not None:
                candidates.append(embedded)
    for candidate in candidates:
        if candidate.is_loopback and _allow_loopback():
            continue
        if (
            candidate.is_loopback
            or candidate.is_link_local
            or candidate.is_private
            or candidate.is_reserved
            or candidate.is_multicast
            or candidate.is_unspecified
            or not candidate.is_global
        ):
            raise OutboundRefused(f"refused to connect to {candidate}: not a public address")
    return ip


def resolve(host: str, port: int) -> str:
    """One vetted address for ``host``; refused if *any* address it resolves to is not public."""
    try:
        literal = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        literal = None
    if literal is not None:
        vet_address(host)
        return str(literal)
    if host.lower().rstrip(".") == "invalid" or host.lower().rstrip(".").endswith(".invalid"):
        raise Unresolved(f"{host!r} is under .invalid, which never resolves (RFC 6761)")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Unresolved(f"cannot resolve {host!r}: {exc}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise Unresolved(f"{host!r} resolves to no address")
    for address in addresses:
        vet_address(address)
    return addresses[0]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Talks to ``host`` (Host header) over a socket to the vetted ``address``."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._address = address

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)


def _request_once(
    method: str, url: str, body: bytes | None, headers: dict[str, str]
) -> tuple[int, str | None, bytes, dict[str, str]]:
    """One request to ``url`` (vetted first): the status, a redirect's Location, and the body."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundRefused(f"refused {url!r}: only http and https URLs")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = resolve(parts.hostname, port)
    connection_class = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(parts.hostname, port, address=address, timeout=TIMEOUT_SECONDS)
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        content = response.read(MAX_RESPONSE_BYTES)
        return response.status, response.getheader("Location"), content, dict(response.getheaders())
    finally:
        connection.close()


def _post_once(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str | None]:
    status, location, _content, _headers = _request_once("POST", url, body, headers)
    return status, location


@dataclass(frozen=True)
class Answered:
    status: int
    body: bytes
    target: str  # the URL that answered, after any redirects
    headers: dict[str, str]


def request(method: str, url: str, *, body: bytes | None = None, headers: dict[str, str]) -> Answered:
    """A connector's call to its source's API, guarded like a delivery.

    The host of ``url`` and of every redirect (up to three, re-sent as they were) is
    resolved and vetted, and the connection made to the vetted address. Raises
    ``OutboundRefused`` (do not retry) or ``OSError`` / ``http.client.HTTPException``
    (retry); any answer, 4xx and 5xx included, is returned.
    """
    target = url
    for _hop in range(MAX_REDIRECTS + 1):
        status, location, content, answer_headers = _request_once(method, target, body, headers)
        if status in REDIRECT_STATUSES and location:
            target = urljoin(target, location)
            continue
        return Answered(status=status, body=content, target=target, headers=answer_headers)
    raise OutboundRefused(f"more than {MAX_REDIRECTS} redirects")


def post_signed(url: str, payload: dict[str, Any], *, secret: str, delivery_id: str | None = None) -> Outcome:
    """Deliver ``payload`` to ``url``, signed under ``secret``. Never raises.

    ``delivery_id`` goes out as ``X-Engage-Delivery-Id``, the same on every attempt of one
    delivery, so a receiver can drop the duplicate that at-least-once delivery implies.
    """
    if is_local(url):
        return Outcome(ok=True, target=LOCAL_TARGET, status_code=None)
    body = json.dumps(payload, separators=(",", ":"), default=str).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Engage-Outbound/1",
        **signing.sign(secret, body),
    }
    if delivery_id is not None:
        headers[DELIVERY_ID_HEADER] = delivery_id
    target = url
    try:
        for _hop in range(MAX_REDIRECTS + 1):
            status, location = _post_once(target, body, headers)
            if status in REDIRECT_STATUSES and location:
                # A webhook is re-sent as it was, wherever it is redirected (vetted again).
                target = urljoin(target, location)
                continue
            if 200 <= status < 300:
                return Outcome(ok=True, target=target, status_code=status)
            return Outcome(ok=False, target=target, status_code=status, error=f"HTTP {status}")
        return Outcome(ok=False, target=target, error=f"more than {MAX_REDIRECTS} redirects", permanent=True)
    except OutboundRefused as exc:
        return Outcome(ok=False, target=target, error=str(exc), permanent=True)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return Outcome(ok=False, target=target, error=f"{type(exc).__name__}: {exc}"[:2000])
