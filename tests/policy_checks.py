"""Checking the pages against the services: whether a service would accept a call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404

from config.errors import ServiceError


def service_accepts(call: Callable[[], Any]) -> bool:
    """Whether ``call`` (a service) goes through, without keeping what it did: it runs in a
    transaction rolled back at the end; refused (403), bad or in conflict (4xx), not found (404) is False."""
    try:
        with transaction.atomic():
            call()
            transaction.set_rollback(True)
    except (PermissionDenied, ServiceError, Http404):
        return False
    return True
