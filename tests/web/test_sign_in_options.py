"""The sign-in page offers what is configured: the provider's button, password fields."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import TEST_PASSWORD, UserFactory


def test_without_a_provider_only_the_password_form_shows(client: Any, settings: Any) -> None:
    settings.OIDC_ISSUER = ""
    page = client.get("/login/").content.decode()
    assert 'name="password"' in page
    assert "Sign in with" not in page
    assert client.get("/oidc/authenticate/").status_code == 404


def test_with_a_provider_the_button_shows_beside_the_password_form(client: Any, settings: Any) -> None:
    settings.OIDC_ISSUER = "https://login.example.com"
    settings.OIDC_BUTTON_NAME = "Example Corp"
    page = client.get("/login/?next=/profile/").content.decode()
    assert "Sign in with Example Corp" in page
    assert 'href="/oidc/authenticate/?next=/profile/"' in page
    assert 'name="password"' in page


def test_with_password_sign_in_off_only_the_button_shows_and_passwords_are_refused(
    client: Any, settings: Any, db: Any
) -> None:
    settings.OIDC_ISSUER = "https://login.example.com"
    settings.OIDC_BUTTON_NAME = "Example Corp"
    settings.ENGAGE_PASSWORD_SIGN_IN = False
    person = UserFactory()
    page = client.get("/login/").content.decode()
    assert "Sign in with Example Corp" in page
    assert 'name="password"' not in page
    response = client.post("/login/", {"email": person.email, "password": TEST_PASSWORD})
    assert response.status_code == 400
    assert "password sign-in is turned off" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_break_glass_link_signs_an_administrator_in_once(client: Any, settings: Any, db: Any) -> None:
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    from accounts.models import AccountEvent, RoleName

    settings.OIDC_ISSUER = "https://login.example.com"
    settings.ENGAGE_PASSWORD_SIGN_IN = False
    settings.ENGAGE_SITE_URL = "http://testserver"
    admin = UserFactory(roles=[RoleName.ADMIN])
    employee = UserFactory()
    with pytest.raises(CommandError, match="No active administrator"):
        call_command("break_glass", employee.email, stdout=StringIO())
    out = StringIO()
    call_command("break_glass", admin.email.upper(), stdout=out)
    path = out.getvalue().strip().removeprefix("http://testserver")
    assert client.get(path).status_code == 200  # a preview does not use it up
    assert "_auth_user_id" not in client.session
    response = client.post(path)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(admin.pk)
    client.logout()
    again = client.post(path)
    assert again.status_code == 400
    assert "used already" in again.content.decode()
    assert list(AccountEvent.objects.filter(subject=admin).values_list("action", flat=True).order_by("id")) == [
        "link.issued",
        "link.used",
    ]
