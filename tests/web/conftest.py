"""Fixtures for tests of the web pages (Django's test client)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from accounts.models import Role, RoleName, User
from tests.factories import TEST_PASSWORD


def ensure_roles() -> None:
    """The role rows a migration made; a transactional test's flush (kept by --reuse-db) drops them."""
    for role in RoleName:
        Role.objects.get_or_create(slug=role.value, defaults={"name": role.label})


@pytest.fixture(autouse=True)
def _roles(db) -> None:
    ensure_roles()


@pytest.fixture(autouse=True)
def _plain_http(settings) -> None:
    """The test client speaks plain HTTP; production's redirect to HTTPS is tested on its own."""
    settings.SECURE_SSL_REDIRECT = False


@pytest.fixture
def signed_in() -> Callable[[User], Client]:
    """``signed_in(user)``: a client with a real session, made by the sign-in page itself."""

    def make(user: User) -> Client:
        client = Client()
        response = client.post("/login/", {"email": user.email, "password": TEST_PASSWORD})
        assert response.status_code == 302, response.content.decode()[:500]
        return client

    return make
