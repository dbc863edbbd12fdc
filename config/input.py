"""Input every request may carry, refused in one place before any app sees it.

PostgreSQL refuses a NUL character in text, Python's JSON decoder recurses once per
level of nesting, and Django answers an over-large body with its HTML "Bad Request"
page. So:

- ``loads_json`` is the one JSON decoder for request bodies (the API's parser,
  ``JSONParser``, and the signed webhook use it): nesting deeper than ``MAX_JSON_DEPTH``
  and NUL in any string, key or value, are refused with ``InputRejected`` naming the
  field.
- ``MultiPartParser`` refuses NUL in the API's multipart fields likewise.
- ``InputGuardMiddleware`` refuses NUL in the query string (pages and the API) and in the
  pages' form fields with 400 naming the field, answers a body over
  ``DATA_UPLOAD_MAX_MEMORY_SIZE`` under ``/api/`` with 413 in JSON, and answers every
  other error under ``/api/`` (an unknown path, a malformed id) in JSON too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils.html import escape
from rest_framework import exceptions
from rest_framework.parsers import DataAndFiles
from rest_framework.parsers import JSONParser as DRFJSONParser
from rest_framework.parsers import MultiPartParser as DRFMultiPartParser

MAX_JSON_DEPTH = 32
NUL = "\x00"
NUL_MESSAGE = "Null characters are not allowed."
API_PREFIX = "/api/"


def is_api_request(request: HttpRequest) -> bool:
    """Whether the request is the API's, answered in JSON whatever goes wrong (config.api)."""
    return request.path_info.startswith(API_PREFIX)


class InputRejected(Exception):
    """Input refused before any app looked at it; ``field`` names where (``""``: the body)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message

    def errors(self) -> dict[str, list[str]]:
        return {self.field or "non_field_errors": [self.message]}


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def check_json(data: Any) -> None:
    """Refuse nesting over ``MAX_JSON_DEPTH`` and NUL anywhere (walked without recursion)."""
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            if NUL in value:
                raise InputRejected(path, NUL_MESSAGE)
            continue
        if not isinstance(value, dict | list):
            continue
        if depth >= MAX_JSON_DEPTH:
            raise InputRejected("", f"JSON may be nested at most {MAX_JSON_DEPTH} levels deep.")
        items: Iterable[tuple[str | int, Any]] = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(key, str) and NUL in key:
                raise InputRejected(_join(path, key.replace(NUL, "\\u0000")), NUL_MESSAGE)
            stack.append((item, _join(path, key), depth + 1))


def loads_json(body: bytes | str) -> Any:
    """The decoded body; ``ValueError`` when it is not JSON, ``InputRejected`` as above."""
    try:
        data = json.loads(body)
    except RecursionError:
        raise InputRejected("", f"JSON may be nested at most {MAX_JSON_DEPTH} levels deep.") from None
    check_json(data)
    return data


class JSONParser(DRFJSONParser):
    """DRF's JSON parser on ``loads_json``: a refused body is a 400 naming the field."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return loads_json(stream.read().decode(encoding))
        except InputRejected as exc:
            raise exceptions.ValidationError(exc.errors()) from None
        except ValueError as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None


class MultiPartParser(DRFMultiPartParser):
    """DRF's multipart parser, refusing NUL in any field as ``JSONParser`` does."""

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> DataAndFiles[Any, Any]:
        parsed = super().parse(stream, media_type, parser_context)
        field = _nul_field(parsed.data.lists())
        if field is not None:
            raise exceptions.ValidationError({field: [NUL_MESSAGE]})
        return parsed


def _nul_field(pairs: Iterable[tuple[str, list[str]]]) -> str | None:
    for key, values in pairs:
        if NUL in key or any(NUL in value for value in values):
            return key.replace(NUL, "\\u0000")
    return None


def _refuse(request: HttpRequest, field: str) -> HttpResponse:
    if is_api_request(request):
        return JsonResponse({field: [NUL_MESSAGE]}, status=400)
    return HttpResponseBadRequest(f"<p>{escape(field)}: {NUL_MESSAGE}</p>".encode())


def _too_large() -> JsonResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
    return JsonResponse({"detail": f"The body is over {limit // 1024} KiB."}, status=413)


def _declared_too_large(request: HttpRequest) -> bool:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    length = request.META.get("CONTENT_LENGTH") or ""
    return limit is not None and length.isdigit() and int(length) > limit


_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class InputGuardMiddleware:
    """See the module docstring. Placed before CSRF (which reads forms) and the views."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        field = _nul_field(request.GET.lists())
        if field is not None:
            return _refuse(request, field)
        # Files in a multipart body do not count against the limit (uploads check their own).
        if is_api_request(request) and request.content_type != "multipart/form-data" and _declared_too_large(request):
            return _too_large()
        # API bodies are the parsers' (reading them here would stop DRF answering 415).
        if request.method == "POST" and request.content_type in _FORM_TYPES and not is_api_request(request):
            try:
                field = _nul_field(request.POST.lists())
            except RequestDataTooBig:
                return HttpResponse(status=413)
            if field is not None:
                return _refuse(request, field)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RequestDataTooBig) and is_api_request(request):
            return _too_large()
        return None
