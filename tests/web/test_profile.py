from __future__ import annotations

import pytest
from django.utils.html import escape

from accounts import notifications
from accounts.models import RoleName

pytestmark = pytest.mark.django_db


def _all_prefs_on() -> dict[str, str]:
    data = {}
    for kind in notifications.kinds():
        data[f"pref__{kind.key}__in_app"] = "on"
        data[f"pref__{kind.key}__email"] = "on"
    return data


def test_profile_shows_who_they_are(signed_in, owner):
    html = signed_in(owner).get("/profile/").content.decode()
    assert owner.email in html
    assert owner.department.name in html
    assert "Employee" in html
    assert f'value="{owner.name}"' in html
    for kind in notifications.kinds():
        assert escape(kind.label) in html  # as the template writes it (an apostrophe is &#x27;)


def test_profile_saves_name_and_preferences(signed_in, owner):
    client = signed_in(owner)
    data = {**_all_prefs_on(), "name": "  Olive Renamed  "}
    del data["pref__account__email"]  # unticked
    del data["pref__announcement__in_app"]
    response = client.post("/profile/", data)
    assert response.status_code == 302
    assert response["Location"] == "/profile/"
    owner.refresh_from_db()
    assert owner.name == "Olive Renamed"
    assert notifications.preference(owner.notification_prefs, "account") == {"in_app": True, "email": False}
    assert notifications.preference(owner.notification_prefs, "announcement") == {"in_app": False, "email": True}
    page = client.get("/profile/").content.decode()
    assert "Your profile is saved." in page
    assert 'name="pref__account__email" id="id_pref__account__email"' in page
    assert 'name="pref__account__email" id="id_pref__account__email" checked' not in page
    assert 'name="pref__account__in_app" id="id_pref__account__in_app" checked' in page


def test_profile_never_changes_roles_department_or_email(signed_in, owner, other_department):
    client = signed_in(owner)
    response = client.post(
        "/profile/",
        {
            **_all_prefs_on(),
            "name": "Olive Owner",
            "roles": [RoleName.ADMIN, RoleName.EXECUTIVE],
            "department": other_department.pk,
            "email": "takeover@example.com",
            "is_active": "",
        },
    )
    assert response.status_code == 302
    owner.refresh_from_db()
    owner.__dict__.pop("role_set", None)
    assert owner.role_set == {RoleName.EMPLOYEE}
    assert owner.department.slug == "support"
    assert owner.email.endswith("@example.com")
    assert owner.email != "takeover@example.com"
    assert owner.is_active


def test_an_empty_name_is_refused_and_nothing_is_saved(signed_in, owner):
    client = signed_in(owner)
    response = client.post("/profile/", {**_all_prefs_on(), "name": "   "})
    assert response.status_code == 400
    html = response.content.decode()
    assert "This field is required." in html
    assert 'aria-invalid="true"' in html
    owner.refresh_from_db()
    assert owner.name == "Olive Owner"
    assert owner.notification_prefs == {}
