"""SCIM 2.0 against the running server: the request and response examples of RFC 7644
(create, get, filter, replace, patch ``active: false``, delete, group membership, errors),
adapted where Engage's rules differ (userName is an email), and the token's rules."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from django.test import Client

from accounts import services
from accounts.models import AccountEvent, ApiToken, Department, RoleName, User
from tests.factories import TEST_PASSWORD, DepartmentFactory, UserFactory
from tests.scim.conftest import SCIM_TYPE, Scim

pytestmark = pytest.mark.postgres

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _barbara(**extra: Any) -> dict[str, Any]:
    """RFC 7644 §3.3's example User, with an email for userName (Engage signs in by email)."""
    return {
        "schemas": [USER],
        "userName": "bjensen@example.com",
        "externalId": "bjensen",
        "name": {"formatted": "Ms. Barbara J Jensen III", "familyName": "Jensen", "givenName": "Barbara"},
        **extra,
    }


def _error(response: Any, status: int, scim_type: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith(SCIM_TYPE)
    body = response.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    assert body["detail"]
    if scim_type:
        assert body["scimType"] == scim_type
    return body


def _create(scim: Scim, **extra: Any) -> dict[str, Any]:
    response = scim.post("Users", _barbara(**extra))
    assert response.status_code == 201, response.text
    return response.json()


# --- RFC 7644 §3.3, §3.4: create, get, filter, page ---------------------------------------------


def test_create_answers_201_with_the_resource_and_its_location(scim: Scim) -> None:
    response = scim.post("Users", _barbara())
    assert response.status_code == 201, response.text
    assert response.headers["Content-Type"].startswith(SCIM_TYPE)
    body = response.json()
    assert body["schemas"] == [USER]
    assert body["userName"] == "bjensen@example.com"
    assert body["externalId"] == "bjensen"
    assert body["name"]["formatted"] == "Ms. Barbara J Jensen III"
    assert body["active"] is True
    assert body["meta"]["resourceType"] == "User"
    assert body["meta"]["created"] == body["meta"]["lastModified"]
    assert body["meta"]["location"] == scim.url(f"Users/{body['id']}")
    assert response.headers["Location"] == body["meta"]["location"]
    person = User.objects.get(pk=int(body["id"]))
    assert person.email == "bjensen@example.com"
    assert person.name == "Ms. Barbara J Jensen III"
    assert person.external_id == "bjensen"
    assert not person.has_usable_password()
    assert person.role_set == {RoleName.EMPLOYEE}
    event = AccountEvent.objects.get(subject=person, action="user.created")
    assert event.source == "scim"
    assert event.changes["token"] == scim.record.prefix


def test_create_twice_is_a_uniqueness_conflict_and_nothing_more_is_made(scim: Scim) -> None:
    _create(scim)
    again = scim.post("Users", _barbara(userName="BJensen@Example.com"))
    _error(again, 409, "uniqueness")
    assert User.objects.filter(email__iexact="bjensen@example.com").count() == 1


def test_create_refuses_bad_bodies_naming_what_is_wrong(scim: Scim) -> None:
    detail = _error(scim.post("Users", {"schemas": [USER]}), 400, "invalidValue")["detail"]
    assert "userName" in detail
    _error(scim.post("Users", {"userName": "a@example.com"}), 400, "invalidSyntax")
    detail = _error(scim.post("Users", _barbara(userName="bjensen")), 400, "invalidValue")["detail"]
    assert "email" in detail
    _error(scim.post("Users", _barbara(active="maybe")), 400, "invalidValue")
    _error(scim.post("Users", _barbara(**{ENTERPRISE: {"department": "Nowhere"}})), 400, "invalidValue")
    raw = scim.http.post(
        scim.url("Users"),
        data="{not json",
        headers={"Authorization": f"Bearer {scim.token}", "Content-Type": SCIM_TYPE},
        timeout=30,
    )
    _error(raw, 400, "invalidSyntax")
    nul = _error(scim.post("Users", _barbara(userName="b\u0000@example.com")), 400, "invalidSyntax")
    assert "userName" in nul["detail"]
    assert not User.objects.filter(email__iexact="bjensen@example.com").exists()


def test_get_answers_the_resource_and_404_in_scims_shape(scim: Scim) -> None:
    created = _create(scim)
    got = scim.get(f"Users/{created['id']}")
    assert got.status_code == 200
    assert got.json() == created
    missing = _error(scim.get("Users/2819c223-7f76-453a-919d-413861904646"), 404)
    assert "2819c223" in missing["detail"]
    _error(scim.get("Users/999999"), 404)


def test_filter_by_username_is_a_list_response(scim: Scim) -> None:
    created = _create(scim)
    UserFactory(email="someone.else@example.com")
    listed = scim.get("Users", params={"filter": 'userName eq "BJENSEN@example.com"'})
    assert listed.status_code == 200
    body = listed.json()
    assert body["schemas"] == [LIST]
    assert body["totalResults"] == 1
    assert body["itemsPerPage"] == 1
    assert body["startIndex"] == 1
    assert body["Resources"][0]["id"] == created["id"]
    none = scim.get("Users", params={"filter": 'userName eq "nobody@example.com"'}).json()
    assert none["totalResults"] == 0
    assert none["Resources"] == []
    by_external = scim.get("Users", params={"filter": 'externalId eq "bjensen"'}).json()
    assert [user["id"] for user in by_external["Resources"]] == [created["id"]]
    _error(scim.get("Users", params={"filter": 'userName co "jensen"'}), 400, "invalidFilter")
    _error(scim.get("Users", params={"filter": 'title eq "Tour Guide"'}), 400, "invalidFilter")
    _error(scim.get("Users", params={"filter": "userName eq"}), 400, "invalidFilter")


def test_start_index_and_count_page_through_everyone(scim: Scim) -> None:
    people = sorted(UserFactory().pk for _ in range(5))
    first = scim.get("Users", params={"startIndex": "1", "count": "2"}).json()
    assert first["totalResults"] == 5
    assert first["itemsPerPage"] == 2
    assert [int(user["id"]) for user in first["Resources"]] == people[:2]
    third = scim.get("Users", params={"startIndex": "5", "count": "2"}).json()
    assert [int(user["id"]) for user in third["Resources"]] == people[4:]
    assert third["startIndex"] == 5
    counted = scim.get("Users", params={"count": "0"}).json()
    assert counted["totalResults"] == 5
    assert counted["Resources"] == []
    below = scim.get("Users", params={"startIndex": "-3", "count": "1"}).json()
    assert below["startIndex"] == 1
    _error(scim.get("Users", params={"count": "many"}), 400, "invalidValue")


# --- RFC 7644 §3.5: replace and modify -------------------------------------------------------


def test_put_replaces_the_person(scim: Scim) -> None:
    created = _create(scim)
    DepartmentFactory(slug="tours", name="Tour Operations")
    replaced = scim.put(
        f"Users/{created['id']}",
        {
            "schemas": [USER, ENTERPRISE],
            "id": created["id"],
            "userName": "bjensen@example.com",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            ENTERPRISE: {"department": "tours"},
        },
    )
    assert replaced.status_code == 200, replaced.text
    body = replaced.json()
    assert body["name"]["formatted"] == "Barbara Jensen"
    assert "externalId" not in body  # not given: cleared
    assert body[ENTERPRISE] == {"department": "Tour Operations"}
    person = User.objects.get(pk=int(created["id"]))
    assert (person.name, person.external_id, person.department.slug) == ("Barbara Jensen", "", "tours")
    event = AccountEvent.objects.get(subject=person, action="user.updated")
    assert event.changes["department"] == [None, "tours"]
    assert body["meta"]["lastModified"] > body["meta"]["created"]


def test_patch_active_false_ends_every_session_and_token_at_once(scim: Scim) -> None:
    created = _create(scim)
    person = User.objects.get(pk=int(created["id"]))
    person.set_password(TEST_PASSWORD)
    person.save()
    browser = Client()
    assert browser.post("/login/", {"email": person.email, "password": TEST_PASSWORD}).status_code == 302
    assert browser.get("/profile/").status_code == 200
    api_token = services.token_create(user=person).token
    assert (
        scim.http.get(f"{scim.base}/api/v1/users/me/", headers={"Authorization": f"Bearer {api_token}"}).status_code
        == 200
    )
    patched = scim.patch(
        f"Users/{created['id']}",
        {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["active"] is False
    person.refresh_from_db()
    assert not person.is_active
    assert person.deactivated_at is not None
    assert browser.get("/profile/").status_code == 302
    assert not ApiToken.objects.filter(user=person, revoked_at__isnull=True).exists()
    assert (
        scim.http.get(f"{scim.base}/api/v1/users/me/", headers={"Authorization": f"Bearer {api_token}"}).status_code
        == 401
    )
    event = AccountEvent.objects.get(subject=person, action="user.updated")
    assert event.changes["active"] == [True, False]
    # Entra ID's shape (a path, the boolean as a string, a capitalised op) brings them back.
    back = scim.patch(
        f"Users/{created['id']}",
        {"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "active", "value": "True"}]},
    )
    assert back.json()["active"] is True


def test_patch_attributes_by_path_and_refusals(scim: Scim) -> None:
    created = _create(scim)
    DepartmentFactory(slug="tours", name="Tour Operations")
    patched = scim.patch(
        f"Users/{created['id']}",
        {
            "schemas": [PATCH],
            "Operations": [
                {"op": "replace", "path": "name.givenName", "value": "Babs"},
                {"op": "replace", "path": 'emails[type eq "work"].value', "value": "babs@example.com"},
                {"op": "add", "path": f"{ENTERPRISE}:department", "value": "Tour Operations"},
                {"op": "replace", "path": "title", "value": "Tour Guide"},  # not kept: no change
                {"op": "remove", "path": "externalId"},
            ],
        },
    )
    assert patched.status_code == 200, patched.text
    person = User.objects.get(pk=int(created["id"]))
    # Engage keeps one name: givenName replaces its first word ("Ms." here).
    assert person.name == "Babs Barbara J Jensen III"
    assert person.email == "babs@example.com"
    assert person.department.slug == "tours"
    assert person.external_id == ""
    url = f"Users/{created['id']}"
    _error(scim.patch(url, {"Operations": [{"op": "replace", "path": "active", "value": False}]}), 400, "invalidSyntax")
    _error(
        scim.patch(url, {"schemas": [PATCH], "Operations": [{"op": "move", "path": "active"}]}), 400, "invalidSyntax"
    )
    _error(
        scim.patch(url, {"schemas": [PATCH], "Operations": [{"op": "remove", "path": "userName"}]}), 400, "mutability"
    )
    _error(
        scim.patch(url, {"schemas": [PATCH], "Operations": [{"op": "add", "path": "shoeSize", "value": 9}]}),
        400,
        "invalidPath",
    )
    other = UserFactory(email="taken@example.com")
    _error(
        scim.patch(
            url, {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "userName", "value": other.email}]}
        ),
        409,
        "uniqueness",
    )
    person.refresh_from_db()
    assert person.is_active
    assert person.email == "babs@example.com"


def test_delete_deactivates_and_keeps_the_person_for_the_admin_to_erase(scim: Scim) -> None:
    created = _create(scim)
    deleted = scim.delete(f"Users/{created['id']}")
    assert deleted.status_code == 204
    assert deleted.content == b""
    person = User.objects.get(pk=int(created["id"]))
    assert not person.is_active
    assert person.erased_at is None
    assert scim.get(f"Users/{created['id']}").json()["active"] is False
    # Erased people are gone from SCIM altogether.
    services.user_erase(user=person)
    _error(scim.get(f"Users/{created['id']}"), 404)


def test_the_last_administrator_cannot_be_deactivated(scim: Scim) -> None:
    admin = UserFactory(roles=[RoleName.ADMIN])
    body = _error(scim.delete(f"Users/{admin.pk}"), 409)
    assert "administrator" in body["detail"]
    admin.refresh_from_db()
    assert admin.is_active


# --- Groups: departments, and roles by rule ---------------------------------------------------


def test_groups_list_departments_and_the_role_groups(scim: Scim) -> None:
    support = DepartmentFactory(slug="support", name="Customer Support")
    member = UserFactory(department=support)
    body = scim.get("Groups").json()
    names = [group["displayName"] for group in body["Resources"]]
    assert "Customer Support" in names
    assert {f"role:{role}" for role in RoleName.values} <= set(names)
    found = scim.get("Groups", params={"filter": 'displayName eq "customer support"'}).json()
    assert found["totalResults"] == 1
    group = found["Resources"][0]
    assert group["id"] == f"dept-{support.pk}"
    assert group["members"] == [
        {"value": str(member.pk), "display": member.name, "$ref": scim.url(f"Users/{member.pk}"), "type": "User"}
    ]
    lean = scim.get(f"Groups/{group['id']}", params={"excludedAttributes": "members"}).json()
    assert "members" not in lean
    _error(scim.get("Groups/dept-999999"), 404)
    _error(scim.get("Groups/role-pilot"), 404)


def test_create_a_department_group_with_members_then_patch_membership(scim: Scim) -> None:
    """RFC 7644 §3.5.2.1 (add members) and §3.5.2.2 (remove a member by filter)."""
    old = DepartmentFactory(slug="old", name="Old Team")
    ann, bob = UserFactory(department=old), UserFactory()
    created = scim.post(
        "Groups", {"schemas": [GROUP], "displayName": "Tour Guides", "members": [{"value": str(ann.pk)}]}
    )
    assert created.status_code == 201, created.text
    group = created.json()
    assert group["displayName"] == "Tour Guides"
    assert [member["value"] for member in group["members"]] == [str(ann.pk)]
    department = Department.objects.get(name="Tour Guides")
    assert department.slug == "tour-guides"
    ann.refresh_from_db()
    assert ann.department == department  # joining one department leaves the other
    added = scim.patch(
        f"Groups/{group['id']}",
        {
            "schemas": [PATCH],
            "Operations": [{"op": "add", "path": "members", "value": [{"display": bob.name, "value": str(bob.pk)}]}],
        },
    )
    assert added.status_code == 204, added.text
    bob.refresh_from_db()
    assert bob.department == department
    removed = scim.patch(
        f"Groups/{group['id']}",
        {"schemas": [PATCH], "Operations": [{"op": "remove", "path": f'members[value eq "{ann.pk}"]'}]},
    )
    assert removed.status_code == 204
    ann.refresh_from_db()
    assert ann.department is None
    members = scim.get(f"Groups/{group['id']}").json()["members"]
    assert [member["value"] for member in members] == [str(bob.pk)]
    assert AccountEvent.objects.filter(source="scim", action="department.created").count() == 1
    assert AccountEvent.objects.get(subject=ann, action="user.updated", changes__department=["tour-guides", None])
    _error(scim.post("Groups", {"schemas": [GROUP], "displayName": "tour guides"}), 409, "uniqueness")
    _error(
        scim.patch(
            f"Groups/{group['id']}",
            {"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": [{"value": "424242"}]}]},
        ),
        400,
        "invalidValue",
    )


