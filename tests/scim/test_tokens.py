"""Provisioning tokens: made by an administrator (admin or command), shown once, stored
hashed, revocable; audited."""

from __future__ import annotations

import re
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.authentication import hash_token
from accounts.models import AccountEvent, RoleName, ScimToken
from tests.factories import TEST_PASSWORD, UserFactory
from tests.web.conftest import ensure_roles

pytestmark = pytest.mark.django_db


def _admin_client() -> tuple[Any, Client]:
    ensure_roles()
    admin = UserFactory(roles=[RoleName.ADMIN])
    client = Client()
    assert client.post("/login/", {"email": admin.email, "password": TEST_PASSWORD}).status_code == 302
    return admin, client


def test_an_admin_makes_a_token_in_the_admin_and_sees_it_once() -> None:
    admin, client = _admin_client()
    page = client.post("/admin/accounts/scimtoken/add/", {"name": "Entra ID"})
    assert page.status_code == 200
    html = page.content.decode()
    token = re.search(r'<code id="scim-token">(scim_[\w-]+)</code>', html).group(1)
    assert "/scim/v2/" in html
    record = ScimToken.objects.get()
    assert record.name == "Entra ID"
    assert record.created_by == admin
    assert record.key_hash == hash_token(token)
    assert token not in str(ScimToken.objects.values().get())
    # Never again: the change page shows the prefix only.
    detail = client.get(f"/admin/accounts/scimtoken/{record.pk}/change/").content.decode()
    assert record.prefix in detail
    assert token not in detail
    assert AccountEvent.objects.get(action="token.created", actor=admin).changes == {
        "token": record.prefix,
        "name": "Entra ID",
    }
    revoked = client.post(
        "/admin/accounts/scimtoken/", {"action": "revoke", "_selected_action": [record.pk]}, follow=True
    )
    assert "Revoked 1 provisioning token." in revoked.content.decode()
    record.refresh_from_db()
    assert record.revoked_at is not None


def test_people_without_the_admin_role_cannot_make_one() -> None:
    ensure_roles()
    person = UserFactory(roles=[RoleName.CURATOR])
    client = Client()
    client.post("/login/", {"email": person.email, "password": TEST_PASSWORD})
    response = client.post("/admin/accounts/scimtoken/add/", {"name": "Sneaky"})
    assert response.status_code in {302, 403}
    assert not ScimToken.objects.exists()


def test_the_command_makes_lists_and_revokes() -> None:
    out = StringIO()
    call_command("scim_token", "create", "Okta", stdout=out)
    token = out.getvalue().strip()
    assert token.startswith("scim_")
    record = ScimToken.objects.get(key_hash=hash_token(token))
    listed = StringIO()
    call_command("scim_token", "list", stdout=listed)
    assert f"{record.prefix}  Okta  live" in listed.getvalue()
    call_command("scim_token", "revoke", record.prefix, stdout=StringIO())
    record.refresh_from_db()
    assert record.revoked_at is not None
    assert AccountEvent.objects.filter(source="scim", action="token.revoked").count() == 1
