"""The identity API: tokens, password reset, departments, people, topics, notifications.

Views are thin: they read input with a serializer, call ``accounts.services`` (writes) or
``accounts.selectors`` (reads) and shape the answer.

Who may do what (API.md, "Identity"):

- ``/auth/token/`` and ``/auth/password-reset/`` are open to anyone; they use no session,
  so they need no CSRF token.
- Departments and topics: every signed-in person reads; only admins create.
- ``/users/`` and everything under ``/users/{id}/`` is the administrators' surface. Other
  people get 403 for all of it, whether or not the id exists: they may know the
  collection exists, and 403 before any lookup tells them nothing about who does.
- ``/users/me/`` and ``/notifications/`` are each person's own; another person's
  notification answers 404.
- Not signed in: 401 everywhere except the two open endpoints.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from accounts import selectors, services
from accounts import serializers as s
from accounts.authentication import BearerTokenAuthentication
from accounts.models import ApiToken
from accounts.network import client_address
from accounts.permissions import AdminWrites, IsAdmin, signed_in
from config.api import validated
from config.pagination import PaginatedAPIView

# --- Documentation helpers ---------------------------------------------------------------------


class BearerTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]  # drf-spectacular's hook is untyped
    """Describes ``Authorization: Bearer <token>`` in the schema (registered on import)."""

    target_class = "accounts.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "A token from POST /api/v1/auth/token/."}


BAD_INPUT = OpenApiResponse(OpenApiTypes.OBJECT, description="Invalid input; field errors name the field.")
NOT_AUTHENTICATED = OpenApiResponse(s.DetailSerializer, description="Not signed in.")
FORBIDDEN = OpenApiResponse(s.DetailSerializer, description="Signed in but not allowed (admins only).")
NOT_FOUND = OpenApiResponse(s.DetailSerializer, description="No such thing, or not yours to see.")
NO_SUCH_PAGE = OpenApiResponse(s.DetailSerializer, description="No such page.")
CONFLICT = OpenApiResponse(s.DetailSerializer, description="Not possible in the current state.")
RATE_LIMITED = OpenApiResponse(s.DetailSerializer, description="Too many attempts; see Retry-After.")


# --- Tokens and password reset ---------------------------------------------------------------


class TokenApi(APIView):
    """Sign in for a bearer token (POST) or give the token in use back (DELETE)."""

    authentication_classes = [BearerTokenAuthentication]

    def get_permissions(self) -> list[BasePermission]:
        if self.request.method == "POST":
            return [AllowAny()]
        return [IsAuthenticated()]

    def perform_authentication(self, request: Request) -> None:
        # Signing in needs no identity: a stale token sent along must not get in the way.
        if request.method != "POST":
            super().perform_authentication(request)

    @extend_schema(
        request=s.TokenCreateInputSerializer,
        responses={201: s.TokenSerializer, 400: BAD_INPUT, 429: RATE_LIMITED},
        auth=[],
        summary="Sign in for a bearer token",
        description=(
            "400 with the same answer for an unknown email, a wrong password and a deactivated "
            "person. After 5 failures for one email from one address within 15 minutes, every "
            "attempt for that pair (the right password too) answers 429 for 15 minutes; likewise "
            "an address after 30 failures across emails."
        ),
    )
    def post(self, request: Request) -> Response:
        data = validated(s.TokenCreateInputSerializer, request.data)
        user = services.user_authenticate(email=data["email"], password=data["password"], ip=client_address(request))
        issued = services.token_create(user=user)
        body = s.TokenSerializer({"token": issued.token, "expires_at": issued.record.expires_at}).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses={204: None, 401: NOT_AUTHENTICATED},
        summary="Revoke the bearer token in use",
    )
    def delete(self, request: Request) -> Response:
        assert isinstance(request.auth, ApiToken)  # the only authenticator here is the bearer token
        services.token_revoke(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordResetThrottle(SimpleRateThrottle):
    """A few reset emails an hour from one address, so nobody's inbox is flooded."""

    scope = "password_reset"
    rate = "10/hour"

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_address(request)}


