"""Single sign-on by OpenID Connect, on mozilla-django-oidc.

The library does the authorization code flow with PKCE, ``state`` and ``nonce``, and checks
the ID token's signature against the provider's JWKS, fetched at every sign-in (so a key
the provider rotates in is used at once). What it leaves to the application is added here:

- discovery: the endpoints come from ``<OIDC_ISSUER>/.well-known/openid-configuration``,
  read at the first sign-in (never at start-up, so Engage starts while the provider is
  down) and cached for an hour; the document's ``issuer`` must be ``OIDC_ISSUER``;
- the ID token's ``iss``, ``aud`` (and ``azp``), ``exp`` and ``iat``, and ``email_verified``;
- every refusal as a :class:`SignInRefused` with a sentence a person can act on, which the
  callback view shows (nothing is created before all checks pass);
- the person is made or brought up to date by
  :func:`accounts.services.user_sync_from_identity` (department and roles from the claims,
  audited);
- RP-initiated logout: :func:`logout_url` sends the browser to the provider's
  ``end_session_endpoint`` with the ID token as hint.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from accounts import services
from accounts.models import User
from config.errors import Conflict

logger = logging.getLogger(__name__)

DISCOVERY_TTL_SECONDS = 3600
CLOCK_LEEWAY_SECONDS = 60


class SignInRefused(Exception):
    """A single sign-on that must not go through, with what to tell the person."""

    def __init__(self, title: str, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.title = title
        self.message = message
        self.status = status


def enabled() -> bool:
    return bool(settings.OIDC_ISSUER)


def discovery() -> dict[str, Any]:
    """The provider's configuration document (cached for an hour)."""
    issuer = settings.OIDC_ISSUER
    key = f"oidc:discovery:{issuer}"
    document = cache.get(key)
    if isinstance(document, dict):
        return document
    try:
        response = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        logger.warning("OpenID discovery at %s failed: %s", issuer, exc)
        raise SignInRefused(
            "The sign-in service did not answer",
            f"Engage could not reach {settings.OIDC_BUTTON_NAME}. Try again in a minute; if it goes on, "
            f"tell {settings.OIDC_HELP_CONTACT}.",
            status=502,
        ) from None
    if not isinstance(document, dict) or str(document.get("issuer", "")).rstrip("/") != issuer:
        raise SignInRefused(
            "Single sign-on is misconfigured",
            f"The provider at OIDC_ISSUER names another issuer. Tell {settings.OIDC_HELP_CONTACT}.",
            status=502,
        )
    cache.set(key, document, DISCOVERY_TTL_SECONDS)
    return document


def logout_url(*, id_token: str | None, post_logout_redirect_uri: str) -> str | None:
    """Where to send the browser to end the provider's session too, if it offers that."""
    if not enabled() or not id_token:
        return None
    try:
        endpoint = discovery().get("end_session_endpoint")
    except SignInRefused:
        return None
    if not endpoint:
        return None
    query = urlencode(
        {
            "id_token_hint": id_token,
            "post_logout_redirect_uri": post_logout_redirect_uri,
            "client_id": settings.OIDC_CLIENT_ID,
        }
    )
    return f"{endpoint}?{query}"


def _refused(reason: str) -> SignInRefused:
    return SignInRefused("Single sign-on was refused", reason)


