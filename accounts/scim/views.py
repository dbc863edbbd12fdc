"""The SCIM endpoints: Users, Groups and discovery (see the package's docstring for the mapping)."""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from rest_framework import permissions
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import services
from accounts.models import RoleName, User
from accounts.scim import discovery, filters
from accounts.scim.protocol import LIST_SCHEMA, PATCH_SCHEMA, ScimError, ScimView
from accounts.scim.resources import (
    ENTERPRISE_SCHEMA,
    GROUP_SCHEMA,
    ROLE_GROUP_PREFIX,
    USER_SCHEMA,
    Group,
    UserInput,
    all_groups,
    boolean,
    display_name,
    enterprise_department,
    group_by_id,
    group_by_name,
    group_display_name,
    group_resource,
    member_ids,
    text,
    user_input,
    user_resource,
    users,
)

DEFAULT_COUNT = 100
MAX_COUNT = 200

# Core and enterprise attributes providers send that Engage does not keep: a PATCH of them
# changes nothing rather than failing the provider's whole sync.
IGNORED_USER_ATTRIBUTES = {
    "nickname", "profileurl", "title", "usertype", "preferredlanguage", "locale", "timezone", "password",
    "phonenumbers", "ims", "photos", "addresses", "entitlements", "roles", "x509certificates", "name.middlename",
    "name.honorificprefix", "name.honorificsuffix",
    *(f"{ENTERPRISE_SCHEMA.lower()}:{name}" for name in (
        "employeenumber", "costcenter", "organization", "division", "manager",
    )),
}  # fmt: skip


def _page(request: Request) -> tuple[int, int]:
    """``startIndex`` (1-based; below 1 counts as 1) and ``count`` (negative counts as 0;
    at most ``MAX_COUNT``), RFC 7644 §3.4.2.4."""
    values = []
    for name, default in (("startIndex", 1), ("count", DEFAULT_COUNT)):
        raw = request.query_params.get(name, str(default))
        if not re.fullmatch(r"-?\d{1,9}", raw):
            raise ScimError(400, f"{name} must be an integer.", "invalidValue")
        values.append(int(raw))
    return max(1, values[0]), min(MAX_COUNT, max(0, values[1]))


def _list(resources: list[dict[str, Any]], total: int, start: int) -> Response:
    return Response(
        {
            "schemas": [LIST_SCHEMA],
            "totalResults": total,
            "itemsPerPage": len(resources),
            "startIndex": start,
            "Resources": resources,
        }
    )


def _excluded(request: Request) -> set[str]:
    return {name.strip().lower() for name in request.query_params.get("excludedAttributes", "").split(",") if name}


# --- Users ---------------------------------------------------------------------------------

USER_FILTERS = {"username", "emails.value", "emails", "externalid", "id", "active", "displayname"}


def _filter_users(people: QuerySet[User], text_filter: str) -> QuerySet[User]:
    comparison = filters.parse(text_filter, allowed=USER_FILTERS, core_schema=USER_SCHEMA)
    value = comparison.value
    if comparison.attribute in {"username", "emails.value", "emails"}:
        return people.filter(email__iexact=str(value))
    if comparison.attribute == "externalid":
        return people.filter(external_id=str(value))
    if comparison.attribute == "displayname":
        return people.filter(name__iexact=str(value))
    if comparison.attribute == "active":
        return people.filter(is_active=boolean(value, "active"))
    return people.filter(pk=int(value)) if str(value).isdigit() else people.none()


def _user(pk: str) -> User:
    user = users().filter(pk=int(pk)).first() if pk.isdigit() else None
    if user is None:
        raise ScimError(404, f"No User with id {pk!r}.")
    return user


class UsersView(ScimView):
    def get(self, request: Request) -> Response:
        people = users()
        if request.query_params.get("filter"):
            people = _filter_users(people, request.query_params["filter"])
        start, count = _page(request)
        total = people.count()
        page = list(people[start - 1 : start - 1 + count]) if count else []
        return _list([user_resource(person, request) for person in page], total, start)

    def post(self, request: Request) -> Response:
        given = user_input(request.data)
        assert given.email is not None
        user = services.scim_user_create(
            email=given.email,
            name=given.name or "",
            external_id=given.external_id or "",
            active=True if given.active is None else given.active,
            department=None if given.department is services.UNSET else given.department,
            token=self.token,
        )
        body = user_resource(_user(str(user.pk)), request)
        return Response(body, status=201, headers={"Location": body["meta"]["location"]})


