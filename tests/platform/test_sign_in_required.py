"""Sign-in is the default: a new view cannot be public by accident.

``LoginRequiredMiddleware`` sends an anonymous request for any page to the sign-in page
unless the view is marked ``@login_not_required``; DRF's views exempt themselves and
authenticate by token or session, answering 401/403 as JSON. This walks every URL pattern:
each one is a page the middleware protects, an API view that refuses an anonymous caller,
or named in the short public list below (with the reason it is public).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern
from rest_framework.views import APIView

# Pages anyone may open: signing in, and what reaches people who are not signed in.
PUBLIC_PAGES = {
    "accounts:login",
    "accounts:sign_in_code",  # the second step of signing in
    "accounts:break_glass",  # the administrators' emergency sign-in link
    "accounts:logout",
    "accounts:oidc_login",
    "accounts:oidc_callback",
    "accounts:password_reset",
    "accounts:password_reset_done",
    "accounts:password_reset_confirm",  # the reset link and the invitation land here
    "accounts:notification_bell",  # answers a signed-out poll itself: stop polling, offer sign-in
    "engage:rate",  # the customer's rating page, reached by a signed token
    "content:share_redirect",  # share links, followed by anyone a message was shared with
    "content:share_landing",
    "healthz",
    "readyz",
    "readyz_web",
    "admin:login",  # sends everyone to the one sign-in page
}
# API operations that take no session or token: they authenticate otherwise, or are the contract.
PUBLIC_API = {
    "api:token",  # POST signs in for a token (DELETE needs one)
    "api:password_reset",
    "api:channel_webhook",  # signed with the channel's secret (engage.webhooks)
    "api:channel_discourse",  # Discourse's outgoing webhook, signed with the channel's secret (engage.connectors)
    "api:channel_slack_events",  # Slack's Events API, signed with the app's signing secret (engage.connectors)
    "api:schema",
    "api:docs",
    "scim:config",  # SCIM's discovery, readable without a token (RFC 7644 §4)
    "scim:resource_types",
    "scim:resource_type",
    "scim:schemas",
    "scim:schema",
    "scim:not_found",
}
PLACEHOLDER = {"int": "1", "slug": "x", "str": "x", "path": "x"}


def url_patterns() -> Iterator[tuple[str, str, URLPattern]]:
    """(name with its namespaces, route, pattern) of every URL the project answers."""

    def walk(
        patterns: list[URLPattern | URLResolver], route: str, namespace: str
    ) -> Iterator[tuple[str, str, URLPattern]]:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                yield from walk(entry.url_patterns, route + str(entry.pattern), inner)
            else:
                yield f"{namespace}{entry.name}", route + str(entry.pattern), entry

    yield from walk(get_resolver().url_patterns, "/", "")


def _exempt(pattern: URLPattern) -> bool:
    return getattr(pattern.callback, "login_required", True) is False


def _is_api(pattern: URLPattern) -> bool:
    view_class = getattr(pattern.callback, "cls", None)
    return isinstance(view_class, type) and issubclass(view_class, APIView)


def _key(name: str, route: str) -> str:
    if route.startswith("/api/v1/"):
        return f"api:{name.rsplit(':', 1)[-1]}"
    if route.startswith("/scim/"):
        return f"scim:{name.rsplit(':', 1)[-1]}"
    return name


def _address(route: str) -> str:
    return re.sub(r"<(?:(\w+):)?\w+>", lambda m: PLACEHOLDER[m.group(1) or "str"], route)


PATTERNS = [(_key(name, route), route, pattern) for name, route, pattern in url_patterns()]


def test_the_middleware_asks_for_sign_in_after_authentication() -> None:
    middleware = settings.MIDDLEWARE
    required = "django.contrib.auth.middleware.LoginRequiredMiddleware"
    assert required in middleware
    assert middleware.index(required) > middleware.index("django.contrib.auth.middleware.AuthenticationMiddleware")


def test_every_public_view_is_in_the_public_list() -> None:
    """A page marked @login_not_required, or an API view, that is not listed must refuse strangers
    (checked below); a listed name that no longer exists is a stale list."""
    keys = {key for key, _route, _pattern in PATTERNS}
    assert not (PUBLIC_PAGES | PUBLIC_API) - keys, "listed as public but no such URL"
    unlisted_pages = sorted(
        f"{key} ({route})"
        for key, route, pattern in PATTERNS
        if _exempt(pattern) and not _is_api(pattern) and key not in PUBLIC_PAGES
    )
    assert not unlisted_pages, f"pages marked @login_not_required but not in PUBLIC_PAGES: {unlisted_pages}"
    listed_but_protected = sorted(
        key for key, _route, pattern in PATTERNS if key in PUBLIC_PAGES and not _exempt(pattern)
    )
    assert not listed_but_protected, f"in PUBLIC_PAGES but the middleware asks for sign-in: {listed_but_protected}"


def _protected_pages() -> list[tuple[str, str]]:
    return [
        (key, _address(route))
        for key, route, pattern in PATTERNS
        if not _exempt(pattern) and isinstance(pattern.pattern, RoutePattern)
    ]


def _guarded_api() -> list[tuple[str, str]]:
    return [
        (key, _address(route))
        for key, route, pattern in PATTERNS
        if _exempt(pattern) and _is_api(pattern) and key not in PUBLIC_API and isinstance(pattern.pattern, RoutePattern)
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(("key", "address"), _protected_pages(), ids=[key for key, _ in _protected_pages()])
def test_a_page_sends_a_stranger_to_sign_in(client, key: str, address: str) -> None:
    response = client.get(address)
    assert response.status_code == 302, (key, address, response.status_code)
    # The admin's own pages go by the admin's sign-in, which sends everyone on to the one sign-in page.
    sign_in = ("/login/", "/admin/login/") if key.startswith("admin:") else ("/login/",)
    assert response["Location"].startswith(tuple(f"{page}?next=" for page in sign_in)), (key, response["Location"])


@pytest.mark.django_db
@pytest.mark.parametrize(("key", "address"), _guarded_api(), ids=[key for key, _ in _guarded_api()])
def test_an_api_operation_refuses_a_stranger_in_json(client, key: str, address: str) -> None:
    response = client.get(address)
    assert response.status_code in (401, 403), (
        f"{key} ({address}) answered a stranger {response.status_code}: if it is public on purpose "
        "(it checks a signature instead), add it to PUBLIC_API with the reason"
    )
    assert response["Content-Type"].startswith(("application/json", "application/scim+json")), response["Content-Type"]
    assert response.json(), "the refusal says why"
