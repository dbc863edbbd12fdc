"""A PostgreSQL connection lost in the middle of a request (a failover, a restarted
server, ``pg_terminate_backend``).

A request that has only *read* when its connection goes is run once more on a new
connection: nothing it did can have taken effect, so the person never notices. A request
that had sent a write (or anything that might be one) is never re-run, since the write
may or may not have committed: it answers **503 with ``Retry-After: 1``**, JSON under
``/api/`` (``{"detail": ...}``) and a short page elsewhere, and the client decides. So
does a read whose second try fails too. README ("When the database connection drops")
says what a client sees.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse

from config.input import is_api_request

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RETRY_AFTER_SECONDS = 1
# Statements that change nothing. Anything else (INSERT, UPDATE, DELETE, a WITH that may
# write, COPY, LOCK...) counts as a write, so a doubt is never retried.
_READS = frozenset({"SELECT", "SHOW", "SET", "SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT"})
_WROTE = "_engage_db_wrote"
_RETRIED = "_engage_db_retried"
MESSAGE = "The database connection was lost while answering; try again in a moment."


def connection_lost(exc: BaseException) -> bool:
    """Whether ``exc`` is the database connection going away (not a bad query)."""
    if not isinstance(exc, (OperationalError, InterfaceError)) or connection.vendor != "postgresql":
        return False
    raw = connection.connection
    return raw is None or bool(getattr(raw, "closed", False) or getattr(raw, "broken", False))


class _WriteWatch:
    """A statement wrapper noting, on the request, that something other than a read was sent."""

    def __init__(self, request: HttpRequest) -> None:
        self.request = request

    def __call__(self, execute: Callable[..., Any], sql: Any, params: Any, many: bool, context: Any) -> Any:
        words = str(sql).lstrip(" (\n\t").split(None, 1)
        if not words or words[0].upper() not in _READS:
            setattr(self.request, _WROTE, True)
        return execute(sql, params, many, context)


def unavailable(request: HttpRequest) -> HttpResponse:
    response: HttpResponse
    if is_api_request(request):
        response = JsonResponse({"detail": MESSAGE}, status=503)
    else:
        response = HttpResponse(
            "<!doctype html><html lang=en><meta charset=utf-8><title>Try again</title>"
            f"<main><h1>Try again in a moment</h1><p>{MESSAGE}</p></main></html>",
            status=503,
        )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseDropMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with connection.execute_wrapper(_WriteWatch(request)):
            return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not connection_lost(exception):
            return None
        connection.close()  # the next statement opens a new connection
        match = request.resolver_match
        if (
            request.method not in SAFE_METHODS
            or getattr(request, _WROTE, False)
            or getattr(request, _RETRIED, False)
            or match is None
        ):
            return unavailable(request)
        setattr(request, _RETRIED, True)
        try:
            response: HttpResponse = match.func(request, *match.args, **match.kwargs)
            render = getattr(response, "render", None)
            if callable(render) and not getattr(response, "is_rendered", True):
                render()  # a template response reads while rendering: inside this try too
        except (OperationalError, InterfaceError) as again:
            if not connection_lost(again):
                raise
            connection.close()
            return unavailable(request)
        return response
