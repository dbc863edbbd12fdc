"""The shapes of the identity API: what it reads (``*Input``) and what it answers.

Input serializers only check types and sizes; the rules live in ``accounts.services``.
Fields a caller may not change are simply absent from the input serializers, so
whatever is sent for them is ignored, never applied.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts import notifications
from accounts.models import Department, DepartmentKind, Notification, RoleName, User

# --- Shared -----------------------------------------------------------------------------------


class DetailSerializer(serializers.Serializer[Any]):
    """The body of an error answer (401, 403, 404, 409, 429) and of 400s from the rules."""

    detail = serializers.CharField()


class RoleListField(serializers.ListField):
    child = serializers.ChoiceField(choices=RoleName.choices)


def _role_list(user: User) -> list[str]:
    return sorted(user.role_set)


# --- Tokens and password reset ----------------------------------------------------------------


class TokenCreateInputSerializer(serializers.Serializer[Any]):
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)


class TokenSerializer(serializers.Serializer[Any]):
    token = serializers.CharField(help_text="The bearer token. Shown this once; only its hash is kept.")
    expires_at = serializers.DateTimeField()


class PasswordResetInputSerializer(serializers.Serializer[Any]):
    email = serializers.CharField(max_length=254)


# --- Departments and topics -------------------------------------------------------------------


class DepartmentSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    slug = serializers.SlugField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=DepartmentKind.choices)
    customer_facing = serializers.BooleanField()


class DepartmentCreateInputSerializer(serializers.Serializer[Any]):
    slug = serializers.SlugField(max_length=60)
    name = serializers.CharField(max_length=120)
    kind = serializers.ChoiceField(choices=DepartmentKind.choices, default=DepartmentKind.OTHER)
    customer_facing = serializers.BooleanField(default=False)


class DepartmentSlugField(serializers.SlugRelatedField[Department]):
    """A department named by its slug."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("queryset", Department.objects.all())
        super().__init__(slug_field="slug", **kwargs)


class TopicSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    slug = serializers.SlugField()
    name = serializers.CharField()
    keywords = serializers.ListField(child=serializers.CharField())
    department = serializers.SlugField(source="department.slug", help_text="The department's slug.")
    created_at = serializers.DateTimeField()


class TopicCreateInputSerializer(serializers.Serializer[Any]):
    slug = serializers.SlugField(max_length=60)
    name = serializers.CharField(max_length=120)
    keywords = serializers.ListField(
        child=serializers.CharField(max_length=100),
        max_length=200,
        help_text="Words or phrases; each matches a query's text as a whole word or phrase, ignoring case.",
    )
    department = DepartmentSlugField()


# --- People -----------------------------------------------------------------------------------


class UserSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    name = serializers.CharField()
    department = serializers.SlugField(source="department.slug", allow_null=True, help_text="The department's slug.")
    roles = serializers.SerializerMethodField()
    is_active = serializers.BooleanField()
    date_joined = serializers.DateTimeField()
    deactivated_at = serializers.DateTimeField(allow_null=True)
    erased_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(RoleListField())
    def get_roles(self, user: User) -> list[str]:
        return _role_list(user)


class UserCreateInputSerializer(serializers.Serializer[Any]):
    email = serializers.EmailField(max_length=254)
    name = serializers.CharField(max_length=150)
    password = serializers.CharField(
        max_length=4096,
        trim_whitespace=False,
        required=False,
        allow_blank=True,
        write_only=True,
        help_text="Optional: without one the person cannot sign in until they choose one (see `invite`).",
    )
    department = DepartmentSlugField(required=False, allow_null=True)
    roles = RoleListField(required=False, default=list, help_text="`employee` is always held.")
    invite = serializers.BooleanField(
        default=False, help_text="Email the person a link to choose their password (only without `password`)."
    )


class UserUpdateInputSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=150, required=False)
    department = DepartmentSlugField(required=False, allow_null=True)
    roles = RoleListField(required=False)
    is_active = serializers.BooleanField(
        required=False, help_text="`false` ends the person's sessions and tokens at once."
    )


class UserFilterSerializer(serializers.Serializer[Any]):
    department = serializers.SlugField(required=False, help_text="Only members of this department (slug).")
    is_active = serializers.BooleanField(required=False, allow_null=True, default=None)


class NotificationChoiceSerializer(serializers.Serializer[Any]):
    in_app = serializers.BooleanField(required=False)
    email = serializers.BooleanField(required=False)


class NotificationChoiceOutSerializer(serializers.Serializer[Any]):
    in_app = serializers.BooleanField()
    email = serializers.BooleanField()


class NotificationKindSerializer(serializers.Serializer[Any]):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a declared field, not Field.label


class MeSerializer(UserSerializer):
    notification_prefs = serializers.SerializerMethodField()
    notification_kinds = serializers.SerializerMethodField()

    @extend_schema_field(serializers.DictField(child=NotificationChoiceOutSerializer()))
    def get_notification_prefs(self, user: User) -> dict[str, dict[str, bool]]:
        """The effective choice for every kind, defaults filled in."""
        return {kind.key: notifications.preference(user.notification_prefs, kind.key) for kind in notifications.kinds()}

    @extend_schema_field(NotificationKindSerializer(many=True))
    def get_notification_kinds(self, user: User) -> list[dict[str, str]]:
        return [{"key": kind.key, "label": kind.label} for kind in notifications.kinds()]


class MeUpdateInputSerializer(serializers.Serializer[Any]):
    """What a person may change about themselves. Anything else sent is ignored."""

    name = serializers.CharField(max_length=150, required=False)
    notification_prefs = serializers.DictField(
        child=NotificationChoiceSerializer(),
        required=False,
        help_text="Per notification kind, `in_app` and/or `email`; kinds not named keep their choice.",
    )


# --- Notifications ----------------------------------------------------------------------------


class NotificationSerializer(serializers.ModelSerializer[Notification]):
    class Meta:
        model = Notification
        fields = ("id", "kind", "title", "body", "url", "created_at", "read_at")
        read_only_fields = fields


class NotificationFilterSerializer(serializers.Serializer[Any]):
    unread = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="`true`: only unread; `false`: only read."
    )


class NotificationsMarkedSerializer(serializers.Serializer[Any]):
    marked_read = serializers.IntegerField()