def test_put_renames_and_sets_the_members_and_delete_needs_it_empty(scim: Scim) -> None:
    team = DepartmentFactory(slug="team", name="Team")
    ann, bob = UserFactory(department=team), UserFactory()
    ident = f"dept-{team.pk}"
    put = scim.put(
        f"Groups/{ident}", {"schemas": [GROUP], "displayName": "The Team", "members": [{"value": str(bob.pk)}]}
    )
    assert put.status_code == 200, put.text
    assert put.json()["displayName"] == "The Team"
    ann.refresh_from_db()
    bob.refresh_from_db()
    assert ann.department is None
    assert bob.department == team
    _error(scim.delete(f"Groups/{ident}"), 409)
    scim.patch(f"Groups/{ident}", {"schemas": [PATCH], "Operations": [{"op": "remove", "path": "members"}]})
    assert scim.delete(f"Groups/{ident}").status_code == 204
    assert not Department.objects.filter(pk=team.pk).exists()
    _error(scim.delete("Groups/role-curator"), 400, "mutability")


def test_role_groups_grant_and_take_roles(scim: Scim) -> None:
    ann = UserFactory(department=None)
    add = scim.patch(
        "Groups/role-curator",
        {"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": [{"value": str(ann.pk)}]}]},
    )
    assert add.status_code == 204, add.text
    assert User.objects.get(pk=ann.pk).role_set == {RoleName.EMPLOYEE, RoleName.CURATOR}
    groups = {group["display"] for group in scim.get(f"Users/{ann.pk}").json()["groups"]}
    assert groups == {"role:curator", "role:employee"}
    # Entra ID removes with the members listed in value.
    removed = scim.patch(
        "Groups/role-curator",
        {"schemas": [PATCH], "Operations": [{"op": "Remove", "path": "members", "value": [{"value": str(ann.pk)}]}]},
    )
    assert removed.status_code == 204
    assert User.objects.get(pk=ann.pk).role_set == {RoleName.EMPLOYEE}
    _error(scim.post("Groups", {"schemas": [GROUP], "displayName": "role:admin"}), 409, "uniqueness")
    _error(scim.post("Groups", {"schemas": [GROUP], "displayName": "role:pilot"}), 400, "invalidValue")
    _error(
        scim.patch("Groups/role-employee", {"schemas": [PATCH], "Operations": [{"op": "remove", "path": "members"}]}),
        400,
        "mutability",
    )
    _error(
        scim.patch(
            "Groups/role-curator",
            {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "displayName", "value": "x"}]},
        ),
        400,
        "mutability",
    )
    admin = UserFactory(roles=[RoleName.ADMIN])
    last = scim.patch(
        "Groups/role-admin",
        {"schemas": [PATCH], "Operations": [{"op": "remove", "path": f'members[value eq "{admin.pk}"]'}]},
    )
    _error(last, 409)
    assert RoleName.ADMIN in User.objects.get(pk=admin.pk).role_set


