"""The reviewers' queue: one page, made of sections other apps can add to.

``content`` registers its own sections (messages, toolkits); ``engage`` adds its answers
with :func:`register_section` in its ``wiring.wire()``. Each section says who sees it,
what is waiting, and which template renders its items (given ``section``, ``items`` and
``request``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from accounts.models import RoleName, User


@dataclass(frozen=True)
class ReviewSection:
    key: str
    title: str
    template_name: str
    items: Callable[[User], Sequence[Any]]
    order: int = 100
    roles: tuple[str, ...] = (RoleName.REVIEWER,)

    def visible_to(self, user: User) -> bool:
        return user.is_authenticated and user.has_role(*self.roles)


_SECTIONS: dict[str, ReviewSection] = {}


def register_section(section: ReviewSection) -> None:
    """Add (or replace, by ``key``) a section of the review queue."""
    _SECTIONS[section.key] = section


def sections() -> list[ReviewSection]:
    return sorted(_SECTIONS.values(), key=lambda s: (s.order, s.key))


def sections_for(user: User) -> list[tuple[ReviewSection, Sequence[Any]]]:
    """The sections this person reviews, each with what waits in it."""
    return [(section, section.items(user)) for section in sections() if section.visible_to(user)]
