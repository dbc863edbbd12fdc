"""Permissions, expressed once.

Every API view is authenticated by default (``REST_FRAMEWORK`` settings). Roles are
checked with :func:`role_required`; object visibility is checked by each app's
``<thing>_get_for_user`` selector, which answers 404 for what a person may not see.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from accounts.models import RoleName, User


def signed_in(request: HttpRequest | Request) -> User:
    """The person making the request. Pages are behind the sign-in middleware and API views
    behind DRF's authentication, so there is one wherever this is called."""
    user = request.user
    assert isinstance(user, User), "signed_in() called where nobody has to be signed in"
    return user


def require_role(user: User, *roles: str, message: str = "") -> None:
    """403 unless ``user`` holds one of ``roles`` (admins hold every role)."""
    if not user.has_role(*roles):
        raise PermissionDenied(message)


def _holds(request: Request, roles: tuple[str, ...]) -> bool:
    user = request.user
    return bool(user and user.is_authenticated and user.has_role(*roles))


def role_required(*roles: str) -> type[BasePermission]:
    """A permission class admitting people who hold any of ``roles`` (admins always)."""

    class HasRole(BasePermission):
        message = f"This needs one of these roles: {', '.join(roles)}."

        def has_permission(self, request: Request, view: Any) -> bool:
            return _holds(request, roles)

    HasRole.__name__ = f"HasRole_{'_'.join(roles)}"
    return HasRole


def role_required_to_write(*roles: str) -> type[BasePermission]:
    """Anyone authenticated may read; writing needs one of ``roles``."""

    class WriteNeedsRole(BasePermission):
        message = f"Changing this needs one of these roles: {', '.join(roles)}."

        def has_permission(self, request: Request, view: Any) -> bool:
            if request.method in SAFE_METHODS:
                return bool(request.user and request.user.is_authenticated)
            return _holds(request, roles)

    WriteNeedsRole.__name__ = f"WriteNeedsRole_{'_'.join(roles)}"
    return WriteNeedsRole


IsAdmin = role_required(RoleName.ADMIN)
IsCurator = role_required(RoleName.CURATOR)
IsReviewer = role_required(RoleName.REVIEWER)
IsExecutive = role_required(RoleName.EXECUTIVE)
AdminWrites = role_required_to_write(RoleName.ADMIN)
