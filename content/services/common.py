"""What every family of content's writes shares: the text limits and cleaning, the role
checks, the clock, and notifications (which the demo pauses while it replays the past)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts import notifications
from accounts.models import RoleName, User
from config.errors import ServiceError

TITLE_MAX = 200
BODY_MAX = 20_000
LONG_TEXT_MAX = 3_000
COMMENT_MAX = 5_000


_QUIET: ContextVar[bool] = ContextVar("content_quiet_notifications", default=False)


@contextmanager
def notifications_paused() -> Iterator[None]:
    """Replay history without telling anyone (the demo reviews messages months in the past)."""
    token = _QUIET.set(True)
    try:
        yield
    finally:
        _QUIET.reset(token)


def _notify(**kwargs: Any) -> None:
    if not _QUIET.get():
        notifications.notify(**kwargs)


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _require_curator(user: User) -> None:
    if not user.has_role(RoleName.CURATOR):
        raise PermissionDenied("Writing messages needs the curator role.")


def _require_reviewer(user: User) -> None:
    if not user.has_role(RoleName.REVIEWER):
        raise PermissionDenied("Reviewing messages needs the reviewer role.")


def clean_http_url(value: str, *, field: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    if len(value) > 500 or not re.match(r"^https?://[^\s/$.?#][^\s]*$", value, re.IGNORECASE):
        raise ServiceError("Enter an http:// or https:// address.", field=field)
    return value


def _clean_text(value: object, *, field: str, max_length: int, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ServiceError("Must be text.", field=field)
    value = value.strip()
    if required and not value:
        raise ServiceError("This cannot be empty.", field=field)
    if len(value) > max_length:
        raise ServiceError(f"At most {max_length} characters ({len(value)} given).", field=field)
    return value


def _clean_slugs(values: Any, *, field: str) -> list[str]:
    if values is None:
        return []
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, str) for v in values):
        raise ServiceError("Must be a list of slugs.", field=field)
    return sorted({v.strip() for v in values if v.strip()})


def _reviewer_ids(*, exclude: set[int]) -> list[int]:
    reviewers = User.objects.filter(is_active=True, roles__slug=RoleName.REVIEWER).values_list("id", flat=True)
    ids = {pk for pk in reviewers if pk not in exclude}
    if not ids:  # nobody holds the role: the administrators review
        admins = User.objects.filter(is_active=True, roles__slug=RoleName.ADMIN).values_list("id", flat=True)
        ids = {pk for pk in admins if pk not in exclude}
    return sorted(ids)
