"""Presence on the query page (``engage.presence``): the heartbeat lists the others who have
the query open and who of them is typing; a person drops out when their heartbeats stop; 204
while the list shown is the same; 404 for a query the person may not see.

Both stores are exercised: a shared cache (Redis, as in production) and the embedded
default's process memory (the local-memory cache, no Redis), where presence is exact within
the one process. Without a working store the page says it cannot tell, rather than showing
the person alone."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.test import Client

from config.cache import breaker
from engage import presence
from tests.factories import DepartmentFactory, UserFactory

pytestmark = pytest.mark.django_db

LOCAL_MEMORY = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
NO_STORE = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
DEAD_REDIS = {"default": {"BACKEND": "config.cache.ResilientRedisCache", "LOCATION": "redis://127.0.0.1:1/0"}}


@pytest.fixture(autouse=True)
def _fresh_presence() -> Iterator[None]:
    presence.board.clear()
    breaker.down_until = 0.0
    yield
    presence.board.clear()
    breaker.down_until = 0.0


@pytest.fixture(params=["shared cache", "process memory"])
def store(request, settings) -> str:  # type: ignore[no-untyped-def]
    if request.param == "shared cache":
        if not django_settings.REDIS_URL:
            pytest.skip("needs Redis (REDIS_URL)")
        settings.CACHES = {
            "default": {"BACKEND": "config.cache.ResilientRedisCache", "LOCATION": django_settings.REDIS_URL}
        }
    else:
        settings.CACHES = LOCAL_MEMORY
    return str(request.param)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def beat(client: Client, query_id: int, **data: str):
    return client.post(f"/queries/{query_id}/presence/", data)


def shown_in(html: str) -> str:
    return re.search(r'name="shown" value="([0-9a-z]+)"', html).group(1)


def test_the_heartbeat_lists_the_others_and_who_types(store, owner, colleague, make_query, department):
    assert presence.keeps_presence_in_process() is (store == "process memory")
    query = make_query(department=department)
    cache.delete(f"presence:{query.pk}:who")
    ana, ben = client_for(owner), client_for(colleague)
    first = beat(ana, query.pk)
    assert first.status_code == 200
    assert "Also here" not in first.content.decode()  # alone
    assert "Can't show" not in first.content.decode()
    shown_alone = shown_in(first.content.decode())
    assert beat(ana, query.pk, shown=shown_alone).status_code == 204  # still alone: nothing to swap

    html = beat(ben, query.pk, typing="1").content.decode()
    assert f"<strong>{owner.name}</strong>" in html
    assert "typing" not in html  # Ana is not typing
    html = beat(ana, query.pk, shown=shown_alone).content.decode()
    assert f"Also here: <strong>{colleague.name}</strong>" in html
    assert "(typing a reply…)" in html
    assert owner.name not in html  # never yourself
    shown = shown_in(html)
    assert beat(ana, query.pk, shown=shown).status_code == 204
    beat(ben, query.pk, typing="0")
    assert "typing" not in beat(ana, query.pk, shown=shown).content.decode()

    # Ben stops beating (he closed the page): once his presence lapses he is gone from Ana's list.
    if store == "shared cache":
        cache.delete(f"presence:{query.pk}:{colleague.pk}")  # what Redis's expiry does
        assert "Also here" not in beat(ana, query.pk).content.decode()
    else:
        later = time.monotonic() + presence.PRESENCE_SECONDS + 1
        assert presence.heartbeat(query_id=query.pk, user=owner, typing=False, at=later) == []


def test_in_process_presence_keeps_a_person_while_they_beat_and_forgets_them_after(
    settings, owner, colleague, make_query, department
):  # type: ignore[no-untyped-def]
    settings.CACHES = LOCAL_MEMORY
    query, other = make_query(department=department), make_query(department=department)
    start = time.monotonic()
    assert presence.heartbeat(query_id=query.pk, user=colleague, typing=True, at=start) == []
    seen = presence.heartbeat(query_id=query.pk, user=owner, typing=False, at=start + 3)
    assert [(p.user_id, p.typing) for p in seen] == [(colleague.pk, True)]
    assert presence.heartbeat(query_id=other.pk, user=owner, typing=False, at=start + 3) == []  # per query
    # Ben's last heartbeat was at `start`: still there just before it lapses, gone just after.
    before = presence.heartbeat(query_id=query.pk, user=owner, typing=False, at=start + presence.PRESENCE_SECONDS - 0.1)
    assert [p.user_id for p in before] == [colleague.pk]
    assert presence.heartbeat(query_id=query.pk, user=owner, typing=False, at=start + presence.PRESENCE_SECONDS) == []
    # Nothing outlives its people: once everyone has lapsed the table is empty.
    presence.heartbeat(query_id=other.pk, user=colleague, typing=False, at=start + 100)
    assert presence.board._queries == {
        other.pk: {colleague.pk: (start + 100 + presence.PRESENCE_SECONDS, colleague.name, False)}
    }


def test_in_process_presence_loses_nobody_when_heartbeats_arrive_at_once(settings, department):
    settings.CACHES = LOCAL_MEMORY
    people = [UserFactory(department=department) for _ in range(20)]
    barrier = threading.Barrier(len(people))

    def arrive(person) -> None:  # type: ignore[no-untyped-def]
        barrier.wait(timeout=10)
        presence.heartbeat(query_id=1, user=person, typing=False)

    threads = [threading.Thread(target=arrive, args=(person,)) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    others = presence.heartbeat(query_id=1, user=people[0], typing=False)
    assert sorted(p.user_id for p in others) == sorted(person.pk for person in people[1:])


@pytest.mark.parametrize("caches", [DEAD_REDIS, NO_STORE], ids=["Redis unreachable", "a dummy cache"])
def test_without_a_store_that_keeps_heartbeats_the_page_says_it_cannot_tell(
    caches, settings, owner, colleague, make_query, department
):  # type: ignore[no-untyped-def]
    query = make_query(department=department)
    settings.CACHES = LOCAL_MEMORY
    beat(client_for(colleague), query.pk)  # a colleague is there, but the store goes away
    settings.CACHES = caches
    response = beat(client_for(owner), query.pk)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Can't show who else has this query open right now" in html
    assert "Also here" not in html  # not shown alone: that would be a claim it cannot make
    assert shown_in(html) == presence.UNAVAILABLE
    assert beat(client_for(owner), query.pk, shown=presence.UNAVAILABLE).status_code == 204  # no swap every beat
    # The store is back: the next heartbeat shows the list again by itself.
    settings.CACHES = LOCAL_MEMORY
    breaker.down_until = 0.0
    html = beat(client_for(owner), query.pk, shown=presence.UNAVAILABLE).content.decode()
    assert f"Also here: <strong>{colleague.name}</strong>" in html


def test_presence_is_only_for_who_may_see_the_query(owner, make_query, department):
    elsewhere = DepartmentFactory(slug="finance", name="Finance")
    hidden = make_query(department=elsewhere)
    assert beat(client_for(owner), hidden.pk).status_code == 404
    outsider = UserFactory(department=department)
    assert beat(Client(), hidden.pk).status_code == 302  # signed out: to the sign-in page
    assert client_for(outsider).get(f"/queries/{hidden.pk}/presence/").status_code == 405
