"""/api/v1/users/ (administrators) and /api/v1/users/me/ (oneself)."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import ApiToken, LoginFailure, Notification, Role, RoleName, User
from accounts.services import token_create
from tests.factories import TEST_PASSWORD, DepartmentFactory, UserFactory

pytestmark = pytest.mark.django_db

USERS = "/api/v1/users/"
ME = "/api/v1/users/me/"


@pytest.fixture(autouse=True)
def _plain_http(settings):
    settings.SECURE_SSL_REDIRECT = False  # the test client speaks plain HTTP


def user_url(user_or_id: User | int, action: str = "") -> str:
    pk = user_or_id if isinstance(user_or_id, int) else user_or_id.pk
    return f"{USERS}{pk}/{action + '/' if action else ''}"


def sign_in(email: str, password: str) -> int:
    response = APIClient().post("/api/v1/auth/token/", {"email": email, "password": password}, format="json")
    return response.status_code


# --- Who may use the administrators' surface -----------------------------------------------------


@pytest.mark.parametrize(
    ("method", "action"),
    [("get", ""), ("patch", ""), ("post", "deactivate"), ("get", "export"), ("post", "erase")],
)
def test_people_who_are_not_admins_get_403_whether_or_not_the_id_exists(api, owner, colleague, method, action):
    client = api(owner)
    for target in (colleague.pk, owner.pk, 999_999):
        response = getattr(client, method)(user_url(target, action), {}, format="json")
        assert response.status_code == 403, (target, action)
    colleague.refresh_from_db()
    assert colleague.is_active
    assert colleague.erased_at is None


def test_the_collection_is_403_for_non_admins_and_401_for_strangers(api, owner):
    assert api(owner).get(USERS).status_code == 403
    assert api(owner).post(USERS, {"email": "x@example.com", "name": "X"}, format="json").status_code == 403
    assert not User.objects.filter(email="x@example.com").exists()
    assert api().get(USERS).status_code == 401
    assert api().get(user_url(owner)).status_code == 401
    assert api().get(ME).status_code == 401


def test_unknown_id_is_404_for_admins(api, admin_user):
    client = api(admin_user)
    assert client.get(user_url(999_999)).status_code == 404
    assert client.patch(user_url(999_999), {"name": "X"}, format="json").status_code == 404
    assert client.post(user_url(999_999, "erase")).status_code == 404
    assert client.get(user_url(10**25)).status_code == 404, "an id out of range is not a crash"


# --- Listing ---------------------------------------------------------------------------------


def test_admin_lists_everyone_with_department_and_roles(api, admin_user, owner, outsider):
    curator = UserFactory(department=owner.department, roles=[RoleName.CURATOR], name="Cora Curator")
    response = api(admin_user).get(USERS)
    assert response.status_code == 200
    rows = {row["id"]: row for row in response.json()["results"]}
    assert set(rows) == {admin_user.pk, owner.pk, outsider.pk, curator.pk}
    assert rows[curator.pk]["roles"] == ["curator", "employee"]
    assert rows[curator.pk]["department"] == "support"
    assert rows[outsider.pk]["department"] == "finance"
    assert set(rows[owner.pk]) == {
        "id", "email", "name", "department", "roles", "is_active", "date_joined", "deactivated_at", "erased_at",
    }  # fmt: skip


def test_list_filters_by_department_and_state(api, admin_user, owner, colleague, outsider):
    colleague.is_active = False
    colleague.save()
    client = api(admin_user)
    in_support = {row["id"] for row in client.get(USERS, {"department": "support"}).json()["results"]}
    assert in_support == {owner.pk, colleague.pk}
    active_support = client.get(USERS, {"department": "support", "is_active": "true"}).json()["results"]
    assert [row["id"] for row in active_support] == [owner.pk]
    assert client.get(USERS, {"is_active": "perhaps"}).status_code == 400


def _many_people(count: int) -> None:
    department = DepartmentFactory()
    people = User.objects.bulk_create(
        User(email=f"many{n}@example.com", name=f"Many {n:03}", department=department) for n in range(count)
    )
    through = User.roles.through
    curator = Role.objects.get_or_create(slug=RoleName.CURATOR)[0]
    employee = Role.objects.get_or_create(slug=RoleName.EMPLOYEE)[0]
    through.objects.bulk_create([through(user=person, role=role) for person in people for role in (employee, curator)])


def test_page_size_is_capped_at_200(api, admin_user):
    _many_people(205)
    client = api(admin_user)
    page = client.get(USERS, {"page_size": 1000}).json()
    assert len(page["results"]) == 200
    assert page["next"]
    assert len(client.get(USERS, {"page_size": 7}).json()["results"]) == 7
    assert len(client.get(USERS).json()["results"]) == 50


def test_listing_costs_the_same_queries_at_any_page_size(api, admin_user, django_assert_max_num_queries):
    _many_people(60)
    client = api(admin_user)
    counts = []
    for size in (5, 60):
        # token+person, the admin's roles, count, page, the page's roles
        with django_assert_max_num_queries(5), CaptureQueriesContext(connection) as queries:
            response = client.get(USERS, {"page_size": size})
        assert len(response.json()["results"]) == size
        assert all(row["roles"] == ["curator", "employee"] for row in response.json()["results"][1:])
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_me_costs_a_fixed_number_of_queries(api, owner, django_assert_max_num_queries):
    client = api(owner)
    with django_assert_max_num_queries(3):  # token+person, person+department, roles
        assert client.get(ME).status_code == 200


def test_an_unknown_page_is_404_not_a_crash(api, admin_user):
    assert api(admin_user).get(USERS, {"page": 99}).status_code == 404
    assert api(admin_user).get(USERS, {"page": "abc"}).status_code == 404
    assert api(admin_user).get(USERS, {"page_size": "-3"}).status_code == 200


# --- Creating --------------------------------------------------------------------------------


def test_admin_creates_a_person_who_can_then_sign_in(api, admin_user, department):
    response = api(admin_user).post(
        USERS,
        {
            "email": "New.Person@Example.com",
            "name": "New Person",
            "password": "a sturdy passphrase 42",
            "department": "support",
            "roles": ["curator"],
            "id": 1,
            "is_active": False,
            "erased_at": "2020-01-01T00:00:00Z",
            "date_joined": "2000-01-01T00:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["id"] > 0
    assert body["id"] != admin_user.pk
    assert body["is_active"] is True, "fields the caller may not set are ignored"
    assert body["erased_at"] is None
    assert not body["date_joined"].startswith("2000")
    assert body["email"] == "new.person@example.com"
    assert body["department"] == "support"
    assert body["roles"] == ["curator", "employee"]
    assert "password" not in body
    assert api(admin_user).get(user_url(body["id"])).json() == body, "GET answers the same shape"
    assert sign_in("new.person@example.com", "a sturdy passphrase 42") == 201


def test_created_without_password_cannot_sign_in_and_invitation_is_mailed(
    api, admin_user, department, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api(admin_user).post(
            USERS, {"email": "invitee@example.com", "name": "In Vitee", "invite": True}, format="json"
        )
    assert response.status_code == 201
    invitee = User.objects.get(pk=response.json()["id"])
    assert not invitee.has_usable_password()
    assert invitee.department is None
    assert [m.to for m in mail.outbox] == [["invitee@example.com"]]
    assert "/password-reset/" in mail.outbox[0].body
    assert "Ada Admin invited you" in mail.outbox[0].body


def test_no_invitation_unless_asked(api, admin_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api(admin_user).post(USERS, {"email": "quiet@example.com", "name": "Quiet"}, format="json")
    assert response.status_code == 201
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "dup@example.com", "name": "Dup", "password": TEST_PASSWORD, "invite": True}, "invite"),
        ({"email": "bad@example.com", "name": "Bad", "roles": ["overlord"]}, "roles"),
        ({"email": "bad@example.com", "name": "Bad", "roles": "admin"}, "roles"),
        ({"email": "bad@example.com", "name": "Bad", "department": "nowhere"}, "department"),
        ({"email": "not-an-email", "name": "Bad"}, "email"),
        ({"email": "bad@example.com", "name": "   "}, "name"),
        ({"email": "bad@example.com", "name": "Bad", "password": "123"}, "password"),
        ({"name": "No Email"}, "email"),
    ],
)
def test_invalid_people_are_refused_naming_the_field(api, admin_user, payload, field):
    response = api(admin_user).post(USERS, payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert field in body or body.get("field") == field, body
    assert not User.objects.filter(email=payload.get("email", "")).exists()


def test_an_email_that_exists_in_another_case_is_refused(api, admin_user, owner):
    response = api(admin_user).post(USERS, {"email": owner.email.upper(), "name": "Twin"}, format="json")
    assert response.status_code == 400
    assert response.json()["field"] == "email"


# --- Changing --------------------------------------------------------------------------------


def test_admin_changes_name_department_and_roles(api, admin_user, owner, other_department):
    response = api(admin_user).patch(
        user_url(owner),
        {"name": "Olive Renamed", "department": "finance", "roles": ["reviewer", "executive"], "email": "x@evil.com"},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Olive Renamed"
    assert body["department"] == "finance"
    assert body["roles"] == ["employee", "executive", "reviewer"]
    owner.refresh_from_db()
    assert owner.email != "x@evil.com", "email is not writable here"
    assert owner.department == other_department


def test_patch_changes_only_what_it_names(api, admin_user, owner):
    owner.roles.add(Role.objects.get_or_create(slug=RoleName.CURATOR)[0])
    response = api(admin_user).patch(user_url(owner), {"name": "Only The Name"}, format="json")
    assert response.status_code == 200
    assert response.json()["roles"] == ["curator", "employee"]
    assert response.json()["department"] == "support"
    assert api(admin_user).patch(user_url(owner), {"department": None}, format="json").json()["department"] is None


def test_a_change_of_roles_is_told_to_the_person(api, admin_user, owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        api(admin_user).patch(user_url(owner), {"roles": ["curator"]}, format="json")
        api(admin_user).patch(user_url(owner), {"name": "No role change"}, format="json")
    notes = list(Notification.objects.filter(user=owner).values_list("kind", "title"))
    assert notes == [("account", "Your roles in Engage changed")]


def test_patch_is_active_false_ends_tokens_and_sessions_and_true_restores_access(api, admin_user, owner):
    raw = token_create(user=owner).token
    session = APIClient()
    session.force_login(owner)
    response = api(admin_user).patch(user_url(owner), {"is_active": False}, format="json")
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert response.json()["deactivated_at"]
    token_client = APIClient()
    token_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert token_client.get(ME).status_code == 401
    assert session.get(ME).status_code == 401
    assert sign_in(owner.email, TEST_PASSWORD) == 400

    assert api(admin_user).patch(user_url(owner), {"is_active": True}, format="json").json()["is_active"] is True
    assert token_client.get(ME).status_code == 401, "revoked tokens stay revoked"
    assert sign_in(owner.email, TEST_PASSWORD) == 201


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"roles": ["king"]}, "roles"), ({"department": "nowhere"}, "department"), ({"name": ""}, "name")],
)
def test_invalid_changes_are_refused_and_nothing_changes(api, admin_user, owner, payload, field):
    response = api(admin_user).patch(user_url(owner), payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    owner.refresh_from_db()
    assert owner.name == "Olive Owner"
    assert owner.department.slug == "support"


def test_the_last_admin_cannot_remove_their_own_access(api, admin_user):
    client = api(admin_user)
    for request in (
        lambda: client.patch(user_url(admin_user), {"roles": ["employee"]}, format="json"),
        lambda: client.patch(user_url(admin_user), {"is_active": False}, format="json"),
        lambda: client.post(user_url(admin_user, "deactivate")),
        lambda: client.post(user_url(admin_user, "erase")),
    ):
        response = request()
        assert response.status_code == 409
        assert "administrator" in response.json()["detail"]
    admin_user.refresh_from_db()
    assert admin_user.is_active
    assert admin_user.has_role(RoleName.ADMIN)
    assert admin_user.erased_at is None


def test_with_another_admin_an_admin_may_step_down(api, admin_user):
    UserFactory(roles=[RoleName.ADMIN])
    response = api(admin_user).patch(user_url(admin_user), {"roles": ["employee"]}, format="json")
    assert response.status_code == 200
    assert response.json()["roles"] == ["employee"]


# --- Deactivate, export, erase ---------------------------------------------------------------------


def test_deactivate_answers_the_person_and_revokes_every_token(api, admin_user, owner):
    tokens = [token_create(user=owner).token for _ in range(2)]
    response = api(admin_user).post(user_url(owner, "deactivate"))
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert not ApiToken.objects.filter(user=owner, revoked_at__isnull=True).exists()
    for raw in tokens:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert client.get(ME).status_code == 401
    assert api(admin_user).post(user_url(owner, "deactivate")).status_code == 200, "again changes nothing"


def test_export_contains_the_persons_data(api, admin_user, owner):
    token_create(user=owner)
    Notification.objects.create(user=owner, kind="account", title="Welcome aboard", body="Hello")
    response = api(admin_user).get(user_url(owner, "export"))
    assert response.status_code == 200
    data = response.json()
    assert data["profile"]["id"] == owner.pk
    assert data["profile"]["email"] == owner.email
    assert data["profile"]["name"] == "Olive Owner"
    assert data["profile"]["department"] == "support"
    assert data["profile"]["roles"] == ["employee"]
    assert len(data["tokens"]) == 1
    assert set(data["tokens"][0]) == {"prefix", "created_at", "expires_at", "revoked_at"}
    assert [note["title"] for note in data["notifications"]] == ["Welcome aboard"]


def test_export_holds_only_that_person(api, admin_user, owner, colleague):
    Notification.objects.create(user=colleague, kind="account", title="Not yours")
    data = api(admin_user).get(user_url(owner, "export")).json()
    assert "Not yours" not in str(data)
    assert colleague.email not in str(data)


def test_erase_keeps_the_row_but_nothing_that_identifies_the_person(api, admin_user, owner):
    email = owner.email
    raw = token_create(user=owner).token
    session = APIClient()
    session.force_login(owner)
    Notification.objects.create(user=owner, kind="account", title="Private")
    LoginFailure.objects.create(email=email, ip="10.0.0.1")
    response = api(admin_user).post(user_url(owner, "erase"))
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == owner.pk
    assert body["erased_at"]
    assert body["is_active"] is False

    erased = User.objects.get(pk=owner.pk)
    assert erased.name != "Olive Owner"
    assert erased.email != email
    assert "olive" not in erased.email.lower()
    assert not erased.has_usable_password()
    assert not ApiToken.objects.filter(user=erased).exists()
    assert not Notification.objects.filter(user=erased).exists()
    assert not LoginFailure.objects.filter(email=email).exists()
    assert erased.department is not None, "counts by department stay right"

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get(ME).status_code == 401
    assert session.get(ME).status_code == 401
    assert sign_in(email, TEST_PASSWORD) == 400
    again = api(admin_user).post(user_url(owner, "erase"))
    assert again.status_code == 200
    assert again.json()["erased_at"] == body["erased_at"]
    assert api(admin_user).patch(user_url(owner), {"is_active": True}, format="json").status_code == 409


# --- Oneself ---------------------------------------------------------------------------------


def test_me_shows_profile_department_roles_and_preferences(api, owner):
    response = api(owner).get(ME)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == owner.pk
    assert body["email"] == owner.email
    assert body["department"] == "support"
    assert body["roles"] == ["employee"]
    assert body["notification_prefs"]["account"] == {"in_app": True, "email": True}
    assert body["notification_prefs"]["announcement"] == {"in_app": True, "email": False}
    assert {"key": "account", "label": "Your account (sign-in, tokens, role changes)"} in body["notification_kinds"]


def test_me_works_with_a_session_too(owner):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.get(ME).json()["id"] == owner.pk
    refused = client.patch(ME, {"name": "Via Session"}, format="json")
    assert refused.status_code == 403, "a session write needs the CSRF token"


def test_a_person_changes_their_name_and_notification_preferences(api, owner):
    response = api(owner).patch(
        ME, {"name": "  Olive Renamed ", "notification_prefs": {"announcement": {"email": True}}}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Olive Renamed"
    assert body["notification_prefs"]["announcement"] == {"in_app": True, "email": True}
    owner.refresh_from_db()
    assert owner.name == "Olive Renamed"
    assert owner.notification_prefs == {"announcement": {"email": True}}

    api(owner).patch(ME, {"notification_prefs": {"announcement": {"in_app": False}}}, format="json")
    owner.refresh_from_db()
    assert owner.notification_prefs == {"announcement": {"email": True, "in_app": False}}, "choices merge"


def test_roles_department_email_and_state_sent_to_me_are_never_applied(api, owner, other_department):
    response = api(owner).patch(
        ME,
        {
            "roles": ["admin", "reviewer"],
            "department": "finance",
            "email": "someone.else@example.com",
            "is_active": False,
            "erased_at": "2020-01-01T00:00:00Z",
            "id": 1,
        },
        format="json",
    )
    assert response.status_code == 200
    owner.refresh_from_db()
    assert owner.role_set == frozenset({"employee"})
    assert not owner.has_role(RoleName.ADMIN)
    assert owner.department.slug == "support"
    assert owner.email.startswith("person")
    assert owner.is_active
    assert owner.erased_at is None
    assert api(owner).get(USERS).status_code == 403, "still no admin"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": ""}, "name"),
        ({"notification_prefs": {"no_such_kind": {"email": True}}}, "notification_prefs"),
        ({"notification_prefs": {"account": "yes"}}, "notification_prefs"),
        ({"notification_prefs": {"account": {"email": "sometimes"}}}, "notification_prefs"),
        ({"notification_prefs": ["account"]}, "notification_prefs"),
    ],
)
def test_invalid_changes_to_me_are_refused_naming_the_field(api, owner, payload, field):
    response = api(owner).patch(ME, payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert field in body or body.get("field") == field, body
    owner.refresh_from_db()
    assert owner.name == "Olive Owner"
    assert owner.notification_prefs == {}