class EngageOIDCBackend(OIDCAuthenticationBackend):  # type: ignore[misc]  # the library ships no types
    """mozilla-django-oidc's backend with discovery, the full ID token checks and our services."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The library reads endpoints here; ours come from discovery, when a sign-in needs them.
        self.UserModel = User
        self.OIDC_RP_CLIENT_ID = settings.OIDC_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None

    @property
    def OIDC_OP_TOKEN_ENDPOINT(self) -> str:
        return str(discovery()["token_endpoint"])

    @property
    def OIDC_OP_USER_ENDPOINT(self) -> str:
        return str(discovery()["userinfo_endpoint"])

    @property
    def OIDC_OP_JWKS_ENDPOINT(self) -> str:
        return str(discovery()["jwks_uri"])

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> User | None:
        if not enabled() or request is None or "code" not in request.GET:
            return None
        user: User | None = super().authenticate(request, **kwargs)
        return user

    def raise_token_response_error(self, response: requests.Response) -> None:
        if response.status_code == 200:
            return
        logger.info("The token endpoint refused a code: %s %s", response.status_code, response.text[:200])
        raise _refused(
            "The provider did not accept this sign-in: its code was already used, has expired or "
            "was not issued to Engage. Start again from the sign-in page."
        )

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        """Check the ID token: signature (JWKS), algorithm, issuer, audience, times, nonce."""
        if not token:
            raise _refused("The provider sent no ID token.")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _refused("The provider's ID token is not a token.") from None
        if header.get("alg") != self.OIDC_RP_SIGN_ALGO:
            raise _refused(f"The ID token is signed with {header.get('alg')!r}, not {self.OIDC_RP_SIGN_ALGO}.")
        try:
            key = self.retrieve_matching_jwk(token)
        except SuspiciousOperation:
            raise _refused("The ID token is signed with a key the provider does not publish.") from None
        try:
            payload: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=settings.OIDC_CLIENT_ID,
                issuer=discovery()["issuer"],
                leeway=CLOCK_LEEWAY_SECONDS,
                options={"require": ["iss", "aud", "exp", "iat", "sub"]},
            )
        except jwt.InvalidSignatureError:
            raise _refused("The ID token's signature does not match the provider's keys.") from None
        except jwt.ExpiredSignatureError:
            raise _refused("The ID token has expired. Start again from the sign-in page.") from None
        except jwt.InvalidAudienceError:
            raise _refused("The ID token was issued for another application, not Engage.") from None
        except jwt.InvalidIssuerError:
            raise _refused("The ID token comes from another issuer than OIDC_ISSUER.") from None
        except jwt.PyJWTError as exc:
            raise _refused(f"The ID token is not valid ({exc}).") from None
        audiences = payload["aud"] if isinstance(payload["aud"], list) else [payload["aud"]]
        if len(audiences) > 1 and payload.get("azp") != settings.OIDC_CLIENT_ID:
            raise _refused("The ID token was issued for another application, not Engage.")
        if kwargs.get("nonce") != payload.get("nonce"):
            raise _refused("The ID token does not answer this sign-in (nonce). Start again from the sign-in page.")
        return payload

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]) -> User:
        try:
            userinfo = self.get_userinfo(access_token, id_token, payload)
        except requests.RequestException:
            raise _refused("The provider did not give Engage your profile. Start again.") from None
        if userinfo.get("sub") != payload.get("sub"):
            raise _refused("The provider's profile is someone else's than the ID token's.")
        claims = {**payload, **userinfo}
        email = claims.get("email")
        if not isinstance(email, str) or "@" not in email:
            raise _refused("The provider did not send an email address (is the 'email' scope granted?).")
        if settings.OIDC_REQUIRE_EMAIL_VERIFIED and claims.get("email_verified") is not True:
            raise _refused(
                f"The provider has not verified the email address {email}. Verify it there, "
                f"or ask {settings.OIDC_HELP_CONTACT}."
            )
        department = claims.get(settings.OIDC_DEPARTMENT_CLAIM)
        groups = claims.get(settings.OIDC_GROUPS_CLAIM) or []
        if isinstance(groups, str):
            groups = [groups]
        try:
            return services.user_sync_from_identity(
                email=email,
                name=str(claims.get("name") or ""),
                department=str(department) if department else None,
                roles=services.roles_for_groups(groups=[str(group) for group in groups]),
                source="sign-in",
            )
        except services.AccountDeactivated:
            raise SignInRefused(
                "This account is deactivated",
                f"Your Engage account ({email}) is deactivated, so Engage does not let you in, whatever "
                f"the provider says. If this is a mistake, ask {settings.OIDC_HELP_CONTACT} to reactivate it.",
                status=403,
            ) from None
        except services.UnknownDepartment:
            raise SignInRefused(
                "Your department is not in Engage yet",
                f"The provider says you work in {department!r}, and Engage has no such department, so no "
                f"account was made. Ask {settings.OIDC_HELP_CONTACT} to add the department (or correct "
                "it at the provider), then sign in again.",
                status=403,
            ) from None
        except Conflict as exc:
            raise SignInRefused("Single sign-on was refused", exc.message, status=409) from None
