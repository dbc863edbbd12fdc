"""The shape of the apps' policies: who may do what, answered once.

Each app's ``policy`` module holds pure functions of the person, the object and the time
that return ``None`` when the action is allowed and a :class:`Refusal` saying why not
otherwise. The services enforce them (:func:`enforce`); the pages and API views read the
same functions to decide which actions to offer, so a button never promises what the
service refuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied

from config.errors import Conflict


@dataclass(frozen=True)
class Refusal:
    """Why an action is not allowed: the person may not (403), or the object's state forbids it (409)."""

    reason: str
    conflict: bool = False
    details: tuple[tuple[str, Any], ...] = ()


def enforce(refusal: Refusal | None, *, conflicts: bool = True) -> None:
    """Raise what the refusal says; nothing when the action is allowed.

    ``conflicts=False`` raises only a refusal of the person (403): a service that still has
    input to validate enforces the person first and the state after, in API.md's order
    (404, 403, 400, 409). The policies check the person before the state an action needs,
    so a conflict they return means the person was not the obstacle.
    """
    if refusal is None or (refusal.conflict and not conflicts):
        return
    if refusal.conflict:
        raise Conflict(refusal.reason, **dict(refusal.details))
    raise PermissionDenied(refusal.reason)


def is_own_work(user_id: int | None, *author_ids: int | None) -> bool:
    """Never review your own work: the one definition of whose work something is."""
    return user_id is not None and user_id in author_ids
