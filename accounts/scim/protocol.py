"""SCIM's wire details: the media type, the error body of RFC 7644 §3.12, the bearer token."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from rest_framework import authentication, exceptions, permissions, renderers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.models import ScimToken
from config.errors import Conflict, ServiceError
from config.input import JSONParser

SCIM_MEDIA_TYPE = "application/scim+json"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


class ScimError(Exception):
    """An answer in RFC 7644 §3.12's shape: ``status`` (as a string), ``scimType``, ``detail``."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type


def error_body(status: int, detail: str, scim_type: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    return body


class ScimRenderer(renderers.JSONRenderer):
    media_type = SCIM_MEDIA_TYPE
    format = "scim"


class ScimJSONParser(JSONParser):
    media_type = SCIM_MEDIA_TYPE


class ScimClient:
    """Who a provisioning token speaks for: an identity provider, not a person."""

    is_authenticated = True
    is_active = True
    pk = None

    def __init__(self, token: ScimToken) -> None:
        self.token = token

    def __str__(self) -> str:
        return f"SCIM client {self.token}"


class ScimTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <provisioning token>``; an API token of a person is not one."""

    def authenticate(self, request: Request) -> tuple[ScimClient, ScimToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != b"bearer":
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization must be 'Bearer <token>'.")
        try:
            raw = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed("The provisioning token is not valid.") from None
        token = services.scim_token_lookup(raw)
        if token is None:
            raise exceptions.AuthenticationFailed("The provisioning token is not valid or was revoked.")
        return ScimClient(token), token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="SCIM"'


class HasScimToken(permissions.BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, ScimToken)


def scim_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """Every refusal under /scim/v2/ in SCIM's error shape."""
    headers: dict[str, str] = {}
    if isinstance(exc, ScimError):
        status, detail, scim_type = exc.status, exc.detail, exc.scim_type
    elif isinstance(exc, Conflict):
        status, detail, scim_type = 409, exc.message, "uniqueness" if exc.extra.get("field") else None
    elif isinstance(exc, ServiceError):
        status, detail, scim_type = 400, exc.message, "invalidValue"
    elif isinstance(exc, Http404 | exceptions.NotFound):
        status, detail, scim_type = 404, "No such resource.", None
    elif isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        status, scim_type = 401, None
        detail = (
            str(exc.detail) if isinstance(exc, exceptions.AuthenticationFailed) else "A provisioning token is needed."
        )
        headers["WWW-Authenticate"] = 'Bearer realm="SCIM"'
    elif isinstance(exc, exceptions.PermissionDenied):
        status, detail, scim_type = 403, "This is for identity providers' provisioning tokens only.", None
    elif isinstance(exc, exceptions.ParseError):
        status, detail, scim_type = 400, str(exc.detail), "invalidSyntax"
    elif isinstance(exc, exceptions.ValidationError):
        status, detail, scim_type = 400, _flatten(exc.detail), "invalidSyntax"
    elif isinstance(exc, exceptions.UnsupportedMediaType):
        status, detail, scim_type = 415, f"Send {SCIM_MEDIA_TYPE} (or application/json).", None
    elif isinstance(exc, exceptions.MethodNotAllowed):
        status, detail, scim_type = 405, str(exc.detail), None
    elif isinstance(exc, exceptions.NotAcceptable):
        status, detail, scim_type = 406, f"Engage answers in {SCIM_MEDIA_TYPE}.", None
    elif isinstance(exc, exceptions.APIException):
        status, detail, scim_type = exc.status_code, str(exc.detail), None
    else:
        raise exc
    response = Response(error_body(status, detail, scim_type), status=status, headers=headers or None)
    return response


def _flatten(detail: Any) -> str:
    if isinstance(detail, dict):
        return "; ".join(f"{key}: {_flatten(value)}" for key, value in detail.items())
    if isinstance(detail, list):
        return " ".join(_flatten(item) for item in detail)
    return str(detail)


class ScimView(APIView):
    """The base of every SCIM endpoint: its token, media type and error shape."""

    authentication_classes = [ScimTokenAuthentication]
    permission_classes = [HasScimToken]
    renderer_classes = [ScimRenderer, renderers.JSONRenderer]
    parser_classes = [ScimJSONParser, JSONParser]
    pagination_class = None
    # Not in the OpenAPI schema: SCIM's contract is RFC 7643/7644 and /scim/v2/Schemas.
    schema = None

    def get_exception_handler(self) -> Any:
        return scim_exception_handler

    @property
    def token(self) -> ScimToken:
        auth = self.request.auth
        assert isinstance(auth, ScimToken)
        return auth
