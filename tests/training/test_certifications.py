"""Certification issue, renewal from now, and expiry at the exact moment."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from tests.factories import UserFactory
from tests.training.conftest import RIGHT
from training import selectors, services
from training.models import Certification

pytestmark = pytest.mark.django_db
MICROSECOND = timedelta(microseconds=1)


def test_a_pass_issues_the_certification_valid_for_its_days(owner, course):
    now = timezone.now()
    result = services.attempt_submit(user=owner, course_id=course.pk, answers=RIGHT, now=now)
    cert = result.certification
    assert cert is not None
    assert (cert.name, cert.grants, cert.renewal) == ("Responder", "responder", False)
    assert cert.issued_at == now
    assert cert.expires_at == now + timedelta(days=365)
    assert cert.attempt == result.attempt


def test_renewal_extends_from_now_not_from_the_old_expiry(owner, course):
    first = timezone.now() - timedelta(days=300)
    old = services.attempt_submit(user=owner, course_id=course.pk, answers=RIGHT, now=first).certification
    assert old is not None
    later = first + timedelta(days=300)
    new = services.attempt_submit(user=owner, course_id=course.pk, answers=RIGHT, now=later).certification
    assert new is not None
    assert new.renewal is True
    assert new.expires_at == later + timedelta(days=365)  # not old.expires_at + 365 days
    old.refresh_from_db()
    assert old.superseded_at == later
    # One current certificate per course; the history stays exact.
    assert list(selectors.certifications_for_user(user=owner)) == [new]
    assert selectors.user_holds_privilege(user=owner, privilege="responder", at=first + timedelta(days=1))
    assert Certification.objects.filter(user=owner).count() == 2


def test_a_failed_attempt_neither_issues_nor_renews(owner, course):
    now = timezone.now()
    cert = services.attempt_submit(user=owner, course_id=course.pk, answers=RIGHT, now=now).certification
    services.attempt_submit(user=owner, course_id=course.pk, answers=[[0], [0], [0]], now=now + timedelta(hours=1))
    assert list(Certification.objects.filter(user=owner)) == [cert]


def test_privilege_holds_until_the_exact_moment_of_expiry(owner, course):
    now = timezone.now()
    cert = services.attempt_submit(user=owner, course_id=course.pk, answers=RIGHT, now=now).certification
    assert cert is not None
    expires = cert.expires_at
    assert selectors.user_holds_privilege(user=owner, privilege="responder", at=expires - MICROSECOND)
    assert not selectors.user_holds_privilege(user=owner, privilege="responder", at=expires)
    assert not selectors.user_holds_privilege(user=owner, privilege="responder", at=expires + MICROSECOND)
    # Not before it was issued either, and not for a privilege it does not grant.
    assert not selectors.user_holds_privilege(user=owner, privilege="responder", at=now - MICROSECOND)
    assert not selectors.user_holds_privilege(user=owner, privilege="reviewer", at=now)


def test_expiry_needs_no_job(owner, course):
    now = timezone.now()
    services.attempt_submit(user=owner, course_id=course.pk, answers=RIGHT, now=now - timedelta(days=366))
    # No job has run; the certificate is past its expiry, so the privilege is gone.
    assert not selectors.user_holds_privilege(user=owner, privilege="responder")
    assert Certification.objects.get(user=owner).expiry_announced_at is None


def test_user_holds_privilege_is_one_query(owner, course, django_assert_num_queries):
    services.attempt_submit(user=owner, course_id=course.pk, answers=RIGHT)
    with django_assert_num_queries(1):
        assert selectors.user_holds_privilege(user=owner, privilege="responder")
    with django_assert_num_queries(1):
        assert selectors.user_holds_privilege(user=owner.pk, privilege="responder")


def test_privilege_holder_ids_at_a_moment(owner, colleague, course):
    now = timezone.now()
    services.attempt_submit(user=owner, course_id=course.pk, answers=RIGHT, now=now - timedelta(days=400))
    services.attempt_submit(user=colleague, course_id=course.pk, answers=RIGHT, now=now - timedelta(days=10))
    assert set(selectors.privilege_holder_ids(privilege="responder", at=now)) == {colleague.pk}
    assert set(selectors.privilege_holder_ids(privilege="responder", at=now - timedelta(days=100))) == {owner.pk}
    holders = User.objects.filter(pk__in=selectors.privilege_holder_ids(privilege="responder"))
    assert list(holders) == [colleague]


def test_my_certifications_lists_valid_and_expired(api, owner, make_course):
    now = timezone.now()
    fresh = make_course(title="Responders")
    old = make_course(title="Policy", certification={"name": "Policy", "grants": "", "valid_days": 30})
    services.attempt_submit(user=owner, course_id=fresh.pk, answers=RIGHT, now=now - timedelta(days=1))
    services.attempt_submit(user=owner, course_id=old.pk, answers=RIGHT, now=now - timedelta(days=40))
    UserFactory()  # someone else's certificates are not listed
    body = api(owner).get("/api/v1/users/me/certifications/").json()
    rows = {row["name"]: row for row in body["results"]}
    assert set(rows) == {"Responder", "Policy"}
    assert rows["Responder"]["grants"] == "responder"
    assert rows["Responder"]["valid"] is True
    assert rows["Policy"]["valid"] is False
    assert rows["Policy"]["grants"] == ""
    expected = (now - timedelta(days=40) + timedelta(days=30)).isoformat().replace("+00:00", "Z")
    assert rows["Policy"]["expires_at"] == expected
    assert body["next"] is None


def test_certifications_need_sign_in(api, db):
    assert api().get("/api/v1/users/me/certifications/").status_code == 401
