"""accounts.services beyond what the API tests show: races, erasure, housekeeping."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import services
from accounts.models import ApiToken, LoginFailure, LoginLock, Role, RoleName, User
from config.errors import Conflict, RateLimited, ServiceError
from tests.concurrency import run_together
from tests.factories import TEST_PASSWORD, DepartmentFactory, UserFactory

# --- Sign-in -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_authenticate_returns_the_person_and_leaves_no_failure(owner):
    assert services.user_authenticate(email=owner.email, password=TEST_PASSWORD, ip="10.0.0.1") == owner
    assert not LoginFailure.objects.exists()


@pytest.mark.django_db
def test_authenticate_records_a_failure_with_the_normalised_email(owner):
    with pytest.raises(ServiceError):
        services.user_authenticate(email=f" {owner.email.upper()} ", password="wrong", ip="10.0.0.1")
    assert list(LoginFailure.objects.values_list("email", "ip")) == [(owner.email, "10.0.0.1")]


def _sign_in_answer(*, email: str, password: str, ip: str) -> str:
    """The status a sign-in would answer with: 201 (signed in), 400 (wrong) or 429 (locked out)."""
    try:
        services.user_authenticate(email=email, password=password, ip=ip)
    except RateLimited:
        return "429"
    except ServiceError:
        return "400"
    return "201"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_guesses_check_at_most_five_passwords():
    """However many wrong passwords arrive at once, at most five are ever tried."""
    person = UserFactory(department=DepartmentFactory(slug="race"))

    def guess(i: int) -> str:
        return _sign_in_answer(email=person.email, password=f"guess {i}", ip="198.51.100.1")

    outcome = Counter(run_together(24, guess))
    assert outcome["201"] == 0
    assert outcome["400"] <= services.PAIR_FAILURE_LIMIT, outcome
    assert outcome["400"] + outcome["429"] == 24, outcome
    assert LoginFailure.objects.filter(email=person.email).count() == outcome["400"]
    # Refused attempts were never checked. Attempts that follow one by one may use what is
    # left of the five (attempts in flight may have made the lock engage early, never
    # late); then the lock holds, against the right password too.
    later = [guess(100 + n) for n in range(services.PAIR_FAILURE_LIMIT + 1)]
    assert outcome["400"] + later.count("400") <= services.PAIR_FAILURE_LIMIT, (outcome, later)
    assert later[-1] == "429"
    with pytest.raises(RateLimited):
        services.user_authenticate(email=person.email, password=TEST_PASSWORD, ip="198.51.100.1")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_guesses_across_emails_check_at_most_thirty_passwords():
    emails = [f"target{n}@example.com" for n in range(12)]

    def guess(i: int) -> str:
        return _sign_in_answer(email=emails[i % len(emails)], password="guess", ip="198.51.100.2")

    outcome = Counter(run_together(48, guess))
    assert outcome["201"] == 0
    assert outcome["400"] <= services.ADDRESS_FAILURE_LIMIT, outcome
    assert outcome["400"] + outcome["429"] == 48, outcome
    assert LoginFailure.objects.filter(ip="198.51.100.2").count() == outcome["400"]


# --- Administrators ------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_admins_demoting_each_other_at_once_leave_one_admin():
    first = UserFactory(roles=[RoleName.ADMIN], department=DepartmentFactory(slug="a-dept"))
    second = UserFactory(roles=[RoleName.ADMIN], department=first.department)
    targets = [first, second]

    def demote(i: int) -> str:
        try:
            services.user_update(user=targets[i], roles=[RoleName.EMPLOYEE])
        except Conflict:
            return "409"
        return "200"

    assert sorted(run_together(2, demote)) == ["200", "409"]
    assert User.objects.filter(is_active=True, roles__slug=RoleName.ADMIN).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_admins_deactivating_each_other_at_once_leave_one_admin():
    first = UserFactory(roles=[RoleName.ADMIN], department=DepartmentFactory(slug="b-dept"))
    second = UserFactory(roles=[RoleName.ADMIN], department=first.department)
    targets = [first, second]

    def deactivate(i: int) -> str:
        try:
            services.user_deactivate(user=targets[i])
        except Conflict:
            return "409"
        return "200"

    assert sorted(run_together(2, deactivate)) == ["200", "409"]
    assert User.objects.filter(is_active=True, roles__slug=RoleName.ADMIN).count() == 1


@pytest.mark.django_db
def test_deactivating_a_non_admin_needs_no_other_admin(owner):
    assert not User.objects.filter(roles__slug=RoleName.ADMIN).exists()
    services.user_deactivate(user=owner)
    owner.refresh_from_db()
    assert not owner.is_active


@pytest.mark.django_db
def test_user_set_roles_keeps_its_contract(owner, other_department):
    services.user_set_roles(user=owner, roles=[RoleName.REVIEWER], department=other_department)
    owner.refresh_from_db()
    assert owner.department == other_department
    assert set(owner.roles.values_list("slug", flat=True)) == {"employee", "reviewer"}
    with pytest.raises(ServiceError):
        services.user_set_roles(user=owner, roles=["pope"], department=None)


@pytest.mark.django_db
def test_employee_role_is_always_held(department):
    person = services.user_create(email="p@example.com", name="P", password=None, department=department, roles=[])
    assert person.role_set == frozenset({"employee"})
    assert Role.objects.filter(users=person).count() == 1


# --- Erasure and housekeeping ------------------------------------------------------------------


@pytest.mark.django_db
def test_erase_forgets_sign_in_failures_and_locks_under_the_former_email(owner, colleague):
    email = owner.email
    for _ in range(services.PAIR_FAILURE_LIMIT):
        with pytest.raises(ServiceError):
            services.user_authenticate(email=email, password="wrong", ip="10.0.0.1")
    with pytest.raises(ServiceError):
        services.user_authenticate(email=colleague.email, password="wrong", ip="10.0.0.1")
    assert LoginLock.objects.filter(key__endswith=email).exists()

    services.user_erase(user=owner)

    assert not LoginFailure.objects.filter(email=email).exists()
    assert not LoginLock.objects.filter(key__endswith=email).exists()
    assert LoginFailure.objects.filter(email=colleague.email).count() == 1, "other people's records stay"


@pytest.mark.django_db
def test_purge_forgets_what_no_longer_matters(owner):
    now = timezone.now()
    LoginFailure.objects.create(email="a@example.com", ip="10.0.0.1", at=now - timedelta(minutes=16))
    recent = LoginFailure.objects.create(email="a@example.com", ip="10.0.0.1", at=now - timedelta(minutes=1))
    LoginLock.objects.create(key="ip:10.0.0.1", locked_until=now - timedelta(seconds=1))
    live_lock = LoginLock.objects.create(key="ip:10.0.0.2", locked_until=now + timedelta(minutes=5))
    dead = services.token_create(user=owner, ttl=timedelta(days=1)).record
    ApiToken.objects.filter(pk=dead.pk).update(expires_at=now - timedelta(days=31))
    live = services.token_create(user=owner).record

    assert services.auth_records_purge() == 3

    assert list(LoginFailure.objects.all()) == [recent]
    assert list(LoginLock.objects.all()) == [live_lock]
    assert list(ApiToken.objects.all()) == [live]
