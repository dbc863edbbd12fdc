"""What ``accounts`` adds to the platform, wired once from ``AccountsConfig.ready()``.

Its own notification kinds, and the layout's items and cards that belong to no other app
(home, profile, the admin, the API docs; the notifications and administration cards).
Every app has a ``wiring.py`` like this one (ARCHITECTURE.md, "Wiring"): direct imports,
so a renamed registry or signal stops the start-up instead of dropping a feature silently.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts.models import RoleName
from accounts.navigation import register_home_card, register_nav_item
from accounts.notifications import register_kind
from config.models import OutboxJob


def _notifications_card(request: HttpRequest) -> dict[str, Any]:
    unread = request.user.notifications.filter(read_at__isnull=True, in_app=True)  # type: ignore[union-attr]
    return {"latest": list(unread.order_by("-created_at", "-id")[:5])}


def _admin_card(request: HttpRequest) -> dict[str, Any]:
    waiting = OutboxJob.objects.all()
    return {"jobs_waiting": waiting.count(), "jobs_failing": waiting.filter(attempts__gt=0).count()}


def wire() -> None:
    register_kind("account", "Your account (sign-in, tokens, role changes)", email_default=True)
    register_kind("announcement", "Announcements from administrators", email_default=False)

    register_nav_item(key="home", label="Home", url_name="home", order=0)
    register_nav_item(key="profile", label="Profile", url_name="accounts:profile", order=900)
    register_nav_item(key="admin", label="Admin", url_name="admin:index", order=950, roles=[RoleName.ADMIN])
    register_nav_item(key="api-docs", label="API docs", url_name="docs", order=960, roles=[RoleName.ADMIN])
    register_home_card(
        key="notifications", template_name="cards/notifications.html", order=800, context=_notifications_card
    )
    register_home_card(
        key="administration",
        template_name="cards/administration.html",
        order=900,
        roles=[RoleName.ADMIN],
        context=_admin_card,
    )
