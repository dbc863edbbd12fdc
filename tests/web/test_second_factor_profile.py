"""Setting up, replacing and removing the second factor from the profile, with real codes
computed by pyotp from the secret the page shows."""

from __future__ import annotations

import re
import time
from base64 import b32encode
from typing import Any

import pyotp
import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AccountEvent, RecoveryCode, RoleName
from accounts.services import totp_enrolment_confirm, totp_enrolment_start
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

SET_UP = "/profile/second-factor/set-up/"
REMOVE = "/profile/second-factor/remove/"


def _secret(html: str) -> str:
    found = re.search(r'id="totp-secret">([A-Z2-7]+)<', html)
    assert found, html[:2000]
    return found.group(1)


def _recovery_codes(html: str) -> list[str]:
    return re.findall(r"<li><code>([a-z2-7]+)</code></li>", html)


def _set_up(client: Client) -> tuple[pyotp.TOTP, list[str]]:
    totp = pyotp.TOTP(_secret(client.get(SET_UP).content.decode()))
    done = client.post(SET_UP, {"code": totp.now()})
    assert done.status_code == 200, done.content.decode()[:2000]
    return totp, _recovery_codes(done.content.decode())


def _next_code(totp: pyotp.TOTP) -> str:
    """A code django-otp still accepts after ``totp.now()`` was spent: the next window's."""
    return totp.at(time.time() + 30)


def _needs_code_at_sign_in(person: Any) -> bool:
    response = Client().post("/login/", {"email": person.email, "password": TEST_PASSWORD})
    return response["Location"] == "/login/code/"


