"""The probes: which is which (README, "The production shape").

- ``/healthz`` — liveness: 200 while the process runs (restart the process if it fails);
- ``/readyz/web`` — readiness for traffic: 200 while the database answers. The web tier
  serves without the broker (jobs wait in the outbox), so a Redis outage must not take
  web nodes out of a load balancer: point the load balancer here;
- ``/readyz`` — the full dependency report (API.md): the database and, if configured,
  the broker; 503 naming what failed. For monitoring and for the worker's health.
"""

from __future__ import annotations

import redis
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET


@login_not_required
@csrf_exempt
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 while the process runs."""
    return JsonResponse({"status": "ok"})


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return bool(cursor.fetchone() == (1,))
    except Exception:
        return False


def _broker_ok() -> bool:
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


@login_not_required
@csrf_exempt
@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """200 when the database and (if configured) the broker answer, else 503 naming what failed."""
    checks = {"database": _database_ok()}
    if settings.REDIS_URL:
        checks["broker"] = _broker_ok()
    return _report(checks)


@login_not_required
@csrf_exempt
@never_cache
@require_GET
def readyz_web(request: HttpRequest) -> JsonResponse:
    """Ready for traffic: 200 when the database answers, whatever the broker does."""
    return _report({"database": _database_ok()})


def _report(checks: dict[str, bool]) -> JsonResponse:
    failed = sorted(name for name, ok in checks.items() if not ok)
    body = {"status": "ok" if not failed else "unavailable", "checks": checks, "failed": failed}
    return JsonResponse(body, status=503 if failed else 200)
