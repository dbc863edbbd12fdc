"""Shared fixtures.

Permission tests use three people: the ``owner`` of a thing, a ``colleague`` in the same
department, and an ``outsider`` in another department.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
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
    dovecot = shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL or start it locally"))
        if "redis" in item.keywords and not (has_redis and on_postgres):
            item.add_marker(pytest.mark.skip(reason="needs Redis and PostgreSQL for a real Celery worker"))
        if "browser" in item.keywords and not chromium and not require_browser:
            item.add_marker(pytest.mark.skip(reason="needs Chromium (apt-get install chromium chromium-driver)"))
        if "mailservers" in item.keywords and not dovecot and not mail_servers_required():
            item.add_marker(pytest.mark.skip(reason="needs Dovecot (apt-get install dovecot-imapd)"))


def mail_servers_required() -> bool:
    """CI (and ENGAGE_REQUIRE_SERVICES=1) runs the email tests against real servers or fails."""
    return os.environ.get("CI") == "true" or os.environ.get("ENGAGE_REQUIRE_SERVICES") == "1"


@pytest.fixture(scope="session")
def _one_run_per_test_database() -> Iterator[None]:
    """One test run at a time on a PostgreSQL test database.

    Two runs on one test database corrupt each other without saying so: the other run's
    transactional tests empty every table between tests (a channel made by a fixture is gone,
    so a webhook answers 404 and ``response.json()["id"]`` fails as ``KeyError: 'id'``), and
    the fault tests terminate the database's other connections. A session-level advisory lock
    named after the test database, held on a connection of its own to the server's
    ``postgres`` database for the whole run, makes a second run stop at once and say why.
    """
    if not settings.USING_POSTGRES:
        yield
        return
    import psycopg
    from django.db import connections

    db: dict[str, Any] = settings.DATABASES["default"]
    name = connections["default"].creation._get_test_db_name()
    conninfo = psycopg.conninfo.make_conninfo(
        dbname="postgres", user=db.get("USER") or None, password=db.get("PASSWORD") or None,
        host=db.get("HOST") or None, port=db.get("PORT") or None, application_name="engage-test-run",
    )  # fmt: skip
    with psycopg.connect(conninfo, autocommit=True) as guard:
        row = guard.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [f"engage-test-database:{name}"]).fetchone()
        if not (row and row[0]):
            pytest.exit(
                f"Another test run is using the test database {name!r} right now; two runs on one database "
                "empty each other's tables. Wait for it, or give this run a database of its own "
                "(DATABASE_URL=postgres://…/another_name).",
                returncode=3,
            )
        yield


@pytest.fixture(scope="session")
def django_db_setup(_one_run_per_test_database: None, django_db_setup: None) -> None:
    """pytest-django's test database set-up, once this run holds the test database's lock."""


@pytest.fixture(autouse=True)
def _plain_http(settings) -> None:
    """The test client speaks plain HTTP; production's HTTPS redirect is tested on its own."""
    settings.SECURE_SSL_REDIRECT = False


@pytest.fixture(autouse=True)
def _reset_throttle_unspent() -> None:
    """The password-reset throttle counts in the cache, which outlives a test and, in Redis, a
    whole run: every test starts with the test client's address not yet throttled."""
    from accounts.apis import PasswordResetThrottle

    cache.delete(PasswordResetThrottle.cache_format % {"scope": PasswordResetThrottle.scope, "ident": "127.0.0.1"})


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
