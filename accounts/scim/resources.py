"""People and groups as SCIM resources (RFC 7643 §4), and SCIM bodies read back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Max, OuterRef, QuerySet, Subquery
from rest_framework.request import Request

from accounts import services
from accounts.models import AccountEvent, Department, Role, RoleName, User
from accounts.scim.protocol import ScimError

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ROLE_GROUP_PREFIX = "role:"
DEPARTMENT_ID_PREFIX = "dept-"
ROLE_ID_PREFIX = "role-"


def _when(at: datetime | None) -> str | None:
    return at.isoformat().replace("+00:00", "Z") if at else None


def location(request: Request, kind: str, ident: str) -> str:
    return request.build_absolute_uri(f"/scim/v2/{kind}/{ident}")


# --- Users ---------------------------------------------------------------------------------


def users() -> QuerySet[User]:
    """People as SCIM lists them: their department and roles read along, and when their
    identity last changed (the newest audit line after their creation, else when they joined)."""
    last_event = (
        AccountEvent.objects.filter(subject=OuterRef("pk"))
        .exclude(action="user.created")
        .values("subject")
        .annotate(at=Max("at"))
        .values("at")
    )
    return (
        User.objects.filter(erased_at__isnull=True)
        .select_related("department")
        .prefetch_related("roles")
        .annotate(last_event_at=Subquery(last_event))
        .order_by("id")
    )


def department_group_id(department: Department) -> str:
    return f"{DEPARTMENT_ID_PREFIX}{department.pk}"


def role_group_id(slug: str) -> str:
    return f"{ROLE_ID_PREFIX}{slug}"


def user_resource(user: User, request: Request) -> dict[str, Any]:
    created = user.date_joined
    modified = getattr(user, "last_event_at", None) or created
    groups = []
    if user.department is not None:
        ident = department_group_id(user.department)
        groups.append(
            {
                "value": ident,
                "display": user.department.name,
                "$ref": location(request, "Groups", ident),
                "type": "direct",
            }
        )
    for slug in sorted(user.role_set):
        ident = role_group_id(slug)
        groups.append(
            {
                "value": ident,
                "display": f"{ROLE_GROUP_PREFIX}{slug}",
                "$ref": location(request, "Groups", ident),
                "type": "direct",
            }
        )
    words = user.name.split(" ", 1)
    name: dict[str, str] = {"formatted": user.name}
    if len(words) == 2:
        name.update(givenName=words[0], familyName=words[1])
    body: dict[str, Any] = {
        "schemas": [USER_SCHEMA],
        "id": str(user.pk),
        "userName": user.email,
        "name": name,
        "displayName": user.name,
        "emails": [{"value": user.email, "type": "work", "primary": True}],
        "active": user.is_active,
        "groups": groups,
        "meta": {
            "resourceType": "User",
            "created": _when(created),
            "lastModified": _when(max(created, modified)),
            "location": location(request, "Users", str(user.pk)),
        },
    }
    if user.external_id:
        body["externalId"] = user.external_id
    if user.department is not None:
        body["schemas"].append(ENTERPRISE_SCHEMA)
        body[ENTERPRISE_SCHEMA] = {"department": user.department.name}
    return body


@dataclass
class UserInput:
    """What a SCIM User body says; ``None`` (or ``UNSET`` for the department): not said."""

    email: str | None = None
    name: str | None = None
    external_id: str | None = None
    active: bool | None = None
    department: Any = services.UNSET


def boolean(value: Any, attribute: str) -> bool:
    """SCIM booleans; Entra ID sends ``"True"``/``"False"`` as strings in PATCH."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise ScimError(400, f"{attribute} must be true or false.", "invalidValue")


def text(value: Any, attribute: str) -> str:
    if not isinstance(value, str):
        raise ScimError(400, f"{attribute} must be a string.", "invalidValue")
    return value


def display_name(body: dict[str, Any]) -> str | None:
    """The person's name from ``displayName``, else ``name.formatted``, else given + family."""
    if body.get("displayName") is not None:
        return text(body["displayName"], "displayName")
    name = body.get("name")
    if name is None:
        return None
    if not isinstance(name, dict):
        raise ScimError(400, "name must be an object.", "invalidValue")
    if name.get("formatted") is not None:
        return text(name["formatted"], "name.formatted")
    parts = [text(name[key], f"name.{key}") for key in ("givenName", "middleName", "familyName") if name.get(key)]
    return " ".join(parts) if parts else None


def enterprise_department(extension: Any) -> Any:
    """The department the enterprise extension names (by slug or name), ``None`` for an
    empty one, ``UNSET`` when it says nothing; an unknown one is refused."""
    if extension is None:
        return services.UNSET
    if not isinstance(extension, dict):
        raise ScimError(400, f"{ENTERPRISE_SCHEMA} must be an object.", "invalidValue")
    if "department" not in extension:
        return services.UNSET
    value = extension["department"]
    if value is None or value == "":
        return None
    try:
        return services.department_for_identity(value=text(value, "department"))
    except services.UnknownDepartment as exc:
        raise ScimError(
            400, f"{exc.message} Create it first (POST /Groups) or in Engage's admin.", "invalidValue"
        ) from None


