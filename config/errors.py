"""Errors that services raise; the API and the web views turn them into answers."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """Bad input a service refused (400)."""

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class Conflict(ServiceError):
    """The object is not in a state that allows this (409)."""


class RateLimited(ServiceError):
    """Too many attempts (429)."""

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
