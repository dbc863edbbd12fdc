"""Presence on the query page: who else has the query open, and who is typing a reply.

The page posts a heartbeat every 3 seconds (htmx), saying whether the person typed in the
answer box in the last few seconds; the answer lists the others. Kept in Django's cache
(Redis in production) under keys that expire by themselves: one per person and query
(``PRESENCE_SECONDS``), and the query's list of who was there. Nothing is written to the
database, and a person who closes the page drops out when their key expires. (Without
Redis the cache is the process's own memory: presence then holds for one process, as
``make run`` serves.)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from accounts.models import User
from engage import selectors

PRESENCE_SECONDS = 10  # a heartbeat every 3 s keeps a person present; two missed ones drop them


@dataclass(frozen=True)
class Present:
    user_id: int
    name: str
    typing: bool


def _key(query_id: int, user_id: int) -> str:
    return f"presence:{query_id}:{user_id}"


def _who(query_id: int) -> str:
    return f"presence:{query_id}:who"


def heartbeat(*, query_id: int, user: User, typing: bool) -> list[Present]:
    """Record that ``user`` has the query open (and whether they type); return the others there."""
    cache.set(_key(query_id, user.pk), {"name": user.name or "A colleague", "typing": typing}, PRESENCE_SECONDS)
    who = set(cache.get(_who(query_id)) or [])
    who.add(user.pk)
    found = cache.get_many([_key(query_id, user_id) for user_id in who])
    alive = sorted(user_id for user_id in who if _key(query_id, user_id) in found)
    # Two heartbeats at once may each drop the other from this list; the next one adds it back.
    cache.set(_who(query_id), alive, PRESENCE_SECONDS)
    others = [
        Present(user_id=user_id, name=str(found[_key(query_id, user_id)]["name"]),
                typing=bool(found[_key(query_id, user_id)]["typing"]))
        for user_id in alive
        if user_id != user.pk
    ]  # fmt: skip
    return sorted(others, key=lambda present: (present.name, present.user_id))


def _signature(others: list[Present]) -> str:
    text = ";".join(f"{p.user_id}:{int(p.typing)}:{p.name}" for p in others)
    return hashlib.blake2s(text.encode(), digest_size=6).hexdigest()


@login_required
@require_POST
def query_presence(request: HttpRequest, pk: int) -> HttpResponse:
    """The heartbeat: 204 while the others shown are still the same, else the new list."""
    user = request.user
    assert isinstance(user, User)
    selectors.query_get_for_user(user=user, id=pk, related=False)  # 404 for what they may not see
    others = heartbeat(query_id=pk, user=user, typing=request.POST.get("typing") == "1")
    signature = _signature(others)
    if request.POST.get("shown") == signature:
        return HttpResponse(status=204)
    return render(request, "engage/_presence_list.html", {"others": others, "signature": signature})
