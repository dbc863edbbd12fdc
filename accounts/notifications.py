"""The notification service every part of Engage uses.

Call :func:`notify` from a service, inside its transaction. Delivery (a row for the bell
and ``/api/v1/notifications/``, and an email where the person wants one) happens in a
background job after the commit, once per person and ``dedupe_key``.

Apps declare the kinds they send with :func:`register_kind` (in their ``wiring.wire()``) so a
person can choose, per kind, whether to see it in the app and whether to get an email.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from config.jobs import enqueue


@dataclass(frozen=True)
class NotificationKind:
    key: str
    label: str
    email_default: bool = True
    in_app_default: bool = True


_KINDS: dict[str, NotificationKind] = {}


def register_kind(key: str, label: str, *, email_default: bool = True, in_app_default: bool = True) -> None:
    _KINDS[key] = NotificationKind(key, label, email_default, in_app_default)


def kinds() -> list[NotificationKind]:
    return sorted(_KINDS.values(), key=lambda kind: kind.label)


def get_kind(key: str) -> NotificationKind:
    try:
        return _KINDS[key]
    except KeyError:
        raise ValueError(f"unknown notification kind {key!r}; register it with register_kind()") from None


def preference(prefs: dict[str, Any], key: str) -> dict[str, bool]:
    """The effective ``{"in_app", "email"}`` choice of one person for one kind."""
    kind = get_kind(key)
    chosen = prefs.get(key) or {}
    return {
        "in_app": bool(chosen.get("in_app", kind.in_app_default)),
        "email": bool(chosen.get("email", kind.email_default)),
    }


def notify(
    *,
    user_ids: list[int],
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    dedupe_key: str | None = None,
) -> None:
    """Tell these people something, after the current transaction commits.

    With ``dedupe_key`` the same notification is delivered once per person however many
    times this is called (a job retried, a scheduled check run twice).
    """
    get_kind(kind)
    if not user_ids:
        return
    enqueue(
        "accounts.deliver_notification",
        user_ids=sorted(set(user_ids)),
        kind=kind,
        title=title[:200],
        body=body,
        url=url,
        dedupe_key=dedupe_key,
    )