# --- The token, discovery, the rest -----------------------------------------------------------


def test_only_a_live_provisioning_token_gets_in(scim: Scim) -> None:
    anonymous = scim.http.get(scim.url("Users"), timeout=30)
    _error(anonymous, 401)
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    _error(scim.get("Users", token="scim_not-a-token"), 401)
    person = UserFactory(roles=[RoleName.ADMIN])
    _error(scim.get("Users", token=services.token_create(user=person).token), 401)
    assert scim.get("Users").status_code == 200
    services.scim_token_revoke(token=scim.record, actor=person)
    _error(scim.get("Users"), 401)
    assert AccountEvent.objects.filter(source="scim", action="token.revoked", actor=person).exists()


def test_discovery_documents(scim: Scim) -> None:
    config = scim.get("ServiceProviderConfig").json()
    assert config["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]
    assert config["patch"]["supported"] is True
    assert config["filter"] == {"supported": True, "maxResults": 200}
    assert config["bulk"]["supported"] is False
    assert config["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    types = scim.get("ResourceTypes").json()
    assert {item["id"] for item in types["Resources"]} == {"User", "Group"}
    assert scim.get("ResourceTypes/User").json()["endpoint"] == "/Users"
    schemas = scim.get("Schemas").json()
    assert {item["id"] for item in schemas["Resources"]} == {USER, GROUP, ENTERPRISE}
    user_schema = scim.get(f"Schemas/{USER}").json()
    assert "userName" in {attribute["name"] for attribute in user_schema["attributes"]}
    # Readable without a token.
    assert scim.http.get(scim.url("ServiceProviderConfig"), timeout=30).status_code == 200
    _error(scim.get("Schemas/urn:nothing"), 404)


def test_unknown_paths_and_methods_answer_in_scims_shape(scim: Scim) -> None:
    _error(scim.get("Widgets"), 404)
    _error(scim.call("PATCH", "Users", {"schemas": [PATCH], "Operations": []}), 405)


def test_the_same_person_pushed_twice_at_once_is_made_once(scim: Scim) -> None:
    """Providers retry; two creations of one userName racing on real connections: one 201,
    the other SCIM's 409, never a 500 or a second person."""

    def push(_i: int) -> int:
        with requests.Session() as http:
            http.trust_env = False
            response = http.post(
                scim.url("Users"),
                json=_barbara(),
                headers={"Authorization": f"Bearer {scim.token}", "Content-Type": SCIM_TYPE},
                timeout=30,
            )
            return response.status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = sorted(pool.map(push, range(6)))
    assert statuses == [201, 409, 409, 409, 409, 409]
    assert User.objects.filter(email__iexact="bjensen@example.com").count() == 1
