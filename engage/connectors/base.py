"""The adapter design every connector follows.

A connector is a module with one object satisfying :class:`Connector`: the settings a
channel of its kind needs (plain ``config`` and secret ``credentials``), a check of them
(run when the channel is saved), and ``send``, which posts an answer where the customer
is, threaded, and returns an :class:`engage.outbound.Outcome` (``remote_id`` set to the
source's id of the post). Its inbound side turns the source's events into
:class:`engage.services.Inbound` values (a stable ``external_id``; ``thread_id`` and
``in_reply_to`` for follow-ups) handed to :func:`engage.connectors.inbound.receive`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from engage import outbound
from engage.models import Channel, Delivery


class Invalid(Exception):
    """A setting is wrong; ``field`` names it as the API does (``config.base_url``)."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Setting:
    """One field a channel of a connector's kind is made with."""

    name: str
    label: str
    type: str = "text"  # text, url, int, bool, list, choice
    required: bool = True
    default: Any = None
    choices: tuple[str, ...] = ()
    help: str = ""


@dataclass(frozen=True)
class Reply:
    """An answer on its way back: the delivery's payload and the thread it answers."""

    delivery: Delivery
    payload: dict[str, Any]  # the signed webhook's body (API.md, Outbound delivery)
    body: str  # the answer, Markdown
    thread_id: str  # the query's external id: where the conversation started
    in_reply_to: str  # the customer's latest message's external id (the thread's, if none)
    author_name: str = ""
    rating_url: str = ""

    @classmethod
    def of(cls, *, delivery: Delivery, payload: dict[str, Any]) -> Reply:
        thread_id = str(payload.get("thread_id") or payload.get("query_external_id") or "")
        author = payload.get("author")
        return cls(
            delivery=delivery,
            payload=payload,
            body=str(payload.get("body") or ""),
            thread_id=thread_id,
            in_reply_to=str(payload.get("in_reply_to") or thread_id),
            author_name=str(author.get("name") or "") if isinstance(author, dict) else "",
            rating_url=str(payload.get("rating_url") or ""),
        )


class Connector(Protocol):
    kind: str
    config: tuple[Setting, ...]
    credentials: tuple[Setting, ...]

    def check(self, *, config: dict[str, Any]) -> None:
        """Raise :class:`Invalid` for settings that cannot work (an unsafe base URL)."""

    def send(self, *, channel: Channel, credentials: dict[str, str], reply: Reply) -> outbound.Outcome:
        """Post the reply; never raises (a failure is an ``Outcome``; ``permanent`` if retrying cannot help)."""
        ...


def check_base_url(url: str, *, field: str) -> str:
    """A connector's base URL: http(s), no credentials, and not resolving to a private address.

    Every request vets it again (``engage.outbound.request``), redirects included.
    """
    try:
        url = outbound.validate_url(url)
    except outbound.OutboundRefused as exc:
        raise Invalid(str(exc).replace("outbound URL", "base URL"), field=field) from None
    if outbound.is_local(url):
        raise Invalid("Give the site's address, such as https://forum.example.com.", field=field)
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        raise Invalid("The base URL takes no query or fragment.", field=field)
    return url.rstrip("/")


def check_host(host: str, port: int, *, field: str) -> None:
    """A mail server's host, vetted like a URL's (resolved, never connected to, here)."""
    try:
        outbound.vet_host(host, port)
    except outbound.OutboundRefused as exc:
        raise Invalid(f"{host} may not be reached: {exc}", field=field) from None
