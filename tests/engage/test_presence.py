"""Presence on the query page (``engage.presence``): the heartbeat lists the others who have
the query open and who of them is typing; a person drops out when their key expires; 204
while the list shown is the same; 404 for a query the person may not see."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.test import Client

from tests.factories import DepartmentFactory, UserFactory

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def beat(client: Client, query_id: int, **data: str):  # type: ignore[no-untyped-def]
    return client.post(f"/queries/{query_id}/presence/", data)


def test_the_heartbeat_lists_the_others_and_who_types(owner, colleague, make_query, department):
    query = make_query(department=department)
    cache.delete(f"presence:{query.pk}:who")
    ana, ben = client_for(owner), client_for(colleague)
    first = beat(ana, query.pk)
    assert first.status_code == 200
    assert "Also here" not in first.content.decode()  # alone
    shown_alone = re.search(r'name="shown" value="([0-9a-f]+)"', first.content.decode()).group(1)
    assert beat(ana, query.pk, shown=shown_alone).status_code == 204  # still alone: nothing to swap

    html = beat(ben, query.pk, typing="1").content.decode()
    assert f"<strong>{owner.name}</strong>" in html
    assert "typing" not in html  # Ana is not typing
    html = beat(ana, query.pk, shown=shown_alone).content.decode()
    assert f"Also here: <strong>{colleague.name}</strong>" in html
    assert "(typing a reply…)" in html
    assert owner.name not in html  # never yourself
    shown = re.search(r'name="shown" value="([0-9a-f]+)"', html).group(1)
    assert beat(ana, query.pk, shown=shown).status_code == 204
    beat(ben, query.pk, typing="0")
    assert "typing" not in beat(ana, query.pk, shown=shown).content.decode()

    # Ben's key expires (he closed the page): he is gone from Ana's list.
    cache.delete(f"presence:{query.pk}:{colleague.pk}")
    assert "Also here" not in beat(ana, query.pk).content.decode()


def test_presence_is_only_for_who_may_see_the_query(owner, make_query, department):
    elsewhere = DepartmentFactory(slug="finance", name="Finance")
    hidden = make_query(department=elsewhere)
    assert beat(client_for(owner), hidden.pk).status_code == 404
    outsider = UserFactory(department=department)
    assert beat(Client(), hidden.pk).status_code == 302  # signed out: to the sign-in page
    assert client_for(outsider).get(f"/queries/{hidden.pk}/presence/").status_code == 405
