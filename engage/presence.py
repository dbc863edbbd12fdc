"""Presence on the query page: who else has the query open, and who is typing a reply.

The page posts a heartbeat every 3 seconds (htmx), saying whether the person typed in the
answer box in the last few seconds; the answer lists the others. Nothing is written to the
database, and a person who closes the page drops out ``PRESENCE_SECONDS`` after their last
heartbeat. Where the heartbeats are kept depends on the cache the deployment has:

- **A shared cache (Redis, production):** under keys that expire by themselves, one per
  person and query, and the query's list of who was there, so every web process sees every
  heartbeat. Two heartbeats at the same moment may each miss the other once; the next adds
  it back.
- **The process's own memory (the embedded default: no ``REDIS_URL``, Django's local-memory
  cache):** a table in this process, under a lock, so that it is exact for everyone this
  process serves — ``make run`` serves one process — and nothing else in the cache (whose
  local-memory form drops entries once it holds 300) can push a person out. Several web
  processes without Redis would each see only their own heartbeats: such a deployment needs
  ``REDIS_URL`` (as its cache and jobs do anyway, README "How it scales").
- **No working store** (Redis unreachable — ``config.cache`` then answers misses — or a
  dummy cache): a heartbeat cannot find even itself, so it cannot know who else is there.
  The page says so ("can't show who else has this open") instead of showing the person
  alone, and recovers by itself at the next heartbeat that finds its store again.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from accounts.models import User
from engage import selectors

PRESENCE_SECONDS = 10  # a heartbeat every 3 s keeps a person present; two missed ones drop them
PROCESS_LOCAL_CACHES = frozenset({"django.core.cache.backends.locmem.LocMemCache"})
UNAVAILABLE = "unavailable"  # the signature of "can't tell", never a list's


@dataclass(frozen=True)
class Present:
    user_id: int
    name: str
    typing: bool


def _name(user: User) -> str:
    return user.name or "A colleague"


def _sorted(others: list[Present]) -> list[Present]:
    return sorted(others, key=lambda present: (present.name, present.user_id))


# --- The shared cache ----------------------------------------------------------------------------


def _key(query_id: int, user_id: int) -> str:
    return f"presence:{query_id}:{user_id}"


def _who(query_id: int) -> str:
    return f"presence:{query_id}:who"


def _cache_heartbeat(*, query_id: int, user: User, typing: bool) -> list[Present] | None:
    cache.set(_key(query_id, user.pk), {"name": _name(user), "typing": typing}, PRESENCE_SECONDS)
    who = set(cache.get(_who(query_id)) or [])
    who.add(user.pk)
    found = cache.get_many([_key(query_id, user_id) for user_id in who])
    if _key(query_id, user.pk) not in found:
        return None  # what was just stored is not there: the cache keeps nothing now
    alive = sorted(user_id for user_id in who if _key(query_id, user_id) in found)
    cache.set(_who(query_id), alive, PRESENCE_SECONDS)
    return _sorted(
        [
            Present(user_id=user_id, name=str(found[_key(query_id, user_id)]["name"]),
                    typing=bool(found[_key(query_id, user_id)]["typing"]))
            for user_id in alive
            if user_id != user.pk
        ]
    )  # fmt: skip


# --- This process's memory -----------------------------------------------------------------------


class ProcessBoard:
    """Who has which query open, as this process heard it: ``{query: {person: (expires, name,
    typing)}}`` on the monotonic clock, read and written under one lock (``manage.py serve``
    answers requests on threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queries: dict[int, dict[int, tuple[float, str, bool]]] = {}

    def heartbeat(self, *, query_id: int, user: User, typing: bool, at: float) -> list[Present]:
        with self._lock:
            self._forget_before(at)
            here = self._queries.setdefault(query_id, {})
            here[user.pk] = (at + PRESENCE_SECONDS, _name(user), typing)
            others = [
                Present(user_id=user_id, name=name, typing=is_typing)
                for user_id, (_expires, name, is_typing) in here.items()
                if user_id != user.pk
            ]
        return _sorted(others)

    def _forget_before(self, at: float) -> None:
        for query_id in list(self._queries):
            here = self._queries[query_id]
            for user_id in [user_id for user_id, entry in here.items() if entry[0] <= at]:
                del here[user_id]
            if not here:
                del self._queries[query_id]

    def clear(self) -> None:
        with self._lock:
            self._queries.clear()


board = ProcessBoard()


def keeps_presence_in_process() -> bool:
    """Whether heartbeats are kept in this process (the cache is the process's own memory)."""
    return settings.CACHES["default"]["BACKEND"] in PROCESS_LOCAL_CACHES


def heartbeat(*, query_id: int, user: User, typing: bool, at: float | None = None) -> list[Present] | None:
    """Record that ``user`` has the query open (and whether they type); the others there,
    or ``None`` when presence cannot be told just now (no store keeps the heartbeats).

    ``at`` (the monotonic clock, now by default) applies to presence kept in the process;
    in a shared cache the keys expire by themselves.
    """
    if keeps_presence_in_process():
        return board.heartbeat(query_id=query_id, user=user, typing=typing, at=time.monotonic() if at is None else at)
    return _cache_heartbeat(query_id=query_id, user=user, typing=typing)


def _signature(others: list[Present] | None) -> str:
    if others is None:
        return UNAVAILABLE
    text = ";".join(f"{p.user_id}:{int(p.typing)}:{p.name}" for p in others)
    return hashlib.blake2s(text.encode(), digest_size=6).hexdigest()


@require_POST
def query_presence(request: HttpRequest, pk: int) -> HttpResponse:
    """The heartbeat: 204 while what is shown still holds, else the new list (or the notice
    that it cannot be told)."""
    user = request.user
    assert isinstance(user, User)
    selectors.query_get_for_user(user=user, id=pk, related=False)  # 404 for what they may not see
    others = heartbeat(query_id=pk, user=user, typing=request.POST.get("typing") == "1")
    signature = _signature(others)
    if request.POST.get("shown") == signature:
        return HttpResponse(status=204)
    return render(
        request,
        "engage/_presence_list.html",
        {"others": others or [], "unavailable": others is None, "signature": signature},
    )
