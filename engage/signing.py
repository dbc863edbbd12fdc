"""Webhook signatures (API.md): ``v1=<hex>``, the HMAC-SHA256 of ``<timestamp>.<raw body>``.

Used both ways: to check what channels send us, and to sign what we deliver to them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

SIGNATURE_HEADER = "X-Engage-Signature"
TIMESTAMP_HEADER = "X-Engage-Timestamp"
TOLERANCE_SECONDS = 300


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The hex HMAC-SHA256 under ``secret`` of ``<timestamp>.<body>``."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """The two headers that sign ``body`` now (or at ``timestamp``)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: f"v1={signature(secret, stamp, body)}"}


def _candidates(header: str) -> list[str]:
    values = []
    for part in header.split(","):
        scheme, _, value = part.strip().partition("=")
        if scheme == "v1" and value:
            values.append(value.strip().lower())
    return values[:10]  # a sender rotating keys sends two; more is noise


def verify(*, secrets_: list[str], timestamp: str | None, header: str | None, body: bytes, now: float) -> bool:
    """Whether any ``v1=`` value of ``header`` signs ``body`` at ``timestamp`` under any secret.

    The timestamp must be within ``TOLERANCE_SECONDS`` of ``now``; every comparison is
    constant-time.
    """
    if not timestamp or not header:
        return False
    stamp = timestamp.strip()
    if not stamp.isdigit() or len(stamp) > 12:
        return False
    if abs(now - int(stamp)) > TOLERANCE_SECONDS:
        return False
    offered = _candidates(header)
    if not offered:
        return False
    valid = False
    for secret in secrets_:
        expected = signature(secret, stamp, body)
        for value in offered:
            # No early exit: how long this takes does not depend on which value matched.
            valid |= hmac.compare_digest(expected.encode(), value.encode())
    return valid
