"""Every URL the project answers reaches its own view: no route is shadowed by one before it.

The order of ``config.urls`` is chosen for speed (Django tries routes in order, and the
engage API's busiest operations come first), so the order must never change which view
answers an address.
"""

from __future__ import annotations

import pytest
from django.urls import resolve
from django.urls.resolvers import RoutePattern, URLPattern, URLResolver

from tests.platform.test_sign_in_required import PATTERNS, _address

ROUTES = [(key, route, pattern) for key, route, pattern in PATTERNS if isinstance(pattern.pattern, RoutePattern)]


def test_the_engage_api_is_tried_first() -> None:
    from config.urls import api_v1

    first = api_v1[0]
    assert isinstance(first, URLResolver)
    assert first.urlconf_module.__name__ == "engage.api_urls"


@pytest.mark.parametrize(("key", "route", "pattern"), ROUTES, ids=[f"{key} {route}" for key, route, _p in ROUTES])
def test_each_address_resolves_to_its_own_view(key: str, route: str, pattern: URLPattern) -> None:
    match = resolve(_address(route))
    assert match.func is pattern.callback, f"{_address(route)} ({key}) is answered by {match.view_name}"
