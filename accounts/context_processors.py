from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts.navigation import visible_nav_items


def navigation(request: HttpRequest) -> dict[str, Any]:
    """What the layout needs on every page: the navigation and the unread count for the bell."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    return {
        "nav_items": visible_nav_items(request),
        "unread_notifications": user.notifications.filter(read_at__isnull=True, in_app=True).count(),
    }