class PasswordResetApi(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [PasswordResetThrottle]

    @extend_schema(
        request=s.PasswordResetInputSerializer,
        responses={202: None, 400: BAD_INPUT, 429: RATE_LIMITED},
        auth=[],
        summary="Ask for a password reset email",
        description="Always 202: whether the address belongs to anyone is not told.",
    )
    def post(self, request: Request) -> Response:
        data = validated(s.PasswordResetInputSerializer, request.data)
        services.password_reset_request(email=data["email"])
        return Response(status=status.HTTP_202_ACCEPTED)


# --- Departments -----------------------------------------------------------------------------


class DepartmentListApi(PaginatedAPIView):
    permission_classes = [AdminWrites]

    @extend_schema(responses={200: s.DepartmentSerializer(many=True), 401: NOT_AUTHENTICATED, 404: NO_SUCH_PAGE})
    def get(self, request: Request) -> Response:
        return self.paginated(request, selectors.department_list(), s.DepartmentSerializer)

    @extend_schema(
        request=s.DepartmentCreateInputSerializer,
        responses={201: s.DepartmentSerializer, 400: BAD_INPUT, 401: NOT_AUTHENTICATED, 403: FORBIDDEN},
    )
    def post(self, request: Request) -> Response:
        data = validated(s.DepartmentCreateInputSerializer, request.data)
        department = services.department_create(**data)
        return Response(s.DepartmentSerializer(department).data, status=status.HTTP_201_CREATED)


class DepartmentDetailApi(APIView):
    @extend_schema(responses={200: s.DepartmentSerializer, 401: NOT_AUTHENTICATED, 404: NOT_FOUND})
    def get(self, request: Request, slug: str) -> Response:
        return Response(s.DepartmentSerializer(selectors.department_get(slug=slug)).data)


# --- Topics ----------------------------------------------------------------------------------


class TopicListApi(PaginatedAPIView):
    permission_classes = [AdminWrites]

    @extend_schema(responses={200: s.TopicSerializer(many=True), 401: NOT_AUTHENTICATED, 404: NO_SUCH_PAGE})
    def get(self, request: Request) -> Response:
        return self.paginated(request, selectors.topic_list(), s.TopicSerializer)

    @extend_schema(
        request=s.TopicCreateInputSerializer,
        responses={201: s.TopicSerializer, 400: BAD_INPUT, 401: NOT_AUTHENTICATED, 403: FORBIDDEN},
    )
    def post(self, request: Request) -> Response:
        data = validated(s.TopicCreateInputSerializer, request.data)
        topic = services.topic_create(**data)
        return Response(s.TopicSerializer(topic).data, status=status.HTTP_201_CREATED)


class TopicDetailApi(APIView):
    @extend_schema(responses={200: s.TopicSerializer, 401: NOT_AUTHENTICATED, 404: NOT_FOUND})
    def get(self, request: Request, slug: str) -> Response:
        return Response(s.TopicSerializer(selectors.topic_get(slug=slug)).data)


# --- People (administrators) ------------------------------------------------------------------


class UserListApi(PaginatedAPIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        parameters=[s.UserFilterSerializer],
        responses={
            200: s.UserSerializer(many=True),
            400: BAD_INPUT,
            401: NOT_AUTHENTICATED,
            403: FORBIDDEN,
            404: NO_SUCH_PAGE,
        },
    )
    def get(self, request: Request) -> Response:
        filters = validated(s.UserFilterSerializer, request.query_params)
        return self.paginated(request, selectors.user_list(**filters), s.UserSerializer)

    @extend_schema(
        request=s.UserCreateInputSerializer,
        responses={201: s.UserSerializer, 400: BAD_INPUT, 401: NOT_AUTHENTICATED, 403: FORBIDDEN},
    )
    def post(self, request: Request) -> Response:
        data = validated(s.UserCreateInputSerializer, request.data)
        user = services.user_create(
            email=data["email"],
            name=data["name"],
            password=data.get("password") or None,
            department=data.get("department"),
            roles=data["roles"],
            invite=data["invite"],
            invited_by=signed_in(request),
        )
        return Response(s.UserSerializer(selectors.user_get(id=user.pk)).data, status=status.HTTP_201_CREATED)


class UserDetailApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses={200: s.UserSerializer, 401: NOT_AUTHENTICATED, 403: FORBIDDEN, 404: NOT_FOUND})
    def get(self, request: Request, id: int) -> Response:
        return Response(s.UserSerializer(selectors.user_get(id=id)).data)

    @extend_schema(
        request=s.UserUpdateInputSerializer,
        responses={
            200: s.UserSerializer,
            400: BAD_INPUT,
            401: NOT_AUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: CONFLICT,
        },
        description="Changes only the fields sent. `is_active: false` ends the person's sessions and tokens.",
    )
    def patch(self, request: Request, id: int) -> Response:
        user = selectors.user_get(id=id)
        data = validated(s.UserUpdateInputSerializer, request.data)
        services.user_update(user=user, **data)
        return Response(s.UserSerializer(selectors.user_get(id=id)).data)


class UserDeactivateApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        request=None,
        responses={200: s.UserSerializer, 401: NOT_AUTHENTICATED, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
        summary="Deactivate a person: their sessions and tokens end at once",
    )
    def post(self, request: Request, id: int) -> Response:
        services.user_deactivate(user=selectors.user_get(id=id))
        return Response(s.UserSerializer(selectors.user_get(id=id)).data)


class UserExportApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="Everything Engage holds about the person."),
            401: NOT_AUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
        },
        summary="Export a person's data",
    )
    def get(self, request: Request, id: int) -> Response:
        return Response(services.user_export(user=selectors.user_get(id=id)))


class UserEraseApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        request=None,
        responses={200: s.UserSerializer, 401: NOT_AUTHENTICATED, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
        summary="Erase a person",
        description=(
            "The row stays so what they did stays counted; their name, email, password, tokens, "
            "notifications and preferences go. Erasing again changes nothing."
        ),
    )
    def post(self, request: Request, id: int) -> Response:
        services.user_erase(user=selectors.user_get(id=id))
        return Response(s.UserSerializer(selectors.user_get(id=id)).data)


# --- Oneself ---------------------------------------------------------------------------------


class MeApi(APIView):
    @extend_schema(responses={200: s.MeSerializer, 401: NOT_AUTHENTICATED})
    def get(self, request: Request) -> Response:
        return Response(s.MeSerializer(selectors.user_me(user=signed_in(request))).data)

    @extend_schema(
        request=s.MeUpdateInputSerializer,
        responses={200: s.MeSerializer, 400: BAD_INPUT, 401: NOT_AUTHENTICATED},
        description="A person may change their name and notification preferences; anything else sent is ignored.",
    )
    def patch(self, request: Request) -> Response:
        data = validated(s.MeUpdateInputSerializer, request.data)
        user = signed_in(request)
        services.user_update_profile(
            user=user, name=data.get("name"), notification_prefs=data.get("notification_prefs")
        )
        return Response(s.MeSerializer(selectors.user_me(user=user)).data)


# --- Notifications ---------------------------------------------------------------------------


class NotificationListApi(PaginatedAPIView):
    @extend_schema(
        parameters=[s.NotificationFilterSerializer],
        responses={
            200: s.NotificationSerializer(many=True),
            400: BAD_INPUT,
            401: NOT_AUTHENTICATED,
            404: NO_SUCH_PAGE,
        },
        summary="Your in-app notifications, newest first",
    )
    def get(self, request: Request) -> Response:
        filters = validated(s.NotificationFilterSerializer, request.query_params)
        notes = selectors.notification_list_for_user(user=signed_in(request), **filters)
        return self.paginated(request, notes, s.NotificationSerializer)


class NotificationReadApi(APIView):
    @extend_schema(
        request=None,
        responses={200: s.NotificationSerializer, 401: NOT_AUTHENTICATED, 404: NOT_FOUND},
        summary="Mark one of your notifications read",
    )
    def post(self, request: Request, id: int) -> Response:
        note = services.notification_mark_read(user=signed_in(request), notification_id=id)
        return Response(s.NotificationSerializer(note).data)


class NotificationReadAllApi(APIView):
    @extend_schema(
        request=None,
        responses={200: s.NotificationsMarkedSerializer, 401: NOT_AUTHENTICATED},
        summary="Mark all your notifications read",
    )
    def post(self, request: Request) -> Response:
        count = services.notification_mark_all_read(user=signed_in(request))
        return Response({"marked_read": count})
