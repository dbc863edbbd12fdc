"""Shared fixtures.

Permission tests use three people: the ``owner`` of a thing, a ``colleague`` in the same
department, and an ``outsider`` in another department.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import RoleName, User
from accounts.services import token_create
from tests.factories import DepartmentFactory, UserFactory


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    on_postgres = settings.USING_POSTGRES
    has_redis = bool(settings.REDIS_URL)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    require_browser = os.environ.get("ENGAGE_REQUIRE_BROWSER") == "1"
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL or start it locally"))
        if "redis" in item.keywords and not (has_redis and on_postgres):
            item.add_marker(pytest.mark.skip(reason="needs Redis and PostgreSQL for a real Celery worker"))
        if "browser" in item.keywords and not chromium and not require_browser:
            item.add_marker(pytest.mark.skip(reason="needs Chromium (apt-get install chromium chromium-driver)"))


@pytest.fixture(autouse=True)
def _plain_http(settings) -> None:
    """The test client speaks plain HTTP; production's HTTPS redirect is tested on its own."""
    settings.SECURE_SSL_REDIRECT = False


@pytest.fixture(autouse=True)
def _jobs_in_process(request: pytest.FixtureRequest, settings) -> None:
    """Jobs run in-process after commit unless a test exercises the real broker."""
    if "redis" not in request.keywords:
        settings.CELERY_TASK_ALWAYS_EAGER = True


@pytest.fixture
def department(db):
    return DepartmentFactory(slug="support", name="Customer Support")


@pytest.fixture
def other_department(db):
    return DepartmentFactory(slug="finance", name="Finance")


@pytest.fixture
def owner(department) -> User:
    return UserFactory(department=department, name="Olive Owner")


@pytest.fixture
def colleague(department) -> User:
    return UserFactory(department=department, name="Colin Colleague")


@pytest.fixture
def outsider(other_department) -> User:
    return UserFactory(department=other_department, name="Otto Outsider")


@pytest.fixture
def admin_user(db) -> User:
    return UserFactory(roles=[RoleName.ADMIN], name="Ada Admin")


@pytest.fixture
def api() -> Callable[[User | None], APIClient]:
    """``api(user)``: a client authenticated with a real bearer token (``api()``: anonymous)."""

    def make(user: User | None = None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_create(user=user).token}")
        return client

    return make


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks) -> Iterator[None]:
    """Run on-commit callbacks (jobs) at the end of the block, as a real commit would."""
    with django_capture_on_commit_callbacks(execute=True):
        yield


def postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
