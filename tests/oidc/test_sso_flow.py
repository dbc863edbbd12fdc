"""Single sign-on against a real OpenID provider (conftest.py): the flow and every refusal.

Each refusal is a clear page (it says why, and that nothing changed) and leaves no person
half-made: counts of people and audit lines are checked before and after.
"""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import AccountEvent, RoleName, User
from accounts.services import user_deactivate
from tests.factories import DepartmentFactory, UserFactory

pytestmark = pytest.mark.postgres


@pytest.fixture
def support(transactional_db: Any) -> Any:
    return DepartmentFactory(slug="support", name="Customer Support")


def _refused(response: Any, phrase: str) -> None:
    assert response.status_code in (400, 403), response.status_code
    assert (
        "Single sign-on was refused" in response.text
        or "deactivated" in response.text
        or ("department" in response.text)
    )
    assert phrase in response.text, response.text[:2000]
    assert "nothing was changed" in response.text


def test_first_sign_in_creates_the_person_with_department_and_roles_from_claims(http_flow, support) -> None:
    response = http_flow.finish(http_flow.callback_url())
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    person = User.objects.get(email="ada.lovelace@example.com")
    assert person.department == support
    assert sorted(person.role_set) == [RoleName.CURATOR, RoleName.EMPLOYEE]
    assert not person.has_usable_password()
    event = AccountEvent.objects.get(subject=person)
    assert (event.source, event.action) == ("sign-in", "user.created")
    home = http_flow.session.get(f"{http_flow.base}/", timeout=10)
    assert home.status_code == 200
    assert "Ada Lovelace" in home.text


def test_later_sign_ins_bring_department_and_roles_up_to_date(http_flow, support) -> None:
    sales = DepartmentFactory(slug="sales", name="Sales")
    existing = UserFactory(email="ada.lovelace@example.com", department=support, roles=[RoleName.REVIEWER])
    accounts = http_flow.provider.accounts
    accounts["ada"]["claims"].update({"department": "Sales", "groups": ["engage-admins"]})
    http_flow.provider.set_accounts(accounts)
    response = http_flow.finish(http_flow.callback_url())
    assert response.status_code == 302
    existing.refresh_from_db()
    existing.__dict__.pop("role_set", None)
    assert User.objects.count() == 1  # matched by email, ignoring case
    assert existing.department == sales
    assert sorted(existing.role_set) == [RoleName.ADMIN, RoleName.EMPLOYEE]
    event = AccountEvent.objects.get(subject=existing, action="user.updated")
    assert event.changes == {
        "department": ["support", "sales"],
        "roles": [["employee", "reviewer"], ["admin", "employee"]],
    }


def test_a_key_rotated_in_at_the_provider_is_used_at_once(http_flow, support) -> None:
    assert http_flow.finish(http_flow.callback_url()).status_code == 302
    http_flow.provider.restart()  # a new signing key, published in the JWKS
    http_flow.session.cookies.clear()
    assert http_flow.finish(http_flow.callback_url()).status_code == 302


def test_a_wrong_state_is_refused(http_flow, support) -> None:
    url = http_flow.callback_url()
    response = http_flow.finish(url.replace("state=", "state=forged"))
    _refused(response, "the state does not match")
    assert User.objects.count() == 0


def test_a_replayed_code_is_refused(http_flow, support) -> None:
    first = http_flow.callback_url()
    assert http_flow.finish(first).status_code == 302
    User.objects.all().delete()
    AccountEvent.objects.all().delete()
    # A fresh sign-in in the same browser, answered with the code already used.
    fresh = http_flow.callback_url()
    code = first.split("code=")[1].split("&")[0]
    fresh_code = fresh.split("code=")[1].split("&")[0]
    response = http_flow.finish(fresh.replace(fresh_code, code))
    _refused(response, "already used")
    assert User.objects.count() == 0
    assert AccountEvent.objects.count() == 0


@pytest.mark.parametrize(
    ("quirk", "phrase"),
    [
        ("tamper-signature", "signature does not match"),
        ("wrong-audience", "issued for another application"),
        ("expired", "has expired"),
    ],
)
def test_a_bad_id_token_is_refused(http_flow, support, quirk: str, phrase: str) -> None:
    url = http_flow.callback_url()
    http_flow.provider.quirk(quirk)
    response = http_flow.finish(url)
    _refused(response, phrase)
    assert User.objects.count() == 0
    assert AccountEvent.objects.count() == 0
    assert "_auth_user_id" not in http_flow.session.cookies.get_dict()


def test_an_unverified_email_is_refused(http_flow, support) -> None:
    accounts = http_flow.provider.accounts
    accounts["ada"]["claims"]["email_verified"] = False
    http_flow.provider.set_accounts(accounts)
    _refused(http_flow.finish(http_flow.callback_url()), "has not verified the email address")
    assert User.objects.count() == 0


def test_a_deactivated_person_is_refused_whatever_the_provider_says(http_flow, support) -> None:
    UserFactory(roles=[RoleName.ADMIN])  # someone must remain an administrator
    person = UserFactory(email="ada.lovelace@example.com", department=support)
    user_deactivate(user=person)
    response = http_flow.finish(http_flow.callback_url())
    _refused(response, "is deactivated")
    person.refresh_from_db()
    assert person.is_active is False
    assert not AccountEvent.objects.exists()


def test_an_unknown_department_is_a_clear_page_and_nothing_is_made(http_flow, support) -> None:
    accounts = http_flow.provider.accounts
    accounts["ada"]["claims"]["department"] = "skunkworks"
    http_flow.provider.set_accounts(accounts)
    response = http_flow.finish(http_flow.callback_url())
    _refused(response, "Engage has no such department")
    assert "skunkworks" in response.text
    assert "it-help@example.com" in response.text
    assert User.objects.count() == 0
    assert AccountEvent.objects.count() == 0


def test_sign_out_ends_the_provider_session_too(http_flow, support) -> None:
    assert http_flow.finish(http_flow.callback_url()).status_code == 302
    page = http_flow.session.get(f"{http_flow.base}/", timeout=10)
    token = http_flow.session.cookies.get("csrftoken")
    assert page.status_code == 200
    assert token
    response = http_flow.session.post(
        f"{http_flow.base}/logout/",
        data={"csrfmiddlewaretoken": token},
        headers={"Referer": f"{http_flow.base}/"},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(f"{http_flow.provider.issuer}/session/end?")
    assert "id_token_hint=" in location
    assert "post_logout_redirect_uri=" in location
    assert http_flow.session.get(f"{http_flow.base}/", allow_redirects=False, timeout=10).status_code == 302