class UserView(ScimView):
    def get(self, request: Request, pk: str) -> Response:
        return Response(user_resource(_user(pk), request))

    def put(self, request: Request, pk: str) -> Response:
        """Replace: name, userName and externalId as given (externalId absent: cleared);
        ``active`` and the enterprise department change only when given (department by group
        membership is managed through /Groups)."""
        user = _user(pk)
        given = user_input(request.data)
        if given.external_id is None:
            given.external_id = ""
        return Response(user_resource(self._apply(user, given), request))

    def patch(self, request: Request, pk: str) -> Response:
        user = _user(pk)
        return Response(user_resource(self._apply(user, _user_patch(user, request.data)), request))

    def delete(self, request: Request, pk: str) -> Response:
        """Deactivate (every session and token ends at once); the person is kept, and
        erasing them stays an administrator's decision."""
        user = _user(pk)
        services.scim_user_update(user=user, active=False, token=self.token)
        return Response(status=204)

    def _apply(self, user: User, given: UserInput) -> User:
        services.scim_user_update(
            user=user,
            token=self.token,
            email=given.email,
            name=given.name,
            external_id=given.external_id,
            active=given.active,
            department=given.department,
        )
        return _user(str(user.pk))


def _operations(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict) or PATCH_SCHEMA not in (body.get("schemas") or []):
        raise ScimError(400, f"A PATCH body's schemas must list {PATCH_SCHEMA}.", "invalidSyntax")
    operations = body.get("Operations")
    if not isinstance(operations, list) or not operations:
        raise ScimError(400, "Operations must be a non-empty list.", "invalidSyntax")
    for operation in operations:
        if not isinstance(operation, dict) or str(operation.get("op", "")).lower() not in {"add", "replace", "remove"}:
            raise ScimError(400, "Each operation's op is add, replace or remove.", "invalidSyntax")
        if operation.get("path") is not None and not isinstance(operation["path"], str):
            raise ScimError(400, "An operation's path is a string.", "invalidPath")
    return operations


def _user_patch(user: User, body: Any) -> UserInput:
    """The User a PATCH asks for, operation by operation (RFC 7644 §3.5.2)."""
    given = UserInput()
    words = user.name.split(" ", 1)
    parts = {"given": words[0], "family": words[1] if len(words) == 2 else ""}
    for operation in _operations(body):
        kind, path, value = operation["op"].lower(), operation.get("path"), operation.get("value")
        if path is None:
            if kind == "remove":
                raise ScimError(400, "A remove needs a path.", "noTarget")
            if not isinstance(value, dict):
                raise ScimError(400, "Without a path, value must be an object of attributes.", "invalidValue")
            for attribute, item in value.items():
                _set_user_attribute(given, parts, attribute, item)
        elif kind == "remove":
            _remove_user_attribute(given, path)
        else:
            _set_user_attribute(given, parts, path, value)
    return given


def _attribute(path: str) -> str:
    name = path.strip()
    prefix = USER_SCHEMA + ":"
    if name.lower().startswith(prefix.lower()):
        name = name[len(prefix) :]
    return name.lower()


