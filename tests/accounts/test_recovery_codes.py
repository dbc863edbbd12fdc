"""Recovery codes: stored as keyed hashes only, used up once (also when offered twice at
the same moment), migrated from django-otp's plain-text rows, counted by the lock-out."""

from __future__ import annotations

from base64 import b32encode
from typing import Any

import pyotp
import pytest
from django.apps import apps as global_apps
from django.db import connection, migrations
from django.db.migrations.loader import MigrationLoader
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from accounts import services
from accounts.models import AccountEvent, RecoveryCode
from config.errors import RateLimited, ServiceError
from tests.concurrency import run_together
from tests.factories import UserFactory

IP = "192.0.2.7"


def _enrol(user: Any) -> list[str]:
    device = services.totp_enrolment_start(user=user)
    return services.totp_enrolment_confirm(user=user, code=pyotp.TOTP(b32encode(device.bin_key).decode()).now())


@pytest.mark.django_db
def test_only_a_keyed_hash_of_each_code_is_stored() -> None:
    person = UserFactory()
    codes = _enrol(person)
    assert len(codes) == 10 == len(set(codes))
    assert all(len(code) == 10 and code.isalnum() and code.islower() for code in codes)
    stored = set(RecoveryCode.objects.filter(user=person).values_list("code_hash", flat=True))
    assert stored == {services.recovery_code_hash(code) for code in codes}
    # The hash is keyed: the same code under another key is another hash.
    assert services.recovery_code_hash(codes[0], secret="another key") not in stored
    with connection.cursor() as cursor:
        cursor.execute("SELECT row_to_json(r)::text FROM accounts_recoverycode r")
        dump = " ".join(row[0] for row in cursor.fetchall())
    assert not any(code in dump for code in codes)
    assert not StaticToken.objects.exists()


@pytest.mark.django_db
def test_a_code_works_once_whatever_its_case_and_spacing() -> None:
    person = UserFactory()
    codes = _enrol(person)
    typed = f" {codes[3][:5].upper()} - {codes[3][5:]} "
    assert services.recovery_code_use(user=person, code=typed) is True
    assert services.recovery_code_use(user=person, code=codes[3]) is False
    assert services.recovery_code_use(user=person, code="not-a-code") is False
    assert services.recovery_code_use(user=person, code="") is False
    assert services.recovery_codes_left(user=person) == 9
    event = AccountEvent.objects.get(subject=person, action="recovery_code.used")
    assert event.changes == {"left": 9}
    # Someone else's code is not yours.
    other = UserFactory()
    assert services.recovery_code_use(user=other, code=codes[4]) is False
    assert services.recovery_code_use(user=person, code=codes[4]) is True


@pytest.mark.django_db
def test_codes_survive_a_key_rotation_while_the_old_key_is_a_fallback(settings: Any) -> None:
    person = UserFactory()
    codes = _enrol(person)
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "a brand new secret key for this deployment, fifty characters long"
    settings.SECRET_KEY_FALLBACKS = [old_key]
    assert services.recovery_code_use(user=person, code=codes[0]) is True
    settings.SECRET_KEY_FALLBACKS = []
    assert services.recovery_code_use(user=person, code=codes[1]) is False


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_code_offered_at_once_lets_in_one_sign_in() -> None:
    person = UserFactory()
    code = _enrol(person)[0]

    def offer(_i: int) -> object:
        try:
            services.second_factor_verify(user=person, code=code, ip=IP)
        except ServiceError as exc:
            return type(exc).__name__
        return "in"

    outcome = run_together(8, offer)
    assert outcome.count("in") == 1, outcome
    assert set(outcome) <= {"in", "ServiceError", "RateLimited"}, outcome
    assert services.recovery_codes_left(user=person) == 9


@pytest.mark.django_db
def test_wrong_recovery_codes_count_towards_the_lock_out() -> None:
    person = UserFactory()
    codes = _enrol(person)
    for _ in range(services.PAIR_FAILURE_LIMIT):
        with pytest.raises(ServiceError, match="not right"):
            services.second_factor_verify(user=person, code="zzzzzzzzzz", ip=IP)
    with pytest.raises(RateLimited):
        services.second_factor_verify(user=person, code=codes[0], ip=IP)
    # The lock refused the right code before looking at it: it is still unused.
    assert services.recovery_codes_left(user=person) == 10


@pytest.mark.django_db
def test_export_tells_and_erasure_takes_the_second_factor_and_the_providers_id() -> None:
    person = UserFactory(external_id="00u1a2b3c4")
    _enrol(person)
    profile = services.user_export(user=person)["profile"]
    assert profile["external_id"] == "00u1a2b3c4"
    assert profile["second_factor"] is True
    services.user_erase(user=person)
    person.refresh_from_db()
    assert person.external_id == ""
    assert not RecoveryCode.objects.filter(user=person).exists()
    assert not services.second_factor_enrolled(user=person)


@pytest.mark.django_db
def test_the_migration_hashes_the_plain_codes_django_otp_kept() -> None:
    person = UserFactory()
    device = StaticDevice.objects.create(user=person, name="Recovery codes", confirmed=True)
    plain = [StaticToken.random_token() for _ in range(3)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in plain])
    migration = MigrationLoader(connection).get_migration("accounts", "0004_recovery_codes")
    data_step = migration.operations[-1]
    assert isinstance(data_step, migrations.RunPython)
    data_step.code(global_apps, None)
    assert not StaticToken.objects.exists()
    assert not StaticDevice.objects.exists()
    assert RecoveryCode.objects.filter(user=person).count() == 3
    assert services.recovery_code_use(user=person, code=plain[1]) is True
    assert services.recovery_code_use(user=person, code=plain[1]) is False
    assert services.recovery_codes_left(user=person) == 2
