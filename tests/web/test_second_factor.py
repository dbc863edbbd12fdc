"""TOTP after the password, with real codes from the enrolled secret (pyotp)."""

from __future__ import annotations

import re
import time
from base64 import b32encode
from typing import Any

import pyotp
import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AccountEvent, RoleName
from accounts.services import second_factor_verify, totp_enrolment_confirm, totp_enrolment_start
from tests.factories import TEST_PASSWORD, UserFactory


def _enrol(user: Any) -> tuple[pyotp.TOTP, list[str]]:
    device = totp_enrolment_start(user=user)
    totp = pyotp.TOTP(b32encode(device.bin_key).decode())
    return totp, totp_enrolment_confirm(user=user, code=totp.now())


def _password(client: Client, user: Any) -> Any:
    return client.post("/login/", {"email": user.email, "password": TEST_PASSWORD})


def test_an_admin_without_a_second_factor_sets_one_up_before_entering(db: Any, settings: Any) -> None:
    settings.ENGAGE_TOTP_REQUIRED_ROLES = ["admin"]
    admin = UserFactory(roles=[RoleName.ADMIN])
    client = Client()
    response = _password(client, admin)
    assert response.status_code == 302
    assert response["Location"] == "/login/code/"
    assert "_auth_user_id" not in client.session
    page = client.get("/login/code/").content.decode()
    assert '<img id="totp-qr" src="data:image/svg+xml;' in page
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)
    wrong = client.post("/login/code/", {"code": "000000"})
    assert wrong.status_code == 400
    assert "_auth_user_id" not in client.session
    # A wrong code keeps the secret the app was just given.
    assert re.search(r'id="totp-secret">([A-Z2-7]+)<', wrong.content.decode()).group(1) == secret
    time.sleep(1.1)  # django-otp slows a device down after a wrong code
    done = client.post("/login/code/", {"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-7]+)</code></li>", done.content.decode())
    assert len(codes) == 10
    assert client.session["_auth_user_id"] == str(admin.pk)
    assert TOTPDevice.objects.filter(user=admin, confirmed=True).count() == 1
    assert AccountEvent.objects.filter(subject=admin, action="totp.enrolled").exists()


def test_an_enrolled_person_needs_the_code_and_a_recovery_code_works_once(db: Any) -> None:
    person = UserFactory()
    totp, codes = _enrol(person)
    client = Client()
    assert _password(client, person)["Location"] == "/login/code/"
    # The code that confirmed the set-up is spent (no replay); the next window's code works.
    assert client.post("/login/code/", {"code": totp.now()}).status_code == 400
    time.sleep(1.1)  # django-otp also slows a device down after a wrong code (1 s, 2 s, 4 s …)
    assert client.post("/login/code/", {"code": totp.at(time.time() + 30)}).status_code == 302
    assert client.session["_auth_user_id"] == str(person.pk)
    other = Client()
    _password(other, person)
    assert other.post("/login/code/", {"code": codes[0]}).status_code == 302
    third = Client()
    _password(third, person)
    assert third.post("/login/code/", {"code": codes[0]}).status_code == 400
    assert "_auth_user_id" not in third.session


def test_the_lock_out_applies_to_codes(db: Any) -> None:
    person = UserFactory()
    totp, _codes = _enrol(person)
    client = Client()
    _password(client, person)
    for _ in range(5):
        assert (
            client.post("/login/code/", {"code": "123456" if totp.now() != "123456" else "654321"}).status_code == 400
        )
    locked = client.post("/login/code/", {"code": totp.now()})
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    with pytest.raises(Exception, match="Too many failed sign-ins"):
        second_factor_verify(user=person, code=totp.now(), ip="127.0.0.1")


def test_people_without_a_second_factor_and_not_required_sign_in_with_the_password(db: Any, settings: Any) -> None:
    settings.ENGAGE_TOTP_REQUIRED_ROLES = ["admin"]
    person = UserFactory(roles=[RoleName.CURATOR])
    client = Client()
    response = _password(client, person)
    assert response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(person.pk)
