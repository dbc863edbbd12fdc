from __future__ import annotations

import hashlib

from django.db.models import OuterRef, StringAgg, Subquery, Value
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from accounts.models import ApiToken, User


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


# The token holder's role slugs, comma-separated, as a subquery of the token lookup.
_ROLE_SLUGS = (
    User.roles.through.objects.filter(user_id=OuterRef("user_id"))
    .values("user_id")
    .annotate(slugs=StringAgg("role_id", Value(",")))
    .values("slugs")  # type: ignore[misc]  # the stubs do not see annotations made on a through model
)


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <token>``: one indexed read of the token and its person."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization must be 'Bearer <token>'")
        try:
            raw = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed("The token is not valid") from None
        token = (
            ApiToken.objects.select_related("user")
            .annotate(role_slugs=Subquery(_ROLE_SLUGS))
            .filter(key_hash=hash_token(raw), revoked_at__isnull=True, expires_at__gt=timezone.now())
            .first()
        )
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("The token is not valid, has expired or was revoked")
        # The person's roles came with the token: no second query to check them.
        token.user.__dict__["role_set"] = frozenset(filter(None, (token.role_slugs or "").split(",")))
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