def _set_user_attribute(given: UserInput, parts: dict[str, str], path: str, value: Any) -> None:
    name = _attribute(path)
    if name == "active":
        given.active = boolean(value, "active")
    elif name == "username":
        given.email = text(value, "userName")
    elif name == "displayname":
        given.name = text(value, "displayName")
    elif name == "externalid":
        given.external_id = "" if value is None else text(value, "externalId")
    elif name == "name":
        given.name = display_name({"name": value})
    elif name == "name.formatted":
        given.name = text(value, "name.formatted")
    elif name in {"name.givenname", "name.familyname"}:
        parts["given" if name == "name.givenname" else "family"] = text(value, path)
        given.name = f"{parts['given']} {parts['family']}".strip()
    elif name == "emails" or name.startswith("emails["):
        if isinstance(value, list):
            primary = [item for item in value if isinstance(item, dict) and item.get("primary")] or value
            value = primary[0].get("value") if primary and isinstance(primary[0], dict) else None
        given.email = text(value, "emails")
    elif name == ENTERPRISE_SCHEMA.lower():
        department = enterprise_department(value)
        if department is not services.UNSET:
            given.department = department
    elif name == f"{ENTERPRISE_SCHEMA.lower()}:department":
        given.department = enterprise_department({"department": value})
    elif name in IGNORED_USER_ATTRIBUTES or name.split(".")[0].split("[")[0] in IGNORED_USER_ATTRIBUTES:
        return
    else:
        raise ScimError(400, f"Engage has no User attribute {path!r}.", "invalidPath")


def _remove_user_attribute(given: UserInput, path: str) -> None:
    name = _attribute(path)
    if name == "externalid":
        given.external_id = ""
    elif name == f"{ENTERPRISE_SCHEMA.lower()}:department":
        given.department = None
    elif name in IGNORED_USER_ATTRIBUTES or name.split(".")[0].split("[")[0] in IGNORED_USER_ATTRIBUTES:
        return
    elif name in {"username", "active", "displayname", "name", "emails"} or name.startswith(("name.", "emails[")):
        raise ScimError(400, f"{path} cannot be removed: a person always has it.", "mutability")
    else:
        raise ScimError(400, f"Engage has no User attribute {path!r}.", "noTarget")


# --- Groups --------------------------------------------------------------------------------

GROUP_FILTERS = {"displayname", "id", "externalid"}
_MEMBER_PATH = re.compile(r'^members\[\s*value\s+eq\s+"(?P<id>[^"]*)"\s*\]$', re.IGNORECASE)


def _group(pk: str) -> Group:
    group = group_by_id(pk)
    if group is None:
        raise ScimError(404, f"No Group with id {pk!r}.")
    return group


class GroupsView(ScimView):
    def get(self, request: Request) -> Response:
        groups = all_groups()
        if request.query_params.get("filter"):
            comparison = filters.parse(request.query_params["filter"], allowed=GROUP_FILTERS, core_schema=GROUP_SCHEMA)
            value = str(comparison.value)
            if comparison.attribute == "displayname":
                groups = [group for group in groups if group.display_name.lower() == value.lower()]
            elif comparison.attribute == "id":
                groups = [group for group in groups if group.ident == value]
            else:  # Engage keeps no externalId for groups
                groups = []
        start, count = _page(request)
        page = groups[start - 1 : start - 1 + count]
        with_members = "members" not in _excluded(request)
        return _list([group_resource(group, request, with_members=with_members) for group in page], len(groups), start)

    def post(self, request: Request) -> Response:
        """A new department; ``role:<slug>`` groups exist already (409, as for a department
        of the same name)."""
        data: Any = request.data
        name = group_display_name(data)
        if group_by_name(name) is not None:
            raise ScimError(
                409, f"A group called {name!r} exists already; find it with filter=displayName eq.", "uniqueness"
            )
        if name.strip().lower().startswith(ROLE_GROUP_PREFIX):
            raise ScimError(
                400, f"Engage's roles are {', '.join(RoleName.values)}; there is no {name!r}.", "invalidValue"
            )
        with transaction.atomic():
            group = Group(department=services.scim_department_create(name=name, token=self.token))
            if data.get("members"):
                _set_members(group, set(member_ids(data["members"])), self.token)
        body = group_resource(group, request)
        return Response(body, status=201, headers={"Location": body["meta"]["location"]})