def _require_schema(body: Any, schema: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ScimError(400, "The body must be a JSON object.", "invalidSyntax")
    schemas = body.get("schemas")
    if not isinstance(schemas, list) or schema not in schemas:
        raise ScimError(400, f"schemas must list {schema}.", "invalidSyntax")
    return body


def user_input(body: Any) -> UserInput:
    """A POST or PUT body. ``userName`` (the email) is required; ``password`` and the
    read-only ``groups`` are ignored (provisioned people sign in by single sign-on)."""
    body = _require_schema(body, USER_SCHEMA)
    if not body.get("userName"):
        raise ScimError(400, "userName (the person's email) is required.", "invalidValue")
    given = UserInput(email=text(body["userName"], "userName"), name=display_name(body))
    if "externalId" in body:
        given.external_id = "" if body["externalId"] is None else text(body["externalId"], "externalId")
    if "active" in body:
        given.active = boolean(body["active"], "active")
    given.department = enterprise_department(body.get(ENTERPRISE_SCHEMA))
    return given


# --- Groups: departments, and the roles by rule ---------------------------------------------


@dataclass(frozen=True)
class Group:
    """A department, or a role (``department`` is then ``None``)."""

    department: Department | None = None
    role: str | None = None

    @property
    def ident(self) -> str:
        if self.department is not None:
            return department_group_id(self.department)
        assert self.role is not None
        return role_group_id(self.role)

    @property
    def display_name(self) -> str:
        if self.department is not None:
            return self.department.name
        return f"{ROLE_GROUP_PREFIX}{self.role}"

    def members(self) -> QuerySet[User]:
        people = User.objects.filter(erased_at__isnull=True)
        if self.department is not None:
            return people.filter(department=self.department).order_by("id")
        return people.filter(roles__slug=self.role).order_by("id")


def group_by_id(ident: str) -> Group | None:
    if ident.startswith(ROLE_ID_PREFIX):
        slug = ident[len(ROLE_ID_PREFIX) :]
        return Group(role=slug) if slug in RoleName.values else None
    if ident.startswith(DEPARTMENT_ID_PREFIX) and ident[len(DEPARTMENT_ID_PREFIX) :].isdigit():
        department = Department.objects.filter(pk=int(ident[len(DEPARTMENT_ID_PREFIX) :])).first()
        return Group(department=department) if department else None
    return None


def group_by_name(name: str) -> Group | None:
    name = name.strip()
    if name.lower().startswith(ROLE_GROUP_PREFIX):
        slug = name[len(ROLE_GROUP_PREFIX) :].strip().lower()
        return Group(role=slug) if slug in RoleName.values else None
    department = Department.objects.filter(name__iexact=name).first()
    return Group(department=department) if department else None


def all_groups() -> list[Group]:
    roles = sorted(set(RoleName.values) | set(Role.objects.values_list("slug", flat=True)))
    departments = [Group(department=department) for department in Department.objects.order_by("id")]
    return [*departments, *(Group(role=slug) for slug in roles)]


def group_resource(group: Group, request: Request, *, with_members: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {"schemas": [GROUP_SCHEMA], "id": group.ident, "displayName": group.display_name}
    if with_members:
        body["members"] = [
            {"value": str(pk), "display": name or email, "$ref": location(request, "Users", str(pk)), "type": "User"}
            for pk, name, email in group.members().values_list("pk", "name", "email")
        ]
    meta: dict[str, Any] = {"resourceType": "Group", "location": location(request, "Groups", group.ident)}
    if group.department is not None:
        meta["created"] = meta["lastModified"] = _when(group.department.created_at)
    body["meta"] = meta
    return body


def group_display_name(body: Any) -> str:
    """The ``displayName`` of a Group body (which must be an object listing the Group schema)."""
    body = _require_schema(body, GROUP_SCHEMA)
    name = body.get("displayName")
    if not isinstance(name, str) or not name.strip():
        raise ScimError(400, "displayName is required.", "invalidValue")
    return name


def member_ids(value: Any, attribute: str = "members") -> list[int]:
    """The people a ``members`` value names (``[{"value": "<id>"}, …]``)."""
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise ScimError(400, f'{attribute} must be a list of {{"value": id}}.', "invalidValue")
    ids = []
    for member in value:
        ident = member.get("value") if isinstance(member, dict) else None
        if not isinstance(ident, str | int) or not str(ident).isdigit():
            raise ScimError(400, f"Each of {attribute} needs a value: a User id.", "invalidValue")
        ids.append(int(ident))
    found = set(User.objects.filter(pk__in=ids, erased_at__isnull=True).values_list("pk", flat=True))
    missing = sorted(set(ids) - found)
    if missing:
        raise ScimError(400, f"No such User: {', '.join(map(str, missing))}.", "invalidValue")
    return ids
