from __future__ import annotations

import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import Client

from accounts import services
from accounts.models import RoleName
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _error_block(html: str) -> str:
    match = re.search(r'<div class="alert[^"]*" role="alert" id="sign-in-error">(.*?)</div>', html, re.S)
    assert match, "the page shows no sign-in error"
    return " ".join(match.group(1).split())


def _wrong(client: Client, email: str) -> None:
    response = client.post("/login/", {"email": email, "password": "not the password"})
    assert response.status_code == 400


def test_sign_in_page_renders(client):
    response = client.get("/login/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="email"' in html
    assert 'name="password"' in html
    assert 'autocomplete="current-password"' in html


def test_sign_in_with_the_right_password_starts_a_session(client, owner):
    response = client.post("/login/", {"email": owner.email.upper(), "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session[SESSION_KEY] == str(owner.pk)
    home = client.get("/")
    assert home.status_code == 200
    assert owner.name in home.content.decode()


def test_sign_in_follows_a_local_next_but_not_another_site(client, owner):
    response = client.post("/login/?next=/profile/", {"email": owner.email, "password": TEST_PASSWORD})
    assert response["Location"] == "/profile/"
    other = Client()
    response = other.post(
        "/login/", {"email": owner.email, "password": TEST_PASSWORD, "next": "https://evil.example/steal"}
    )
    assert response["Location"] == "/"


def test_unknown_email_and_wrong_password_get_the_same_answer(client, owner):
    unknown = client.post("/login/", {"email": "nobody@example.com", "password": TEST_PASSWORD})
    wrong = client.post("/login/", {"email": owner.email, "password": "wrong password"})
    assert unknown.status_code == wrong.status_code == 400
    assert _error_block(unknown.content.decode()) == _error_block(wrong.content.decode())
    assert services.BAD_CREDENTIALS in unknown.content.decode()
    assert SESSION_KEY not in client.session
    # The password typed is never sent back; the email is kept for a second try.
    assert "wrong password" not in wrong.content.decode()
    assert f'value="{owner.email}"' in wrong.content.decode()


def test_a_deactivated_person_cannot_sign_in(client, owner):
    services.user_deactivate(user=owner)
    response = client.post("/login/", {"email": owner.email, "password": TEST_PASSWORD})
    assert response.status_code == 400
    assert services.BAD_CREDENTIALS in response.content.decode()
    assert SESSION_KEY not in client.session


def test_an_empty_form_says_what_is_missing(client):
    response = client.post("/login/", {"email": "", "password": ""})
    assert response.status_code == 400
    html = response.content.decode()
    assert "This field is required." in html
    assert 'aria-invalid="true"' in html


def test_lock_out_is_shown_after_five_failures_and_holds_even_for_the_right_password(client, owner):
    for _ in range(services.PAIR_FAILURE_LIMIT):
        _wrong(client, owner.email)
    response = client.post("/login/", {"email": owner.email, "password": TEST_PASSWORD})
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    html = response.content.decode()
    assert "Signing in is paused" in html
    assert "Too many failed sign-ins" in _error_block(html)
    assert SESSION_KEY not in client.session


def test_the_lock_is_per_email(client, owner, colleague):
    for _ in range(services.PAIR_FAILURE_LIMIT):
        _wrong(client, owner.email)
    response = client.post("/login/", {"email": colleague.email, "password": TEST_PASSWORD})
    assert response.status_code == 302


def test_signed_in_people_visiting_the_sign_in_page_go_home(client, owner):
    client.force_login(owner)
    response = client.get("/login/")
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_sign_out_needs_a_post(signed_in, owner):
    client = signed_in(owner)
    response = client.get("/logout/")
    assert response.status_code == 405
    assert client.get("/").status_code == 200, "a GET must not have signed them out"
    response = client.post("/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert SESSION_KEY not in client.session
    assert client.get("/").status_code == 302
    assert "You have signed out." in client.get("/login/").content.decode()


def test_deactivation_ends_a_web_session_at_once(signed_in, owner):
    client = signed_in(owner)
    assert client.get("/").status_code == 200
    services.user_deactivate(user=owner)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


# --- Password reset and invitations --------------------------------------------------------------


def _link(message: mail.EmailMessage) -> str:
    match = re.search(r"https?://[^/\s]+(/password-reset/[^\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def test_password_reset_request_answers_the_same_for_anyone(client, owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        known = client.post("/password-reset/", {"email": owner.email})
    with django_capture_on_commit_callbacks(execute=True):
        unknown = client.post("/password-reset/", {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == "/password-reset/sent/"
    assert [m.to for m in mail.outbox] == [[owner.email]]
    assert client.get("/password-reset/sent/").status_code == 200


def test_a_reset_link_sets_a_new_password(client, owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/password-reset/", {"email": owner.email})
    response = client.get(_link(mail.outbox[0]), follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Choose a new password" in html
    form_url = response.redirect_chain[-1][0]
    new_password = "a brand new passphrase 42"
    response = client.post(form_url, {"new_password1": new_password, "new_password2": new_password})
    assert response.status_code == 302
    assert response["Location"] == "/login/"
    response = Client().post("/login/", {"email": owner.email, "password": new_password})
    assert response.status_code == 302
    # The link worked once.
    again = client.get(_link(mail.outbox[0]), follow=True)
    assert "This link no longer works" in again.content.decode()


def test_an_invited_person_cannot_sign_in_before_choosing_a_password(department, admin_user, on_commit):
    person = services.user_create(
        email="newcomer@example.com", name="Nia Newcomer", password=None, department=department, roles=[]
    )
    services.invitation_send(user=person, invited_by=admin_user)
    assert Client().post("/login/", {"email": person.email, "password": "anything at all"}).status_code == 400


def test_invitation_page_says_welcome(client, department, admin_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        person = services.user_create(
            email="newcomer@example.com", name="Nia Newcomer", password=None, department=department, roles=[]
        )
        services.invitation_send(user=person, invited_by=admin_user)
    message = mail.outbox[-1]
    assert message.to == ["newcomer@example.com"]
    response = client.get(_link(message), follow=True)
    html = response.content.decode()
    assert "Welcome to Engage" in html
    assert "Set my password" in html
    chosen = "my very own passphrase 7"
    response = client.post(response.redirect_chain[-1][0], {"new_password1": chosen, "new_password2": chosen})
    assert response.status_code == 302
    assert Client().post("/login/", {"email": person.email, "password": chosen}).status_code == 302


def test_a_weak_password_is_refused_with_a_reason(client, owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/password-reset/", {"email": owner.email})
    response = client.get(_link(mail.outbox[0]), follow=True)
    response = client.post(response.redirect_chain[-1][0], {"new_password1": "123", "new_password2": "123"})
    assert response.status_code == 200
    assert "too short" in response.content.decode()
    owner.refresh_from_db()
    assert owner.check_password(TEST_PASSWORD)


def test_a_deactivated_persons_old_link_does_not_reopen_the_account(client, owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/password-reset/", {"email": owner.email})
    services.user_deactivate(user=owner)
    response = client.get(_link(mail.outbox[0]), follow=True)
    assert "This link no longer works" in response.content.decode()


def test_admins_sign_in_through_the_same_page(client):
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/login/?next=/admin/")
    assert "Sign in to Engage" in response.content.decode()
    admin = UserFactory(roles=[RoleName.ADMIN])
    response = client.post("/login/?next=/admin/", {"email": admin.email, "password": TEST_PASSWORD})
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_the_sign_in_page_hints_at_the_demo_accounts_when_the_demo_is_loaded(client, settings):
    from accounts.demo import DEMO_ACCOUNTS, DEMO_PASSWORD

    settings.DEBUG = True
    assert "demo company is loaded" not in client.get("/login/").content.decode()  # DEBUG, but no demo

    UserFactory(email=DEMO_ACCOUNTS[0].email)
    html = client.get("/login/").content.decode()
    assert "The demo company is loaded" in html
    assert DEMO_PASSWORD in html
    for account in DEMO_ACCOUNTS:
        assert account.email in html

    # Production (DEBUG off) never hints, even with demo people present.
    settings.DEBUG = False
    html = client.get("/login/").content.decode()
    assert "demo company is loaded" not in html
    assert DEMO_PASSWORD not in html
