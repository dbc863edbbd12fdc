"""People and helpers for the content tests.

``author`` (a curator in marketing) writes; ``reviewer`` approves; ``employee`` is in
support; ``stranger`` is in finance. Services get ``now`` so the clock can be moved.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import RoleName
from content import services
from content.models import Message
from tests.factories import DepartmentFactory, TopicFactory, UserFactory


@pytest.fixture
def marketing(department, other_department):
    """Marketing, with support and finance there too (audiences name them)."""
    return DepartmentFactory(slug="marketing", name="Marketing", kind="marketing")


@pytest.fixture
def author(marketing):
    return UserFactory(department=marketing, name="Cora Curator", roles=[RoleName.CURATOR])


@pytest.fixture
def second_curator(marketing):
    return UserFactory(department=marketing, name="Carl Curator", roles=[RoleName.CURATOR])


@pytest.fixture
def reviewer(marketing):
    return UserFactory(department=marketing, name="Rita Reviewer", roles=[RoleName.REVIEWER])


@pytest.fixture
def curator_reviewer(marketing):
    return UserFactory(department=marketing, name="Cass Both", roles=[RoleName.CURATOR, RoleName.REVIEWER])


@pytest.fixture
def employee(department):
    return UserFactory(department=department, name="Ed Employee")


@pytest.fixture
def stranger(other_department):
    return UserFactory(department=other_department, name="Sue Stranger")


@pytest.fixture
def topic(department):
    return TopicFactory(slug="refunds", name="Refunds", department=department, keywords=["refund"])


@pytest.fixture
def now() -> datetime:
    return timezone.now().replace(microsecond=0)


def make_message(author: Any, *, now: datetime | None = None, **fields: Any) -> Message:
    values: dict[str, Any] = {"title": "Refunds take five days", "body": "We refund **every** order in five days."}
    values.update(fields)
    return services.message_create(author=author, fields=values, now=now)


def publish(author: Any, reviewer: Any, *, now: datetime | None = None, **fields: Any) -> Message:
    """A message written, submitted and approved (published, or scheduled by its times)."""
    message = make_message(author, now=now, **fields)
    services.message_submit(user=author, message_id=message.pk, now=now)
    return services.message_approve(user=reviewer, message_id=message.pk, now=now)


def later(now: datetime, **delta: float) -> datetime:
    return now + timedelta(**delta)


@pytest.fixture(autouse=True)
def _plain_http(settings) -> None:
    settings.SECURE_SSL_REDIRECT = False  # the test client speaks plain HTTP
