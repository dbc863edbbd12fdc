"""The live queue: what the queue page polls to stay current both ways.

The page shows one page of a filtered queue. Every few seconds its script asks this feed
"has my page changed?", sending the ETag of the page it shows (``If-None-Match``). The feed
reads the page's fingerprint — the rows' ids in order and, per row, a short signature of what
the row shows (status, holder, priority, department, overdue) — in one indexed read, and
answers ``304 Not Modified`` with no body while it is the same. When it differs it answers
the new order of ids with their signatures, and the rendered HTML of only the rows the page
lacks or shows out of date (the page sends the ``id.signature`` of each row it has), so rows
that did not change are never re-rendered and the person keeps their place and focus.

Why polling and not server-sent events: the server runs synchronous gunicorn workers
(2 x cores + 1), so a held-open stream per person would tie up one worker each; a few
hundred people on the queue page would need a few hundred workers. A conditional poll is
one short request whose 304 costs the session, the person and one read (see the note of
issue 13 and README for the figures measured).

The fingerprint is read from the database, not from a counter bumped by every write, so
nothing is added to the claim, answer and webhook paths, and changes that no write makes —
a claim that lapses, a query that becomes overdue — show up too.

Most polls do not even read it: each read is kept in the cache (Redis) for
``ENGAGE_QUEUE_FEED_CACHE_SECONDS`` (1.5 s) under the page's *scope* (what the person may
see, the filters, the page), and the page's feed address carries a signed token naming that
scope and bound to the person's session cookie. A poll whose token is good and whose ETag is
the one cached is answered ``304`` by :class:`NotModifiedMiddleware`, before the session or
the person is loaded and before the other middleware: no SQL at all.
Anything else (no token, another cookie, a different or expired ETag) takes the full,
authenticated path. The fast path answers only "nothing changed", so it shows nothing that
the person could not see; a change reaches the page within the poll interval plus the cache
time (2.5 + 1.5 s).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.template.loader import get_template
from django.urls import reverse

from engage import selectors
from engage.models import Query, QueryStatus

SIGNING_SALT = "engage.queue_feed"  # not a secret: separates these signatures from others
TOKEN_MAX_AGE = 12 * 3600  # a page left open longer takes the full path (and gets a fresh page)
DEFAULT_CACHE_SECONDS = 1.5

# How many rows the page may tell us it has (a page is 50; more is ignored, not an error).
HAVE_MAX = 200

# What a row's signature reads; the feed loads only these columns.
_FINGERPRINT_FIELDS = (
    "id",
    "state",
    "claimed_by_id",
    "claimed_until",
    "priority",
    "department_id",
    "sla_due_at",
    "routed_at",
)


def row_signature(query: Query, now: datetime) -> str:
    """Eight hex digits that change whenever what the queue row shows changes (save the
    ticking "due in" text): its status as of ``now``, holder, priority, department, routing,
    due time and whether it is overdue."""
    status = query.status_at(now)
    held = status in (QueryStatus.CLAIMED, QueryStatus.PENDING_REVIEW)
    late = query.sla_due_at < now and status not in (QueryStatus.ANSWERED, QueryStatus.CLOSED)
    parts = (
        status,
        query.claimed_by_id if held else None,
        query.claimed_until.isoformat() if status == QueryStatus.CLAIMED and query.claimed_until else None,
        query.priority,
        query.department_id,
        query.routed_at.isoformat() if query.routed_at else None,
        query.sla_due_at.isoformat(),
        late,
    )
    return hashlib.blake2s(repr(parts).encode(), digest_size=4).hexdigest()


@dataclass(frozen=True)
class Fingerprint:
    rows: list[tuple[int, str]]  # (id, signature), in the page's order

    @property
    def etag(self) -> str:
        text = ",".join(f"{pk}.{sig}" for pk, sig in self.rows)
        return '"' + hashlib.blake2s(text.encode(), digest_size=8).hexdigest() + '"'


def fingerprint_of(queries: list[Query], now: datetime, *, scope: str | None = None) -> Fingerprint:
    """The fingerprint of a page already read (the queue page's own rows); kept for the feed."""
    fingerprint = Fingerprint(rows=[(query.pk, row_signature(query, now)) for query in queries])
    if scope is not None:
        _remember(scope, fingerprint.etag)
    return fingerprint


def read_fingerprint(queries: Any, *, cursor: str | None, page_size: int, now: datetime) -> Fingerprint:
    """The fingerprint of one page of ``queries`` (a filtered queue): one read of a few columns."""
    slim = queries.select_related(None).prefetch_related(None).only(*_FINGERPRINT_FIELDS)
    page = selectors.queue_page(slim, cursor=cursor, page_size=page_size)
    return fingerprint_of(page.results, now)


def cache_seconds() -> float:
    return float(getattr(settings, "ENGAGE_QUEUE_FEED_CACHE_SECONDS", DEFAULT_CACHE_SECONDS))


def scope_key(*, sees_all: bool, department_id: int | None, mine_of: int | None, filters: str) -> str:
    """Who sees the same page: the visibility rule's inputs, the person when "mine", the filters and page."""
    text = f"{int(sees_all)}:{department_id or ''}:{mine_of or ''}:{filters}"
    return hashlib.blake2s(text.encode(), digest_size=12).hexdigest()


def _cookie_digest(request: HttpRequest) -> str:
    cookie = request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")
    return hashlib.blake2s(cookie.encode(), digest_size=8).hexdigest() if cookie else ""


def feed_token(request: HttpRequest, scope: str) -> str:
    """The signed token of the page's feed address: its scope, bound to this session cookie."""
    return signing.dumps([scope, _cookie_digest(request)], salt=SIGNING_SALT, compress=False)


def _remember(scope: str, etag: str) -> None:
    seconds = cache_seconds()
    if seconds > 0:
        cache.set(f"queue-feed:{scope}", [etag, time.time()], timeout=math.ceil(seconds) + 1)


def not_modified_fast(request: HttpRequest) -> HttpResponse | None:
    """``304`` without loading the session or the person, when the token is good, bound to this
    session cookie, and the ETag asked about is the scope's, read at most the cache time ago."""
    token = request.GET.get("t", "")
    asked = request.headers.get("If-None-Match", "").strip()
    if not token or not asked or cache_seconds() <= 0:
        return None
    try:
        scope, cookie = signing.loads(token, salt=SIGNING_SALT, max_age=TOKEN_MAX_AGE)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not cookie or cookie != _cookie_digest(request):
        return None
    cached = cache.get(f"queue-feed:{scope}")
    if not cached or cached[0] != asked or time.time() - cached[1] > cache_seconds():
        return None
    response = HttpResponse(status=304)
    response["ETag"] = asked
    response["Cache-Control"] = "private, no-cache"
    return response


class NotModifiedMiddleware:
    """Answers the feed's cached ``304`` first thing, before sessions, CSRF, CSP and the rest
    (a body-less ``304`` needs none of them); every other request passes through untouched."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.path = ""

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not self.path:
            self.path = reverse("engage:queue_live")
        if request.method == "GET" and request.path_info == self.path:
            fast = not_modified_fast(request)
            if fast is not None:
                return fast
        return self.get_response(request)


def parse_have(values: list[str]) -> dict[int, str]:
    """The rows the page says it shows, ``id.signature`` each; anything malformed is dropped."""
    have: dict[int, str] = {}
    for value in values[:HAVE_MAX]:
        pk, _, sig = value.strip().partition(".")
        if pk.isdigit() and len(pk) < 19 and len(sig) == 8 and all(c in "0123456789abcdef" for c in sig):
            have[int(pk)] = sig
    return have


def _announcement(joined: int, left: int) -> str:
    parts = []
    if joined == 1:
        parts.append("A query joined this list.")
    elif joined:
        parts.append(f"{joined} queries joined this list.")
    if left == 1:
        parts.append("A query left this list: someone claimed or finished it.")
    elif left:
        parts.append(f"{left} queries left this list: others claimed or finished them.")
    return " ".join(parts)


def feed_response(
    request: HttpRequest,
    *,
    queries: Any,
    cursor: str | None,
    page_size: int,
    now: datetime,
    back_url: str,
    scope: str,
) -> HttpResponse:
    """304 while the page is current; else the page's new order and the rows it lacks."""
    current = read_fingerprint(queries, cursor=cursor, page_size=page_size, now=now)
    etag = current.etag
    _remember(scope, etag)
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if etag in {tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")}:
        response = HttpResponse(status=304)
    else:
        have = parse_have(request.GET.getlist("have"))
        wanted = [pk for pk, sig in current.rows if have.get(pk) != sig]
        html: dict[str, str] = {}
        if wanted:
            # Rendered without the context processors (they are the page's, not a row's): the
            # row needs only the person and the form token.
            row_template = get_template("engage/_queue_row.html")
            shared = {"request": request, "csrf_token": get_token(request), "now": now, "back_url": back_url}
            fresh = {q.pk: q for q in selectors.with_list_relations(Query.objects.filter(pk__in=wanted))}
            for pk in wanted:
                if pk in fresh:
                    query = fresh[pk]
                    html[str(pk)] = row_template.render(
                        {
                            **shared,
                            "query": query,
                            "status": query.status_at(now),
                            "signature": row_signature(query, now),
                        }
                    )
        listed = {pk for pk, _sig in current.rows}
        joined = sum(1 for pk, _sig in current.rows if pk not in have)
        left = sum(1 for pk in have if pk not in listed)
        response = JsonResponse(
            {
                "etag": etag,
                "rows": [[pk, sig] for pk, sig in current.rows],
                "html": html,
                "announce": _announcement(joined, left),
            }
        )
    for name, value in headers.items():
        response[name] = value
    return response


def queue_url(query_string: str) -> str:
    return f"{reverse('engage:queue')}?{query_string}" if query_string else reverse("engage:queue")
