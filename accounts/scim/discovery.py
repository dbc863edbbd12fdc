"""What ``/scim/v2/ServiceProviderConfig``, ``/ResourceTypes`` and ``/Schemas`` say
(RFC 7643 §5 to §7, RFC 7644 §4): the features Engage offers and the attributes it keeps."""

from __future__ import annotations

from typing import Any

from accounts.scim.resources import ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA

CONFIG_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
MAX_RESULTS = 200


def service_provider_config(base: str) -> dict[str, Any]:
    return {
        "schemas": [CONFIG_SCHEMA],
        "documentationUri": f"{base}Schemas",
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": False},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "Provisioning token",
                "description": "Authorization: Bearer <token>; an Engage administrator makes it (shown once).",
                "primary": True,
            }
        ],
        "meta": {"resourceType": "ServiceProviderConfig", "location": f"{base}ServiceProviderConfig"},
    }


def resource_types(base: str) -> list[dict[str, Any]]:
    return [
        {
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "A person in Engage; userName is their email.",
            "schema": USER_SCHEMA,
            "schemaExtensions": [{"schema": ENTERPRISE_SCHEMA, "required": False}],
            "meta": {"resourceType": "ResourceType", "location": f"{base}ResourceTypes/User"},
        },
        {
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "A department, or one of the role groups role:<slug>.",
            "schema": GROUP_SCHEMA,
            "meta": {"resourceType": "ResourceType", "location": f"{base}ResourceTypes/Group"},
        },
    ]


def _attribute(
    name: str,
    *,
    kind: str = "string",
    required: bool = False,
    mutability: str = "readWrite",
    uniqueness: str = "none",
    multi: bool = False,
    description: str = "",
    sub: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    attribute: dict[str, Any] = {
        "name": name,
        "type": kind,
        "multiValued": multi,
        "description": description,
        "required": required,
        "mutability": mutability,
        "returned": "default",
        "uniqueness": uniqueness,
    }
    if kind == "string":
        attribute["caseExact"] = False
    if sub:
        attribute["subAttributes"] = sub
    return attribute


def schemas(base: str) -> list[dict[str, Any]]:
    member = [
        _attribute("value", mutability="immutable", description="The id of a User."),
        _attribute("display", mutability="readOnly"),
        _attribute("$ref", kind="reference", mutability="immutable"),
        _attribute("type", mutability="immutable"),
    ]
    user = [
        _attribute("userName", required=True, uniqueness="server", description="The person's email."),
        _attribute(
            "name",
            kind="complex",
            description="The name Engage shows (formatted, or givenName and familyName).",
            sub=[_attribute("formatted"), _attribute("givenName"), _attribute("familyName")],
        ),
        _attribute("displayName", description="Taken as the name when given."),
        _attribute("externalId", description="The provider's id for the person."),
        _attribute("active", kind="boolean", description="false: signed out everywhere at once; DELETE does the same."),
        _attribute(
            "emails",
            kind="complex",
            multi=True,
            description="One: the userName.",
            sub=[_attribute("value"), _attribute("type"), _attribute("primary", kind="boolean")],
        ),
        _attribute(
            "groups",
            kind="complex",
            multi=True,
            mutability="readOnly",
            description="The department and role groups; change them through /Groups.",
            sub=member,
        ),
    ]
    group = [
        _attribute(
            "displayName", required=True, uniqueness="server", description="A department's name or role:<slug>."
        ),
        _attribute("members", kind="complex", multi=True, description="Users (by id).", sub=member),
    ]
    enterprise = [
        _attribute("department", description="An Engage department, by slug or name; an unknown one is refused."),
    ]
    return [
        _schema(base, USER_SCHEMA, "User", "A person", user),
        _schema(base, GROUP_SCHEMA, "Group", "A department or a role", group),
        _schema(base, ENTERPRISE_SCHEMA, "EnterpriseUser", "The department of a person", enterprise),
    ]


def _schema(base: str, ident: str, name: str, description: str, attributes: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "schemas": [SCHEMA_SCHEMA],
        "id": ident,
        "name": name,
        "description": description,
        "attributes": attributes,
        "meta": {"resourceType": "Schema", "location": f"{base}Schemas/{ident}"},
    }
