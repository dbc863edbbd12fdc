"""Where a request came from, decided in one place for the API and the pages."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings

FALLBACK_ADDRESS = "0.0.0.0"  # noqa: S104 (a placeholder for a missing address, never bound)


def client_address(request: Any) -> str:
    """The address a request came from, for lock-outs and throttles.

    ``REMOTE_ADDR`` unless ``settings.ENGAGE_TRUSTED_PROXY_COUNT`` (default 0) says how
    many proxies of ours stand in front and append to ``X-Forwarded-For``: a client can
    write anything into that header, so it is never trusted by default.
    """
    meta = request.META
    address = meta.get("REMOTE_ADDR", "")
    proxies = int(getattr(settings, "ENGAGE_TRUSTED_PROXY_COUNT", 0) or 0)
    if proxies > 0:
        hops = [hop.strip() for hop in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(hops) >= proxies:
            address = hops[-proxies]
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return FALLBACK_ADDRESS
