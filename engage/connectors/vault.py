"""Connectors' credentials at rest: a JSON object sealed with Fernet (``cryptography``).

The keys come from ``ENGAGE_CREDENTIALS_KEY`` (comma-separated Fernet keys: the first seals,
every one opens, so a key is rotated by putting the new one first and re-saving the
channels); unset, one key derived from ``SECRET_KEY`` with HKDF. Nothing here is ever shown:
the channels page and the API say only which credentials are set.
"""

from __future__ import annotations

import base64
import json
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


class Unreadable(Exception):
    """The stored credentials open under none of the keys (the key changed, or the row was edited)."""


@cache
def _fernet(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    if not keys:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"engage connector credentials")
        keys = (base64.urlsafe_b64encode(derived.derive(secret_key.encode())).decode(),)
    return MultiFernet([Fernet(key) for key in keys])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.ENGAGE_CREDENTIALS_KEYS), settings.SECRET_KEY)


def seal(values: dict[str, str]) -> str:
    """``values`` encrypted and authenticated; empty for no credentials."""
    if not values:
        return ""
    return _current().encrypt(json.dumps(values, sort_keys=True).encode()).decode()


def unseal(token: str) -> dict[str, str]:
    if not token:
        return {}
    try:
        values = json.loads(_current().decrypt(token.encode()))
    except InvalidToken:
        raise Unreadable("the channel's credentials cannot be decrypted with the configured keys") from None
    if not isinstance(values, dict):
        raise Unreadable("the channel's credentials are not an object")
    return {str(key): str(value) for key, value in values.items()}
