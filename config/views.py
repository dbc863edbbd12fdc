"""The home page: a welcome, and the cards apps register (accounts.navigation)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.navigation import visible_home_cards


def _greeting() -> str:
    hour = timezone.localtime().hour
    if 5 <= hour < 12:
        return "Good morning"
    if 12 <= hour < 18:
        return "Good afternoon"
    return "Good evening"


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    context = {
        "greeting": _greeting(),
        "roles": user.roles.order_by("slug"),  # type: ignore[union-attr]
        "cards": visible_home_cards(request),
    }
    return render(request, "home.html", context)
