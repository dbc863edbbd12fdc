"""The OpenAPI document's error answers, declared once for every operation.

Every error the API gives has one shape (``config.api.exception_handler``): ``detail``
and/or field names mapped to messages. This hook documents, on each operation, the error
statuses it can really answer, unless the view documented its own:

- 400 for an operation that takes a body or query parameters (field errors name the field);
- 401 and 403 for an authenticated one (no or a bad token; a role or rule refusing);
- 404 for one with a path parameter (no such thing, or not yours to see), and for a
  list's page past its end;
- 409 for a write (a state conflict), 413 for one that takes a body (API.md's size limit);
- 429 for the rate-limited sign-in, password reset and quiz attempts.
"""

from __future__ import annotations

import threading
from typing import Any

from drf_spectacular.views import SpectacularAPIView
from rest_framework.request import Request
from rest_framework.response import Response

ERROR = "Error"
WRITES = {"post", "put", "patch", "delete"}
RATE_LIMITED = ("/api/v1/auth/", "/attempts/")
DESCRIPTIONS = {
    "400": "Invalid input; field errors name the field.",
    "401": "Not authenticated.",
    "403": "Visible, but not yours to do.",
    "404": "No such thing, or not yours to see.",
    "409": "Not possible in the current state.",
    "413": "The body is too large.",
    "429": "Too many attempts; Retry-After says when to try again.",
}


def _error_codes(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    parameters = operation.get("parameters", [])
    codes = []
    if "requestBody" in operation or any(p.get("in") == "query" for p in parameters):
        codes.append("400")
    if operation.get("security"):  # absent on the open ones (sign-in, the signed webhook)
        codes += ["401", "403"]
    if "{" in path or (method == "get" and any(p.get("in") == "query" for p in parameters)):
        codes.append("404")  # and a list's page past the end
    if method in WRITES:
        codes.append("409")
    if "requestBody" in operation:
        codes.append("413")
    if method == "post" and any(marker in path for marker in RATE_LIMITED):
        codes.append("429")
    return codes


def document_errors(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: add the error answers described above."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas[ERROR] = {
        "type": "object",
        "description": "`detail` for the request as a whole, or field names mapped to their messages.",
        "properties": {"detail": {"type": "string"}},
        "additionalProperties": True,
    }
    body = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR}"}}}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for code in _error_codes(path, method, operation):
                responses.setdefault(code, {"description": DESCRIPTIONS[code], "content": body})
    return result


_GENERATING = threading.Lock()


class SchemaView(SpectacularAPIView):
    """The served schema, generated one request at a time.

    drf-spectacular's generator keeps process-wide state (its extensions' lazily imported
    classes, its warning counters) that concurrent generations corrupt: the first
    simultaneous requests to a fresh threaded server answered 500.
    """

    def _get_schema_response(self, request: Request) -> Response:
        with _GENERATING:
            response: Response = super()._get_schema_response(request)  # type: ignore[no-untyped-call]
            return response
