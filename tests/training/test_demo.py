"""The training part of the demo company."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.demo import seed_people
from config.management.commands.seed_demo import SEED_STEPS
from training import selectors
from training.demo import RESPONDER_TITLE, seed_training
from training.models import Attempt, Certification, Course, CourseStatus, Enrollment

pytestmark = pytest.mark.django_db


def test_the_demo_has_courses_certificates_expiries_and_overdue_training():
    assert SEED_STEPS.index("training.demo.seed_training") > SEED_STEPS.index("accounts.demo.seed_people")
    seed_people(rng=random.Random("people"))
    summary = seed_training(rng=random.Random("training"))
    assert summary
    now = timezone.now()

    responder = Course.objects.get(title=RESPONDER_TITLE)
    assert responder.status == CourseStatus.PUBLISHED
    assert (responder.certification_grants, responder.certification_valid_days) == ("responder", 365)
    policy = Course.objects.get(title="Social media policy")
    assert policy.required
    assert Course.objects.filter(status=CourseStatus.DRAFT).exists()

    holders = selectors.privilege_holder_ids(privilege="responder", at=now).count()
    assert 40 <= holders <= 140
    # Expired in the last 180 days, some renewed; some about to expire.
    current = Certification.objects.filter(superseded_at__isnull=True)
    assert current.filter(expires_at__lte=now, expires_at__gt=now - timedelta(days=180)).count() >= 3
    assert Certification.objects.filter(renewal=True).count() >= 3
    assert current.filter(expires_at__gt=now, expires_at__lte=now + timedelta(days=30)).count() >= 2
    # Completions spread over the last 180 days, failures among them.
    passes = Attempt.objects.filter(course=responder, passed=True, created_at__gte=now - timedelta(days=180))
    assert passes.filter(created_at__lt=now - timedelta(days=90)).exists()
    assert passes.filter(created_at__gte=now - timedelta(days=30)).exists()
    assert Attempt.objects.filter(passed=False).exists()
    # Required training: done on time, late, and overdue.
    open_policy = Enrollment.objects.filter(course=policy, completed_at__isnull=True)
    assert open_policy.filter(overdue_at__isnull=False).count() >= 10
    assert Enrollment.objects.filter(course=policy, completed_at__isnull=False).count() >= 150

    assert seed_training(rng=random.Random("training")) is None  # a second run adds nothing