def test_set_up_from_the_profile_shows_a_qr_code_and_the_recovery_codes_once(signed_in: Any) -> None:
    person = UserFactory()
    client = signed_in(person)
    profile = client.get("/profile/").content.decode()
    assert 'href="/profile/second-factor/set-up/"' in profile
    assert "Set up an authenticator app" in profile
    page = client.get(SET_UP).content.decode()
    assert re.search(r'<img id="totp-qr" src="data:image/svg\+xml;charset=utf-8,%3Csvg', page)
    assert "otpauth://totp/" in page
    secret = _secret(page)
    # A wrong code is refused and keeps the secret the app was just given.
    wrong = client.post(SET_UP, {"code": "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"})
    assert wrong.status_code == 400
    assert "That code is not right." in wrong.content.decode()
    assert _secret(wrong.content.decode()) == secret
    assert not TOTPDevice.objects.filter(user=person, confirmed=True).exists()
    time.sleep(1.1)  # django-otp slows a device down after a wrong code
    done = client.post(SET_UP, {"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200
    codes = _recovery_codes(done.content.decode())
    assert len(codes) == 10
    assert "Engage shows them only now" in done.content.decode()
    assert TOTPDevice.objects.filter(user=person, confirmed=True).count() == 1
    assert AccountEvent.objects.filter(subject=person, source="mfa", action="totp.enrolled").count() == 1
    profile = client.get("/profile/").content.decode()
    assert "Remove the second factor" in profile
    assert "10 recovery codes left" in profile
    assert not any(code in profile for code in codes)
    assert _needs_code_at_sign_in(person)


def test_removal_with_a_current_code_ends_the_code_step(signed_in: Any) -> None:
    person = UserFactory()
    client = signed_in(person)
    totp, _codes = _set_up(client)
    removed = client.post(REMOVE, {"code": _next_code(totp)})
    assert removed.status_code == 302
    assert removed["Location"] == "/profile/"
    assert not TOTPDevice.objects.filter(user=person).exists()
    assert not RecoveryCode.objects.filter(user=person).exists()
    event = AccountEvent.objects.get(subject=person, action="totp.removed")
    assert event.changes == {"proof": "code"}
    assert not _needs_code_at_sign_in(person)


def test_removal_with_the_password_and_a_wrong_one_refused(signed_in: Any) -> None:
    person = UserFactory()
    client = signed_in(person)
    _set_up(client)
    wrong = client.post(REMOVE, {"password": "not the password"})
    assert wrong.status_code == 400
    assert "That password is not right." in wrong.content.decode()
    assert TOTPDevice.objects.filter(user=person, confirmed=True).exists()
    nothing = client.post(REMOVE, {})
    assert nothing.status_code == 400
    assert "Type a code from your app" in nothing.content.decode()
    removed = client.post(REMOVE, {"password": TEST_PASSWORD})
    assert removed.status_code == 302
    assert AccountEvent.objects.get(subject=person, action="totp.removed").changes == {"proof": "password"}
    assert not _needs_code_at_sign_in(person)


def test_a_recovery_code_proves_it_is_you_once(signed_in: Any) -> None:
    person = UserFactory()
    client = signed_in(person)
    _totp, codes = _set_up(client)
    fresh = pyotp.TOTP(_secret(client.get(SET_UP).content.decode()))
    wrong_new = "000000" if fresh.now() != "000000" else "111111"
    # The recovery code proves it is you (and is used up), but the new app's code is wrong.
    assert client.post(SET_UP, {"current_code": codes[0], "code": wrong_new}).status_code == 400
    time.sleep(1.1)
    spent = client.post(SET_UP, {"current_code": codes[0], "code": fresh.now()})
    assert spent.status_code == 400
    assert "That code is not right." in spent.content.decode()
    replaced = client.post(SET_UP, {"current_code": codes[1], "code": fresh.now()})
    assert replaced.status_code == 200
    new_codes = _recovery_codes(replaced.content.decode())
    assert len(new_codes) == 10
    assert not set(new_codes) & set(codes)
    # The old set went with the old authenticator.
    assert client.post(REMOVE, {"code": codes[2]}).status_code == 400
    assert client.post(REMOVE, {"code": new_codes[0]}).status_code == 302


def test_replacing_needs_proof_and_the_old_app_stops_working(signed_in: Any) -> None:
    person = UserFactory()
    client = signed_in(person)
    old, _codes = _set_up(client)
    page = client.get(SET_UP).content.decode()
    assert 'name="current_code"' in page
    new = pyotp.TOTP(_secret(page))
    unproven = client.post(SET_UP, {"code": new.now()})
    assert unproven.status_code == 400
    assert TOTPDevice.objects.get(user=person, confirmed=True).bin_key.hex() == _hex(old)
    replaced = client.post(SET_UP, {"current_code": _next_code(old), "code": new.now()})
    assert replaced.status_code == 200
    assert len(_recovery_codes(replaced.content.decode())) == 10
    assert TOTPDevice.objects.get(user=person, confirmed=True).bin_key.hex() == _hex(new)
    # At sign-in the old app's code is refused, the new one's accepted.
    other = Client()
    other.post("/login/", {"email": person.email, "password": TEST_PASSWORD})
    later = time.time() + 30
    assert other.post("/login/code/", {"code": old.at(later)}).status_code == 400
    time.sleep(1.1)
    assert other.post("/login/code/", {"code": new.at(later)}).status_code == 302


def _hex(totp: pyotp.TOTP) -> str:
    return totp.byte_secret().hex()


def test_an_admin_who_must_have_a_factor_cannot_remove_the_only_one(signed_in: Any, settings: Any) -> None:
    settings.ENGAGE_TOTP_REQUIRED_ROLES = ["admin"]
    admin = UserFactory(roles=[RoleName.ADMIN])
    device = totp_enrolment_start(user=admin)
    totp = pyotp.TOTP(b32encode(device.bin_key).decode())
    totp_enrolment_confirm(user=admin, code=totp.now())
    client = Client()
    client.post("/login/", {"email": admin.email, "password": TEST_PASSWORD})
    assert client.post("/login/code/", {"code": _next_code(totp)}).status_code == 302
    page = client.get(REMOVE)
    assert 'id="removal-refused"' in page.content.decode()
    assert 'name="password"' not in page.content.decode()
    refused = client.post(REMOVE, {"password": TEST_PASSWORD})
    assert refused.status_code == 409
    assert TOTPDevice.objects.filter(user=admin, confirmed=True).exists()
    assert not AccountEvent.objects.filter(subject=admin, action="totp.removed").exists()
    # With password sign-in off, the factor guards nothing at sign-in and may go.
    settings.ENGAGE_PASSWORD_SIGN_IN = False
    assert client.post(REMOVE, {"password": TEST_PASSWORD}).status_code == 302
    assert not TOTPDevice.objects.filter(user=admin).exists()


def test_wrong_passwords_at_removal_count_towards_the_lock_out(signed_in: Any) -> None:
    person = UserFactory()
    client = signed_in(person)
    _set_up(client)
    for _ in range(5):
        assert client.post(REMOVE, {"password": "wrong"}).status_code == 400
    locked = client.post(REMOVE, {"password": TEST_PASSWORD})
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    assert TOTPDevice.objects.filter(user=person, confirmed=True).exists()
