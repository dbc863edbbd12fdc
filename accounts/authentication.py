from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any

from django.db import connection
from django.db.models import Model
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from accounts.models import ApiToken, User


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _columns(model: type[Model], alias: str) -> tuple[list[str], str]:
    names = [f.attname for f in model._meta.concrete_fields]
    return names, ", ".join(f'{alias}."{f.column}"' for f in model._meta.concrete_fields)


_TOKEN_FIELDS, _TOKEN_COLUMNS = _columns(ApiToken, "t")
_USER_FIELDS, _USER_COLUMNS = _columns(User, "u")
_ROLES_TABLE = User.roles.through._meta.db_table


@lru_cache(maxsize=2)
def _lookup_sql(vendor: str) -> str:
    """The token, its person and the person's role slugs in one fixed statement.

    Written once rather than built by the ORM on every request: building and compiling the
    ORM's version (a correlated ``StringAgg`` subquery) cost more than the rest of an
    authenticated read, and a fixed text lets PostgreSQL reuse its prepared plan.
    """
    aggregate = "string_agg" if vendor == "postgresql" else "group_concat"
    # Table and column names come from the models; the values are parameters.
    return (
        f"SELECT {_TOKEN_COLUMNS}, {_USER_COLUMNS}, "  # noqa: S608
        f'(SELECT {aggregate}(r."role_id", \',\') FROM "{_ROLES_TABLE}" r WHERE r."user_id" = u."id") '
        f'FROM "{ApiToken._meta.db_table}" t INNER JOIN "{User._meta.db_table}" u ON u."id" = t."user_id" '
        f'WHERE t."key_hash" = %s AND t."revoked_at" IS NULL AND t."expires_at" > %s'
    )


def token_lookup(raw: str) -> ApiToken | None:
    """The live token ``raw`` with its person (``token.user``) and their roles, or ``None``.

    Checked against the database on every call: a revoked token or a deactivated person is
    refused at once (nothing is cached across requests).
    """
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(_lookup_sql(connection.vendor), [hash_token(raw), now])
        row = cursor.fetchone()
    if row is None:
        return None
    split = len(_TOKEN_FIELDS)
    token = ApiToken.from_db(connection.alias, _TOKEN_FIELDS, _converted(ApiToken, row[:split]))
    user = User.from_db(connection.alias, _USER_FIELDS, _converted(User, row[split:-1]))
    # The person's roles came with the token: no second query to check them.
    user.__dict__["role_set"] = frozenset(filter(None, (row[-1] or "").split(",")))
    ApiToken.user.field.set_cached_value(token, user)
    return token


Converter = tuple[list[Any], Any]


@lru_cache(maxsize=4)
def _converters(model: type[Model], vendor: str) -> list[Converter]:
    """Per column, what the ORM applies to a raw value (SQLite's text dates and JSON, for one)."""
    table = model._meta.db_table
    out = []
    for f in model._meta.concrete_fields:
        column = f.get_col(table)
        out.append((connection.ops.get_db_converters(column) + f.get_db_converters(connection), column))
    return out


def _converted(model: type[Model], values: tuple[Any, ...]) -> list[Any]:
    out = []
    for (converters, column), value in zip(_converters(model, connection.vendor), values, strict=True):
        for converter in converters:
            value = converter(value, column, connection)
        out.append(value)
    return out


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <token>``: one statement reads the token, its person and their roles."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization must be 'Bearer <token>'")
        try:
            raw = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed("The token is not valid") from None
        token = token_lookup(raw)
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("The token is not valid, has expired or was revoked")
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