class GroupView(ScimView):
    def get(self, request: Request, pk: str) -> Response:
        return Response(group_resource(_group(pk), request, with_members="members" not in _excluded(request)))

    def put(self, request: Request, pk: str) -> Response:
        """Rename (departments) and, when ``members`` is given, set exactly who is in it."""
        group = _group(pk)
        data: Any = request.data
        name = group_display_name(data)
        with transaction.atomic():
            group = _rename(group, name, self.token)
            if "members" in data:
                _set_members(group, set(member_ids(data["members"] or [])), self.token)
        return Response(group_resource(group, request))

    def patch(self, request: Request, pk: str) -> Response:
        group = _group(pk)
        operations = _operations(request.data)
        members = set(group.members().values_list("pk", flat=True))
        name: str | None = None
        for operation in operations:
            kind, path, value = operation["op"].lower(), (operation.get("path") or "").strip(), operation.get("value")
            if not path:
                if kind == "remove" or not isinstance(value, dict):
                    raise ScimError(400, "Without a path, add or replace an object of attributes.", "noTarget")
                for attribute, item in value.items():
                    name, members = _group_change(kind, attribute, item, name, members)
                continue
            single = _MEMBER_PATH.match(path)
            if single and kind == "remove":
                if single["id"].isdigit():
                    members.discard(int(single["id"]))
                continue
            name, members = _group_change(kind, path, value, name, members)
        with transaction.atomic():
            if name is not None:
                group = _rename(group, name, self.token)
            _set_members(group, members, self.token)
        return Response(status=204)

    def delete(self, request: Request, pk: str) -> Response:
        group = _group(pk)
        if group.department is None:
            raise ScimError(400, "Engage's roles are fixed: a role group cannot be deleted.", "mutability")
        services.scim_department_delete(department=group.department, token=self.token)
        return Response(status=204)


def _group_change(kind: str, path: str, value: Any, name: str | None, members: set[int]) -> tuple[str | None, set[int]]:
    attribute = path.lower()
    if attribute.startswith(GROUP_SCHEMA.lower() + ":"):
        attribute = attribute[len(GROUP_SCHEMA) + 1 :]
    if attribute == "displayname":
        if kind == "remove":
            raise ScimError(400, "A group always has a displayName.", "mutability")
        return text(value, "displayName"), members
    if attribute == "members":
        if kind == "remove":
            return name, members - set(member_ids(value)) if value else set()
        given = set(member_ids(value or []))
        return name, members | given if kind == "add" else given
    if attribute == "externalid":
        return name, members
    raise ScimError(400, f"Engage has no Group attribute {path!r}.", "invalidPath")


def _rename(group: Group, name: str, token: Any) -> Group:
    if name.strip() == group.display_name:
        return group
    if group.department is None:
        raise ScimError(400, "A role group's displayName is fixed.", "mutability")
    return Group(department=services.scim_department_rename(department=group.department, name=name, token=token))


def _set_members(group: Group, wanted: set[int], token: Any) -> None:
    """Make ``wanted`` exactly the group's members, one person at a time through the
    services (each change audited): a department is each person's one department, a role
    group is holding the role."""
    current = set(group.members().values_list("pk", flat=True))
    if group.role == RoleName.EMPLOYEE and current - wanted:
        raise ScimError(400, "Everyone in Engage holds employee: nobody leaves role:employee.", "mutability")
    for person in User.objects.filter(pk__in=wanted ^ current).select_related("department").prefetch_related("roles"):
        joining = person.pk in wanted
        if group.department is not None:
            services.scim_user_update(user=person, token=token, department=group.department if joining else None)
        else:
            held = set(person.role_set)
            assert group.role is not None
            roles = held | {group.role} if joining else held - {group.role}
            services.scim_user_update(user=person, token=token, roles=sorted(roles))


# --- Discovery (RFC 7644 §4), readable without a token --------------------------------------


class DiscoveryView(ScimView):
    permission_classes = [permissions.AllowAny]
    document: str = ""

    def get(self, request: Request, pk: str | None = None) -> Response:
        base = request.build_absolute_uri("/scim/v2/")
        if self.document == "config":
            return Response(discovery.service_provider_config(base))
        items = discovery.resource_types(base) if self.document == "types" else discovery.schemas(base)
        if pk is None:
            return _list(items, len(items), 1)
        for item in items:
            if item["id"] == pk:
                return Response(item)
        raise ScimError(404, f"No {'ResourceType' if self.document == 'types' else 'Schema'} {pk!r}.")


class NotFoundView(ScimView):
    """Anything else under /scim/v2/: SCIM's 404."""

    permission_classes = [permissions.AllowAny]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        raise Http404
