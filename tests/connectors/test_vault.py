"""Credentials at rest (Fernet under ENGAGE_CREDENTIALS_KEY, with rotation) and the guard's
refusal to look up names under .invalid."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from engage import outbound
from engage.connectors import vault


def test_credentials_are_sealed_and_a_rotated_key_still_opens_them(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.ENGAGE_CREDENTIALS_KEYS = [old]
    sealed = vault.seal({"api_key": "k-123"})
    assert "k-123" not in sealed
    settings.ENGAGE_CREDENTIALS_KEYS = [new, old]  # the new key first: it seals, both open
    assert vault.unseal(sealed) == {"api_key": "k-123"}
    assert vault.unseal(vault.seal({"api_key": "k-456"})) == {"api_key": "k-456"}
    settings.ENGAGE_CREDENTIALS_KEYS = [new]
    with pytest.raises(vault.Unreadable):
        vault.unseal(sealed)


def test_without_a_key_one_is_derived_from_the_secret_key(settings):
    settings.ENGAGE_CREDENTIALS_KEYS = []
    sealed = vault.seal({"token": "t"})
    assert vault.unseal(sealed) == {"token": "t"}
    settings.SECRET_KEY = "another-secret-key-entirely-0123456789-abcdefghij"
    with pytest.raises(vault.Unreadable):
        vault.unseal(sealed)


def test_a_name_under_invalid_is_never_looked_up():
    with pytest.raises(outbound.Unresolved):
        outbound.resolve("imap.example.invalid", 993)
