"""What the layout shows: the primary navigation and the cards on the home page.

Apps add to both from their ``wiring.wire()`` (called by ``AppConfig.ready()``) without
touching a template::

    from accounts.navigation import register_home_card, register_nav_item

    register_nav_item(key="queue", label="Queue", url_name="engage:queue", order=20)
    register_home_card(
        key="queue",
        template_name="engage/cards/queue.html",
        order=20,
        context=lambda request: {"open": query_count_open(user=request.user)},
    )

``roles`` limits an item or a card to people holding one of them (administrators hold
every role). URL names are resolved when a page is drawn; an item whose name does not
resolve (its app not mounted) is left out rather than breaking the page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from accounts.models import RoleName

CardContext = Callable[[HttpRequest], dict[str, Any]]


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    url_name: str
    order: int
    roles: frozenset[str] | None = None


@dataclass(frozen=True)
class VisibleNavItem:
    key: str
    label: str
    url: str
    current: bool


@dataclass(frozen=True)
class HomeCard:
    key: str
    template_name: str
    order: int
    roles: frozenset[str] | None = None
    context: CardContext | None = None


@dataclass(frozen=True)
class VisibleHomeCard:
    key: str
    template_name: str
    data: dict[str, Any]


_NAV_ITEMS: dict[str, NavItem] = {}
_HOME_CARDS: dict[str, HomeCard] = {}


def _role_set(roles: Iterable[str] | None) -> frozenset[str] | None:
    if roles is None:
        return None
    chosen = frozenset(roles)
    unknown = chosen - set(RoleName.values)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}; use accounts.models.RoleName")
    return chosen


def _may_see(user: Any, roles: frozenset[str] | None) -> bool:
    return roles is None or bool(user.has_role(*roles))


def register_nav_item(*, key: str, label: str, url_name: str, order: int, roles: Iterable[str] | None = None) -> None:
    """Add (or, with the same ``key``, replace) an item of the primary navigation."""
    _NAV_ITEMS[key] = NavItem(key=key, label=label, url_name=url_name, order=order, roles=_role_set(roles))


def register_home_card(
    *,
    key: str,
    template_name: str,
    order: int,
    roles: Iterable[str] | None = None,
    context: CardContext | None = None,
) -> None:
    """Add (or replace) a card on the home page.

    The template is included with the page's context plus ``card.data``: what
    ``context(request)`` returns (called only for people who see the card).
    """
    _HOME_CARDS[key] = HomeCard(
        key=key, template_name=template_name, order=order, roles=_role_set(roles), context=context
    )


def _is_current(url: str, path: str) -> bool:
    if url == "/":
        return path == "/"
    return path == url or path.startswith(url)


def visible_nav_items(request: HttpRequest) -> list[VisibleNavItem]:
    """The navigation this person sees, in order, with the current section marked."""
    user = request.user
    if not user.is_authenticated:
        return []
    items: list[VisibleNavItem] = []
    for item in sorted(_NAV_ITEMS.values(), key=lambda i: (i.order, i.label)):
        if not _may_see(user, item.roles):
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        items.append(VisibleNavItem(key=item.key, label=item.label, url=url, current=_is_current(url, request.path)))
    # Only the most specific match is current ("/admin/" and "/" both match the admin).
    current = [i for i in items if i.current]
    if len(current) > 1:
        best = max(current, key=lambda i: len(i.url))
        items = [VisibleNavItem(i.key, i.label, i.url, i is best) for i in items]
    return items


def visible_home_cards(request: HttpRequest) -> list[VisibleHomeCard]:
    user = request.user
    if not user.is_authenticated:
        return []
    cards: list[VisibleHomeCard] = []
    for card in sorted(_HOME_CARDS.values(), key=lambda c: (c.order, c.key)):
        if not _may_see(user, card.roles):
            continue
        data = card.context(request) if card.context else {}
        cards.append(VisibleHomeCard(key=card.key, template_name=card.template_name, data=data))
    return cards
