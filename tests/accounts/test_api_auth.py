"""POST/DELETE /api/v1/auth/token/ and POST /api/v1/auth/password-reset/ (API.md, Identity)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.core import mail
from django.core.cache import cache
from django.db.models import F
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken, LoginFailure, LoginLock
from accounts.services import BAD_CREDENTIALS, user_deactivate
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
ME_URL = "/api/v1/users/me/"
RESET_URL = "/api/v1/auth/password-reset/"


@pytest.fixture(autouse=True)
def _plain_http(settings):
    settings.SECURE_SSL_REDIRECT = False  # the test client speaks plain HTTP


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()  # the reset throttle counts in the cache, which outlives a test
    yield
    cache.clear()


def sign_in(email: str, password: str, address: str = "10.0.0.1", **extra) -> object:
    body = {"email": email, "password": password}
    return APIClient().post(TOKEN_URL, body, format="json", REMOTE_ADDR=address, **extra)


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def age_sign_in_records(by: timedelta) -> None:
    """Move the clock forward for the lock-out: every failure and lock becomes ``by`` older."""
    LoginFailure.objects.update(at=F("at") - by)
    LoginLock.objects.update(locked_until=F("locked_until") - by)


# --- Issuing tokens -------------------------------------------------------------------------


def test_right_password_gets_a_token_that_works(owner):
    response = sign_in(owner.email, TEST_PASSWORD)
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"token", "expires_at"}
    expires_at = timezone.datetime.fromisoformat(body["expires_at"])
    assert expires_at.tzinfo is not None
    assert timedelta(days=29) < expires_at - timezone.now() <= timedelta(days=30)

    me = bearer(body["token"]).get(ME_URL)
    assert me.status_code == 200
    assert me.json()["email"] == owner.email


def test_email_is_matched_ignoring_case_and_spaces(owner):
    response = sign_in(f"  {owner.email.upper()} ", TEST_PASSWORD)
    assert response.status_code == 201


def test_token_is_stored_only_as_its_hash_and_never_shown_again(owner, admin_user, api):
    raw = sign_in(owner.email, TEST_PASSWORD).json()["token"]
    record = ApiToken.objects.get(user=owner)
    assert record.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    stored = [str(value) for value in ApiToken.objects.values_list("key_hash", "prefix", "user_id").get()]
    assert all(raw not in value for value in stored), "the raw token is not in the database"
    assert len(record.prefix) < len(raw)

    # Nothing that describes the person later shows the token again.
    me = bearer(raw).get(ME_URL).content.decode()
    export = api(admin_user).get(f"/api/v1/users/{owner.pk}/export/").content.decode()
    assert raw not in me
    assert raw not in export


def test_each_sign_in_issues_a_distinct_token(owner):
    first = sign_in(owner.email, TEST_PASSWORD).json()["token"]
    second = sign_in(owner.email, TEST_PASSWORD).json()["token"]
    assert first != second
    assert ApiToken.objects.filter(user=owner).count() == 2


def test_unknown_email_wrong_password_and_inactive_person_get_the_same_answer(owner, colleague):
    user_deactivate(user=colleague)
    unknown = sign_in("nobody@example.com", TEST_PASSWORD)
    wrong = sign_in(owner.email, "not the password")
    inactive = sign_in(colleague.email, TEST_PASSWORD)
    assert unknown.status_code == wrong.status_code == inactive.status_code == 400
    assert unknown.json() == wrong.json() == inactive.json() == {"detail": BAD_CREDENTIALS}
    assert not ApiToken.objects.filter(user__in=[owner, colleague], revoked_at__isnull=True).exists()


def test_invited_person_without_a_password_cannot_sign_in(department):
    invited = UserFactory(department=department, password=None)
    invited.set_unusable_password()
    invited.save()
    assert sign_in(invited.email, "").status_code == 400
    assert sign_in(invited.email, "anything at all").json() == {"detail": BAD_CREDENTIALS}


def test_sign_in_needs_no_session_and_no_csrf_token(owner):
    client = APIClient(enforce_csrf_checks=True)
    response = client.post(TOKEN_URL, {"email": owner.email, "password": TEST_PASSWORD}, format="json")
    assert response.status_code == 201


def test_a_stale_token_sent_along_does_not_block_signing_in(owner):
    client = bearer("no-such-token")
    response = client.post(TOKEN_URL, {"email": owner.email, "password": TEST_PASSWORD}, format="json")
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ('{"email": "a@example.com", "password": ', "application/json"),
        ("not json at all", "application/json"),
        ("[1, 2, 3]", "application/json"),
        ('"just a string"', "application/json"),
    ],
)
def test_malformed_json_is_a_clear_400(body, content_type):
    response = APIClient().generic("POST", TOKEN_URL, body, content_type=content_type)
    assert response.status_code == 400
    assert response.json(), "the answer says what is wrong"
    assert not LoginFailure.objects.exists(), "nothing that is not a sign-in counts as a failure"


def test_missing_and_oversized_fields_are_named():
    response = APIClient().post(TOKEN_URL, {"email": "x" * 300}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"email", "password"}


def test_form_encoded_body_is_refused_not_crashed(owner):
    response = APIClient().post(TOKEN_URL, {"email": owner.email, "password": TEST_PASSWORD})
    assert response.status_code == 415


# --- Lock-out -------------------------------------------------------------------------------


def test_five_failures_lock_the_pair_even_against_the_right_password(owner):
    for _ in range(5):
        assert sign_in(owner.email, "wrong").status_code == 400
    locked = sign_in(owner.email, TEST_PASSWORD)
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) > 14 * 60
    assert "detail" in locked.json()
    assert not ApiToken.objects.filter(user=owner).exists()


def test_four_failures_do_not_lock(owner):
    for _ in range(4):
        sign_in(owner.email, "wrong")
    assert sign_in(owner.email, TEST_PASSWORD).status_code == 201


def test_the_lock_is_for_that_email_from_that_address_only(owner, colleague):
    for _ in range(5):
        sign_in(owner.email, "wrong", address="10.0.0.1")
    assert sign_in(owner.email, TEST_PASSWORD, address="10.0.0.1").status_code == 429
    assert sign_in(owner.email, TEST_PASSWORD, address="10.0.0.2").status_code == 201
    assert sign_in(colleague.email, TEST_PASSWORD, address="10.0.0.1").status_code == 201


def test_unknown_emails_lock_exactly_like_known_ones():
    for _ in range(5):
        assert sign_in("ghost@example.com", "wrong").status_code == 400
    assert sign_in("ghost@example.com", "wrong").status_code == 429


def test_failures_count_whatever_the_letter_case_of_the_email(owner):
    for attempt in range(5):
        email = owner.email.upper() if attempt % 2 else owner.email
        sign_in(email, "wrong")
    assert sign_in(owner.email, TEST_PASSWORD).status_code == 429


def test_the_lock_holds_for_fifteen_minutes_then_lifts(owner):
    for _ in range(5):
        sign_in(owner.email, "wrong")
    lock = LoginLock.objects.get()
    assert timedelta(minutes=14, seconds=50) < lock.locked_until - timezone.now() <= timedelta(minutes=15)

    age_sign_in_records(timedelta(minutes=14, seconds=30))
    assert sign_in(owner.email, TEST_PASSWORD).status_code == 429, "still locked after 14½ minutes"

    age_sign_in_records(timedelta(seconds=31))
    assert sign_in(owner.email, TEST_PASSWORD).status_code == 201, "free again after 15 minutes"


def test_failures_older_than_fifteen_minutes_do_not_count(owner):
    for _ in range(4):
        sign_in(owner.email, "wrong")
    age_sign_in_records(timedelta(minutes=15, seconds=1))
    sign_in(owner.email, "wrong")
    assert sign_in(owner.email, TEST_PASSWORD).status_code == 201


def test_after_the_lock_lifts_one_more_failure_does_not_lock_again(owner):
    for _ in range(5):
        sign_in(owner.email, "wrong")
    age_sign_in_records(timedelta(minutes=15, seconds=1))
    assert sign_in(owner.email, "wrong").status_code == 400
    assert sign_in(owner.email, TEST_PASSWORD).status_code == 201


def test_thirty_failures_from_one_address_lock_the_address_for_every_email(owner, colleague):
    address = "192.0.2.7"
    for n in range(6):  # six emails, five failures each: 30 from the address
        for _ in range(5):
            assert sign_in(f"guess{n}@example.com", "wrong", address=address).status_code == 400
    assert sign_in(owner.email, TEST_PASSWORD, address=address).status_code == 429
    assert sign_in(colleague.email, TEST_PASSWORD, address=address).status_code == 429
    assert sign_in(owner.email, TEST_PASSWORD, address="192.0.2.8").status_code == 201, "other addresses are free"

    age_sign_in_records(timedelta(minutes=15, seconds=1))
    assert sign_in(owner.email, TEST_PASSWORD, address=address).status_code == 201


def test_twenty_nine_failures_from_one_address_do_not_lock_it(owner):
    address = "192.0.2.9"
    for n in range(29):
        assert sign_in(f"guess{n}@example.com", "wrong", address=address).status_code == 400
    assert sign_in(owner.email, TEST_PASSWORD, address=address).status_code == 201
    # The success is not a failure: the 30th failure is still to come.
    assert LoginFailure.objects.filter(ip=address).count() == 29
    assert sign_in("guess-last@example.com", "wrong", address=address).status_code == 400
    assert sign_in(owner.email, TEST_PASSWORD, address=address).status_code == 429


def test_x_forwarded_for_is_not_trusted_by_default(owner):
    for n in range(5):
        sign_in(owner.email, "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    assert sign_in(owner.email, TEST_PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.99").status_code == 429
    assert set(LoginFailure.objects.values_list("ip", flat=True)) == {"10.0.0.1"}


def test_x_forwarded_for_counts_when_proxies_are_declared(owner, settings):
    settings.ENGAGE_TRUSTED_PROXY_COUNT = 1
    for _ in range(5):
        sign_in(owner.email, "wrong", HTTP_X_FORWARDED_FOR="spoofed, 203.0.113.5")
    assert set(LoginFailure.objects.values_list("ip", flat=True)) == {"203.0.113.5"}
    assert sign_in(owner.email, TEST_PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.5").status_code == 429
    assert sign_in(owner.email, TEST_PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.6").status_code == 201


# --- Revoking and refusing tokens -------------------------------------------------------------


def test_delete_revokes_the_token_in_use_only(owner):
    first = sign_in(owner.email, TEST_PASSWORD).json()["token"]
    second = sign_in(owner.email, TEST_PASSWORD).json()["token"]
    assert bearer(first).delete(TOKEN_URL).status_code == 204
    assert bearer(first).get(ME_URL).status_code == 401
    assert bearer(first).delete(TOKEN_URL).status_code == 401
    assert bearer(second).get(ME_URL).status_code == 200


def test_delete_without_a_token_is_401(owner):
    assert APIClient().delete(TOKEN_URL).status_code == 401
    session = APIClient()
    session.force_login(owner)
    assert session.delete(TOKEN_URL).status_code == 401, "a session is not a token to revoke"


def test_expired_token_is_refused(owner):
    raw = sign_in(owner.email, TEST_PASSWORD).json()["token"]
    ApiToken.objects.filter(user=owner).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = bearer(raw).get(ME_URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Bearer not-a-token", "Bearer \u00e9t\u00e9"])
def test_malformed_or_unknown_tokens_are_401(owner, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header.encode().decode("latin-1"))
    assert client.get(ME_URL).status_code == 401


def test_deactivation_refuses_the_token_and_the_session_at_once(owner, admin_user, api):
    raw = sign_in(owner.email, TEST_PASSWORD).json()["token"]
    session = APIClient()
    session.force_login(owner)
    assert bearer(raw).get(ME_URL).status_code == 200
    assert session.get(ME_URL).status_code == 200

    assert api(admin_user).post(f"/api/v1/users/{owner.pk}/deactivate/").status_code == 200

    assert bearer(raw).get(ME_URL).status_code == 401
    assert session.get(ME_URL).status_code == 401


# --- Password reset ---------------------------------------------------------------------------


def test_password_reset_answers_202_and_mails_a_link_to_a_real_person(owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = APIClient().post(RESET_URL, {"email": owner.email.upper()}, format="json")
    assert response.status_code == 202
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [owner.email]
    assert "/password-reset/" in message.body


@pytest.mark.parametrize("email", ["nobody@example.com", "not even an email"])
def test_password_reset_for_no_one_answers_the_same_and_sends_nothing(email, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = APIClient().post(RESET_URL, {"email": email}, format="json")
    assert response.status_code == 202
    assert response.content == b""
    assert mail.outbox == []


def test_password_reset_for_a_deactivated_person_sends_nothing(owner, django_capture_on_commit_callbacks):
    user_deactivate(user=owner)
    with django_capture_on_commit_callbacks(execute=True):
        assert APIClient().post(RESET_URL, {"email": owner.email}, format="json").status_code == 202
    assert mail.outbox == []


def test_password_reset_needs_no_csrf_and_rejects_bad_json():
    client = APIClient(enforce_csrf_checks=True)
    assert client.post(RESET_URL, {"email": "a@example.com"}, format="json").status_code == 202
    assert client.generic("POST", RESET_URL, "{oops", content_type="application/json").status_code == 400
    assert client.post(RESET_URL, {}, format="json").json().keys() == {"email"}


def test_password_reset_is_throttled_per_address(owner, django_capture_on_commit_callbacks):
    client = APIClient()
    with django_capture_on_commit_callbacks(execute=True):
        answers = [client.post(RESET_URL, {"email": owner.email}, format="json").status_code for _ in range(11)]
    assert answers == [202] * 10 + [429]
    assert len(mail.outbox) == 10
    other = client.post(RESET_URL, {"email": owner.email}, format="json", REMOTE_ADDR="10.9.9.9")
    assert other.status_code == 202
