"""Typed readers for settings taken from the environment.

Every reader fails loudly (``ImproperlyConfigured``) on a value it cannot parse, so a
typo in a deployment shows up at start-up rather than as odd behaviour later.
"""

from __future__ import annotations

import os
import zoneinfo
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use 1/0, true/false, yes/no or on/off")


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below the minimum of {minimum}")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name}={value} is above the maximum of {maximum}")
    return value


def env_list(name: str, default: str) -> list[str]:
    raw = os.environ.get(name, default)
    items = [item.strip() for item in raw.split(",")]
    if any(not item for item in items):
        raise ImproperlyConfigured(f"{name}={raw!r} has an empty item; separate values with single commas")
    return items


def env_time_zone(name: str, default: str) -> str:
    value = os.environ.get(name, default)
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(f"{name}={value!r} is not a known IANA time zone") from None
    return value


def env_mapping(name: str, default: str, *, values: tuple[str, ...]) -> dict[str, list[str]]:
    """``key=value,key=value`` (a key may repeat) as ``{key: [value, …]}``; values from ``values``."""
    raw = os.environ.get(name, default).strip()
    mapping: dict[str, list[str]] = {}
    if not raw:
        return mapping
    for item in raw.split(","):
        key, sep, value = (part.strip() for part in item.partition("="))
        if not sep or not key or not value:
            raise ImproperlyConfigured(f"{name}: {item.strip()!r} is not key=value")
        if value not in values:
            raise ImproperlyConfigured(f"{name}: {value!r} is not one of {', '.join(values)}")
        mapping.setdefault(key, []).append(value)
    return mapping


def csp_origin(url: str) -> str:
    """The scheme, host and port of ``url``, as a Content-Security-Policy source."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
