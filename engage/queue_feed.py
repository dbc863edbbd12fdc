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
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.template.loader import get_template
from django.urls import reverse

from engage import selectors
from engage.models import Query, QueryStatus

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


def fingerprint_of(queries: list[Query], now: datetime) -> Fingerprint:
    return Fingerprint(rows=[(query.pk, row_signature(query, now)) for query in queries])


def read_fingerprint(queries: Any, *, cursor: str | None, page_size: int, now: datetime) -> Fingerprint:
    """The fingerprint of one page of ``queries`` (a filtered queue): one read of a few columns."""
    slim = queries.select_related(None).prefetch_related(None).only(*_FINGERPRINT_FIELDS)
    page = selectors.queue_page(slim, cursor=cursor, page_size=page_size)
    return fingerprint_of(page.results, now)


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
) -> HttpResponse:
    """304 while the page is current; else the page's new order and the rows it lacks."""
    current = read_fingerprint(queries, cursor=cursor, page_size=page_size, now=now)
    etag = current.etag
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
