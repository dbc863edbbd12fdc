"""Writes for people, departments, topics, tokens and notifications.

Every function here is the only place its change is made; API and web views call them.
"""

from __future__ import annotations

import logging
import secrets
from base64 import b32encode
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_slug
from django.db import IntegrityError, transaction
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import notifications
from accounts.authentication import hash_token
from accounts.models import (
    AccountEvent,
    ApiToken,
    Department,
    DepartmentKind,
    LoginFailure,
    LoginLock,
    Notification,
    RecoveryCode,
    Role,
    RoleName,
    ScimToken,
    Topic,
    User,
)
from accounts.signals import user_erased
from config.errors import Conflict, RateLimited, ServiceError
from config.jobs import enqueue

logger = logging.getLogger(__name__)

LOCK_WINDOW = timedelta(minutes=15)
LOCK_DURATION = timedelta(minutes=15)
PAIR_FAILURE_LIMIT = 5
ADDRESS_FAILURE_LIMIT = 30
BAD_CREDENTIALS = "The email or password is not right."
SLUG_MAX_LENGTH = 60
KEYWORD_MAX_LENGTH = 100
KEYWORDS_MAX = 200


# --- Sign-in and tokens ----------------------------------------------------------------------


def _pair_key(email: str, ip: str) -> str:
    return f"pair:{ip}:{email}"


def _address_key(ip: str) -> str:
    return f"ip:{ip}"


def _check_not_locked(*, email: str, ip: str, now: datetime) -> None:
    lock = (
        LoginLock.objects.filter(key__in=[_pair_key(email, ip), _address_key(ip)], locked_until__gt=now)
        .order_by("-locked_until")
        .first()
    )
    if lock is not None:
        wait = int((lock.locked_until - now).total_seconds()) + 1
        raise RateLimited(f"Too many failed sign-ins. Try again in {max(1, wait // 60)} minute(s).", retry_after=wait)


def _lock(*, key: str, now: datetime) -> None:
    LoginLock.objects.update_or_create(key=key, defaults={"locked_until": now + LOCK_DURATION})


def user_authenticate(*, email: str, password: str, ip: str) -> User:
    """Check a sign-in, applying the lock-out of API.md.

    Raises ``RateLimited`` while the email (from this address) or the address is locked,
    and ``ServiceError`` with one message for an unknown email, a wrong password and an
    inactive person alike.

    Every attempt is written down (committed) *before* the password is checked and
    removed again only if it succeeds, so attempts made at the same moment see each
    other: however many arrive at once, at most ``PAIR_FAILURE_LIMIT`` wrong passwords
    per email and address (and ``ADDRESS_FAILURE_LIMIT`` per address) are ever checked
    within the window. Call it outside a transaction, as a request does.
    """
    email = email.strip().lower()[:254]
    now = timezone.now()
    _check_not_locked(email=email, ip=ip, now=now)
    attempt = LoginFailure.objects.create(email=email, ip=ip, at=now)
    since = now - LOCK_WINDOW
    pair_attempts = LoginFailure.objects.filter(email=email, ip=ip, at__gt=since).count()
    address_attempts = LoginFailure.objects.filter(ip=ip, at__gt=since).count()
    if pair_attempts > PAIR_FAILURE_LIMIT or address_attempts > ADDRESS_FAILURE_LIMIT:
        # The limit was reached by attempts still in flight: refuse without checking.
        LoginFailure.objects.filter(pk=attempt.pk).delete()
        seconds = int(LOCK_DURATION.total_seconds())
        raise RateLimited(f"Too many failed sign-ins. Try again in {seconds // 60} minute(s).", retry_after=seconds)
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        # Spend the same time as a real check so timing does not tell who exists.
        User().set_password(password)
        ok = False
    else:
        ok = user.check_password(password) and user.is_active
    if ok:
        LoginFailure.objects.filter(pk=attempt.pk).delete()
        assert user is not None
        return user
    with transaction.atomic():
        if pair_attempts >= PAIR_FAILURE_LIMIT:
            _lock(key=_pair_key(email, ip), now=now)
        if address_attempts >= ADDRESS_FAILURE_LIMIT:
            _lock(key=_address_key(ip), now=now)
    raise ServiceError(BAD_CREDENTIALS)


@dataclass(frozen=True)
class IssuedToken:
    token: str
    record: ApiToken


def token_create(*, user: User, ttl: timedelta | None = None) -> IssuedToken:
    """A new bearer token for ``user``; the raw token exists only in the return value."""
    raw = secrets.token_urlsafe(32)
    ttl = ttl or timedelta(days=settings.ENGAGE_TOKEN_TTL_DAYS)
    record = ApiToken.objects.create(
        user=user, key_hash=hash_token(raw), prefix=raw[:8], expires_at=timezone.now() + ttl
    )
    return IssuedToken(token=raw, record=record)


def token_revoke(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def auth_records_purge() -> int:
    """Forget failures and locks old enough to no longer matter, and long-dead tokens."""
    now = timezone.now()
    deleted = LoginFailure.objects.filter(at__lt=now - LOCK_WINDOW).delete()[0]
    deleted += LoginLock.objects.filter(locked_until__lt=now).delete()[0]
    deleted += ApiToken.objects.filter(expires_at__lt=now - timedelta(days=30)).delete()[0]
    return deleted


# --- People ---------------------------------------------------------------------------------


def _role_rows(slugs: list[str]) -> list[Role]:
    """The Role rows for ``slugs``, made if missing (a flushed table loses the migration's rows)."""
    rows = list(Role.objects.filter(slug__in=slugs))
    if len(rows) < len(set(slugs)):
        Role.objects.bulk_create([Role(slug=slug, name=RoleName(slug).label) for slug in slugs], ignore_conflicts=True)
        rows = list(Role.objects.filter(slug__in=slugs))
    return rows


def _validate_roles(roles: list[str]) -> list[str]:
    unknown = sorted(set(roles) - set(RoleName.values))
    if unknown:
        raise ServiceError(f"Unknown roles: {', '.join(unknown)}", field="roles")
    return sorted(set(roles) | {RoleName.EMPLOYEE})


def user_create(
    *,
    email: str,
    name: str,
    password: str | None,
    department: Department | None,
    roles: list[str],
    invite: bool = False,
    invited_by: User | None = None,
) -> User:
    """Create a person. Without a password they cannot sign in until they set one.

    With ``invite`` (only without a password) they are emailed a link to choose one,
    after the person is committed.
    """
    email = email.strip().lower()
    if not name.strip():
        raise ServiceError("A person needs a name.", field="name")
    if invite and password:
        raise ServiceError("An invitation is for people created without a password.", field="invite")
    role_slugs = _validate_roles(roles)
    user = User(email=email, name=name.strip(), department=department)
    if password:
        try:
            password_validation.validate_password(password, user)
        except ValidationError as exc:
            raise ServiceError(" ".join(exc.messages), field="password") from None
        user.set_password(password)
    else:
        user.set_unusable_password()
    try:
        with transaction.atomic():
            user.save()
            user.roles.set(_role_rows(role_slugs))
            if invite:
                invitation_send(user=user, invited_by=invited_by)
    except IntegrityError:
        raise ServiceError("A person with this email already exists.", field="email") from None
    user.__dict__.pop("role_set", None)
    return user


def user_update_profile(
    *, user: User, name: str | None = None, notification_prefs: dict[str, Any] | None = None
) -> User:
    """What a person may change about themselves: their name and notification choices."""
    fields = []
    if name is not None:
        if not name.strip():
            raise ServiceError("Your name cannot be empty.", field="name")
        user.name = name.strip()
        fields.append("name")
    if notification_prefs is not None:
        merged = dict(user.notification_prefs)
        for key, choice in notification_prefs.items():
            try:
                notifications.get_kind(key)
            except ValueError:
                raise ServiceError(f"Unknown notification kind: {key}", field="notification_prefs") from None
            if not isinstance(choice, dict) or not set(choice) <= {"in_app", "email"}:
                raise ServiceError(
                    f"Preferences for {key} must be an object with in_app and/or email", field="notification_prefs"
                )
            if not all(isinstance(value, bool) for value in choice.values()):
                raise ServiceError(f"Preferences for {key} must be true or false", field="notification_prefs")
            merged[key] = {**merged.get(key, {}), **choice}
        user.notification_prefs = merged
        fields.append("notification_prefs")
    if fields:
        user.save(update_fields=fields)
    return user


def user_set_roles(*, user: User, roles: list[str], department: Department | None) -> User:
    """An administrator's change of someone's roles and department."""
    return user_update(user=user, roles=roles, department=department)


class _Unset:
    pass


UNSET: Any = _Unset()


def _ensure_an_admin_remains(*, losing: User) -> None:
    """Refuse (``Conflict``) to leave Engage without an active administrator.

    Call inside a transaction that holds ``losing``'s row lock, before they stop being an
    active admin. Such changes queue on the ``admin`` role's row, so two administrators
    demoting each other at the same moment cannot both succeed (and the lock order, the
    person's row first, then the role's, cannot deadlock).
    """
    if not User.objects.filter(pk=losing.pk, is_active=True, roles__slug=RoleName.ADMIN).exists():
        return
    list(Role.objects.select_for_update().filter(slug=RoleName.ADMIN))
    others = User.objects.filter(is_active=True, roles__slug=RoleName.ADMIN).exclude(pk=losing.pk)
    if not others.exists():
        raise Conflict("This would leave Engage without an active administrator.")


def user_update(
    *,
    user: User,
    name: str | None = None,
    department: Department | None = UNSET,
    roles: list[str] | None = None,
    is_active: bool | None = None,
) -> User:
    """An administrator's change of someone: name, department, roles, active or not.

    Only what is passed changes. Deactivating ends their sessions and tokens at once
    (:func:`user_deactivate`); a change of roles is told to the person.
    """
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        held = set(user.roles.values_list("slug", flat=True))
        fields: list[str] = []
        if name is not None:
            if not name.strip():
                raise ServiceError("A person needs a name.", field="name")
            user.name = name.strip()
            fields.append("name")
        if department is not UNSET:
            user.department = department
            fields.append("department")
        if fields:
            user.save(update_fields=fields)
        if roles is not None:
            role_slugs = _validate_roles(roles)
            if RoleName.ADMIN in held and RoleName.ADMIN not in role_slugs:
                _ensure_an_admin_remains(losing=user)
            if set(role_slugs) != held:
                user.roles.set(_role_rows(role_slugs))
                notifications.notify(
                    user_ids=[user.pk],
                    kind="account",
                    title="Your roles in Engage changed",
                    body=f"You now hold these roles: {', '.join(role_slugs)}.",
                    url="/",
                )
        if is_active is False and user.is_active:
            user = user_deactivate(user=user)
        elif is_active is True and not user.is_active:
            if user.erased_at is not None:
                raise Conflict("An erased person cannot be reactivated.")
            user = user_reactivate(user=user)
    user.__dict__.pop("role_set", None)
    return user


def user_deactivate(*, user: User) -> User:
    """End every session and token at once.

    Sessions are refused on their next request because the authentication backend
    rejects inactive people; tokens are revoked here and refused by the token check.
    Deactivating the last active administrator is refused (``Conflict``).
    """
    now = timezone.now()
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        _ensure_an_admin_remains(losing=locked)
        User.objects.filter(pk=user.pk, is_active=True).update(is_active=False, deactivated_at=now)
        ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=now)
    user.refresh_from_db()
    return user


def user_reactivate(*, user: User) -> User:
    User.objects.filter(pk=user.pk).update(is_active=True, deactivated_at=None)
    user.refresh_from_db()
    return user


def user_export(*, user: User) -> dict[str, Any]:
    """Everything Engage holds about one person, as JSON-ready data.

    Other apps add their part by answering the ``collect_personal_data`` signal.
    """
    from accounts.signals import collect_personal_data

    data: dict[str, Any] = {
        "profile": {
            "id": user.pk,
            "email": user.email,
            "name": user.name,
            "department": user.department.slug if user.department else None,
            "roles": sorted(user.role_set),
            "is_active": user.is_active,
            "date_joined": user.date_joined.isoformat(),
            "deactivated_at": user.deactivated_at.isoformat() if user.deactivated_at else None,
            "notification_prefs": user.notification_prefs,
            "external_id": user.external_id,
            "second_factor": second_factor_enrolled(user=user),
        },
        "tokens": [
            {
                "prefix": token.prefix,
                "created_at": token.created_at.isoformat(),
                "expires_at": token.expires_at.isoformat(),
                "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
            }
            for token in user.api_tokens.order_by("id")
        ],
        "notifications": [
            {
                "kind": note.kind,
                "title": note.title,
                "body": note.body,
                "url": note.url,
                "created_at": note.created_at.isoformat(),
                "read_at": note.read_at.isoformat() if note.read_at else None,
            }
            for note in user.notifications.order_by("id")
        ],
    }
    for _receiver, part in collect_personal_data.send(sender=User, user=user):
        if part:
            data.update(cast(dict[str, Any], part))
    return data


def user_erase(*, user: User) -> User:
    """Remove the person, keep the counts.

    The row stays (so what they did stays counted) but nothing identifies them any more:
    name, email, password, tokens, notifications and preferences go. Other apps scrub
    what they hold by answering the ``user_erased`` signal, inside this transaction.
    """
    now = timezone.now()
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.erased_at is None:
            _ensure_an_admin_remains(losing=user)
        former_email = user.email
        user.email = f"erased-{user.pk}@erased.invalid"
        user.name = "Erased person"
        user.is_active = False
        user.deactivated_at = user.deactivated_at or now
        user.erased_at = user.erased_at or now
        user.notification_prefs = {}
        user.external_id = ""
        user.set_unusable_password()
        user.save()
        user.api_tokens.all().delete()
        user.notifications.all().delete()
        TOTPDevice.objects.filter(user=user).delete()
        RecoveryCode.objects.filter(user=user).delete()
        LoginFailure.objects.filter(email__iexact=former_email).delete()
        LoginLock.objects.filter(key__endswith=f":{former_email.lower()}").delete()
        user_erased.send(sender=User, user=user)
    return user


# --- Invitations and password reset ------------------------------------------------------------


def _set_password_link(user: User, view_name: str) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return settings.ENGAGE_SITE_URL + reverse(view_name, kwargs={"uidb64": uid, "token": token})


def invitation_send(*, user: User, invited_by: User | None = None) -> None:
    """Email a new person a link to choose their password (Django's token machinery)."""
    link = _set_password_link(user, "accounts:password_reset_confirm")
    inviter = f"{invited_by.name} invited you" if invited_by else "You have been invited"
    body = (
        f"Hello {user.name},\n\n{inviter} to Engage, where the whole company answers the "
        f"community together.\n\nChoose your password here:\n{link}\n\n"
        f"The link works once and for {settings.PASSWORD_RESET_TIMEOUT // 86400} days."
    )
    enqueue("accounts.send_email", to=[user.email], subject="You are invited to Engage", body=body)


def password_reset_request(*, email: str) -> None:
    """Email a reset link if the address belongs to an active person; say nothing otherwise."""
    user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
    if user is None or not user.has_usable_password():
        return
    link = _set_password_link(user, "accounts:password_reset_confirm")
    body = (
        f"Hello {user.name},\n\nSomeone asked to reset your Engage password. If it was you, "
        f"choose a new one here:\n{link}\n\nIf it was not, ignore this message."
    )
    enqueue("accounts.send_email", to=[user.email], subject="Reset your Engage password", body=body)


def email_send(*, to: list[str], subject: str, body: str) -> None:
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, to, fail_silently=False)


# --- Departments and topics -----------------------------------------------------------------


def department_create(*, slug: str, name: str, kind: str, customer_facing: bool) -> Department:
    if kind not in DepartmentKind.values:
        raise ServiceError(f"Unknown kind {kind!r}; one of: {', '.join(DepartmentKind.values)}.", field="kind")
    _check_slug(slug)
    if not name.strip():
        raise ServiceError("A department needs a name.", field="name")
    try:
        with transaction.atomic():
            return Department.objects.create(slug=slug, name=name.strip(), kind=kind, customer_facing=customer_facing)
    except IntegrityError:
        raise ServiceError(f"A department with slug {slug!r} already exists.", field="slug") from None


def department_update(*, department: Department, name: str, kind: str, customer_facing: bool) -> Department:
    """Rename a department or change its kind; its slug names it in the API and exports, so it stays."""
    if kind not in DepartmentKind.values:
        raise ServiceError(f"Unknown kind {kind!r}; one of: {', '.join(DepartmentKind.values)}.", field="kind")
    if not name.strip():
        raise ServiceError("A department needs a name.", field="name")
    department.name, department.kind, department.customer_facing = name.strip(), kind, customer_facing
    department.save(update_fields=["name", "kind", "customer_facing"])
    return department


def _check_slug(slug: str) -> None:
    try:
        validate_slug(slug)
    except ValidationError:
        raise ServiceError("A slug is letters, numbers, hyphens and underscores.", field="slug") from None
    if len(slug) > SLUG_MAX_LENGTH:
        raise ServiceError(f"A slug is at most {SLUG_MAX_LENGTH} characters.", field="slug")


def _clean_keywords(keywords: list[str]) -> list[str]:
    if not isinstance(keywords, list):
        raise ServiceError("Keywords are a list of words or phrases.", field="keywords")
    cleaned: list[str] = []
    for keyword in keywords:
        if not isinstance(keyword, str) or not keyword.strip():
            raise ServiceError("Keywords must be non-empty text.", field="keywords")
        value = " ".join(keyword.split()).lower()
        if len(value) > KEYWORD_MAX_LENGTH:
            raise ServiceError(f"A keyword is at most {KEYWORD_MAX_LENGTH} characters.", field="keywords")
        if value not in cleaned:
            cleaned.append(value)
    if len(cleaned) > KEYWORDS_MAX:
        raise ServiceError(f"A topic has at most {KEYWORDS_MAX} keywords.", field="keywords")
    return cleaned


def topic_create(*, slug: str, name: str, keywords: list[str], department: Department) -> Topic:
    _check_slug(slug)
    if not name.strip():
        raise ServiceError("A topic needs a name.", field="name")
    cleaned = _clean_keywords(keywords)
    try:
        with transaction.atomic():
            return Topic.objects.create(slug=slug, name=name.strip(), keywords=cleaned, department=department)
    except IntegrityError:
        raise ServiceError(f"A topic with slug {slug!r} already exists.", field="slug") from None


def topic_update(*, topic: Topic, name: str, keywords: list[str], department: Department) -> Topic:
    """Rename a topic, change its keywords (cleaned as at creation) or route it elsewhere; the slug stays."""
    if not name.strip():
        raise ServiceError("A topic needs a name.", field="name")
    topic.name, topic.keywords, topic.department = name.strip(), _clean_keywords(keywords), department
    topic.save(update_fields=["name", "keywords", "department"])
    return topic


# --- Notifications ---------------------------------------------------------------------------


def notification_deliver(
    *, user_ids: list[int], kind: str, title: str, body: str, url: str, dedupe_key: str | None
) -> int:
    """Create each person's notification and email those who want one. Idempotent per key."""
    delivered = 0
    people = User.objects.filter(pk__in=user_ids, is_active=True).only("id", "email", "name", "notification_prefs")
    for person in people:
        choice = notifications.preference(person.notification_prefs, kind)
        defaults = {"title": title, "body": body, "url": url, "in_app": choice["in_app"]}
        if dedupe_key:
            try:
                with transaction.atomic():
                    _note, created = Notification.objects.get_or_create(
                        user=person, dedupe_key=dedupe_key, defaults={"kind": kind, **defaults}
                    )
            except IntegrityError:  # the same job delivering concurrently
                created = False
        else:
            Notification.objects.create(user=person, kind=kind, **defaults)
            created = True
        if not created:
            continue
        delivered += 1
        if choice["email"]:
            link = f"\n\n{settings.ENGAGE_SITE_URL}{url}" if url.startswith("/") else (f"\n\n{url}" if url else "")
            enqueue("accounts.send_email", to=[person.email], subject=title, body=f"{body}{link}")
    return delivered


def notification_mark_read(*, user: User, notification_id: int) -> Notification:
    """Mark one of the person's own in-app notifications read; 404 for any other."""
    note = Notification.objects.filter(user=user, pk=notification_id, in_app=True).first()
    if note is None:
        raise Http404
    if note.read_at is None:
        Notification.objects.filter(pk=note.pk, read_at__isnull=True).update(read_at=timezone.now())
        note.refresh_from_db(fields=["read_at"])
    return note


def notification_mark_all_read(*, user: User) -> int:
    return Notification.objects.filter(user=user, in_app=True, read_at__isnull=True).update(read_at=timezone.now())


# --- Identity from outside: single sign-on, provisioning, the audit ----------------------------


class UnknownDepartment(ServiceError):
    """The identity provider names a department Engage does not have."""


class AccountDeactivated(ServiceError):
    """The person is deactivated in Engage; no provider can sign them in."""


def account_event_record(
    *, source: str, action: str, subject: User | None, actor: User | None = None, changes: dict[str, Any] | None = None
) -> AccountEvent:
    """Write one line of the identity audit (call inside the change's transaction)."""
    return AccountEvent.objects.create(
        source=source, action=action, subject=subject, actor=actor, changes=changes or {}
    )


def department_for_identity(*, value: str | None) -> Department | None:
    """The department an identity provider names, by slug or by name (ignoring case).

    ``None`` for no value; ``UnknownDepartment`` for one Engage does not know.
    """
    value = (value or "").strip()
    if not value:
        return None
    department = (
        Department.objects.filter(slug__iexact=value).first() or Department.objects.filter(name__iexact=value).first()
    )
    if department is None:
        raise UnknownDepartment(f"Engage has no department called {value!r}.", field="department")
    return department


def roles_for_groups(*, groups: list[str]) -> list[str] | None:
    """The roles ``OIDC_GROUP_ROLES`` gives these groups (``employee`` at least).

    ``None`` when no mapping is configured: then roles are managed in Engage, not by the
    provider.
    """
    mapping: dict[str, list[str]] = settings.OIDC_GROUP_ROLES
    if not mapping:
        return None
    roles = {RoleName.EMPLOYEE.value}
    for group in groups:
        roles.update(mapping.get(group, []))
    return sorted(roles)


def user_sync_from_identity(
    *,
    email: str,
    name: str,
    department: str | None,
    roles: list[str] | None,
    source: str,
    actor: User | None = None,
) -> User:
    """Create a person signing in for the first time, or bring their department and roles
    up to date: the identity provider is the source of truth for both.

    The person is matched by email, ignoring case. ``department`` is a slug or name
    (``None``: leave it as it is, or none for a new person); ``roles`` ``None`` leaves roles
    as they are (``employee`` for a new person). A deactivated person is refused
    (``AccountDeactivated``), an unknown department too (``UnknownDepartment``), before
    anything is written. Every creation and change is audited.
    """
    email = email.strip().lower()
    target = department_for_identity(value=department)
    with transaction.atomic():
        user = User.objects.select_for_update().filter(email__iexact=email).first()
        if user is None:
            user = user_create(
                email=email,
                name=name.strip() or email.split("@")[0],
                password=None,
                department=target,
                roles=roles or [RoleName.EMPLOYEE],
            )
            account_event_record(
                source=source,
                action="user.created",
                subject=user,
                actor=actor,
                changes={"department": target.slug if target else None, "roles": sorted(user.role_set)},
            )
            return user
        if not user.is_active:
            raise AccountDeactivated("This account is deactivated in Engage.")
        changes: dict[str, Any] = {}
        held = sorted(user.role_set)
        if department is not None and user.department_id != (target.pk if target else None):
            changes["department"] = [user.department.slug if user.department else None, target.slug if target else None]
        wanted_roles = _validate_roles(roles) if roles is not None else held
        if wanted_roles != held:
            changes["roles"] = [held, wanted_roles]
        if changes:
            user = user_update(
                user=user,
                department=target if "department" in changes else UNSET,
                roles=wanted_roles if "roles" in changes else None,
            )
            account_event_record(source=source, action="user.updated", subject=user, actor=actor, changes=changes)
    return user


BREAK_GLASS_SALT = "engage.break-glass"
BREAK_GLASS_MAX_AGE = timedelta(minutes=15)


def _break_glass_state(user: User) -> str:
    return f"{user.pk}:{user.last_login.timestamp() if user.last_login else 0}"


def break_glass_link(*, email: str) -> str:
    """A one-use sign-in link (15 minutes) for an active administrator, whatever
    ``ENGAGE_PASSWORD_SIGN_IN`` says: the way in when the identity provider is away.

    Made only by ``manage.py break_glass`` (someone with the server's shell); audited.
    """
    user = User.objects.filter(email__iexact=email.strip(), is_active=True, roles__slug=RoleName.ADMIN).first()
    if user is None:
        raise ServiceError("No active administrator has this email.", field="email")
    token = signing.TimestampSigner(salt=BREAK_GLASS_SALT).sign(_break_glass_state(user))
    account_event_record(source="break-glass", action="link.issued", subject=user)
    return f"{settings.ENGAGE_SITE_URL}{reverse('accounts:break_glass', args=[token])}"


def break_glass_redeem(*, token: str) -> User:
    """The administrator a break-glass link names; it works once (signing in changes
    ``last_login``) and for 15 minutes."""
    try:
        state = signing.TimestampSigner(salt=BREAK_GLASS_SALT).unsign(token, max_age=BREAK_GLASS_MAX_AGE)
    except signing.BadSignature:
        raise ServiceError("This break-glass link is not valid or has expired.") from None
    user_id = state.split(":", 1)[0]
    user = User.objects.filter(pk=int(user_id), is_active=True, roles__slug=RoleName.ADMIN).first()
    if user is None or _break_glass_state(user) != state:
        raise ServiceError("This break-glass link is not valid or was used already.")
    account_event_record(source="break-glass", action="link.used", subject=user)
    return user


# --- The second factor (TOTP with recovery codes, on django-otp) ------------------------------

RECOVERY_CODE_COUNT = 10
WRONG_CODE = "That code is not right."


def second_factor_enrolled(*, user: User) -> bool:
    return bool(TOTPDevice.objects.filter(user=user, confirmed=True).exists())


def second_factor_required(*, user: User) -> bool:
    """Whether ``user`` must use a second factor with a password (``ENGAGE_TOTP_REQUIRED_ROLES``)."""
    return bool(set(settings.ENGAGE_TOTP_REQUIRED_ROLES) & set(user.role_set))


def totp_enrolment_start(*, user: User) -> TOTPDevice:
    """A new, unconfirmed authenticator secret for ``user`` (any earlier unconfirmed one goes)."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


def totp_enrolment_pending(*, user: User) -> TOTPDevice | None:
    """The new authenticator secret being set up, if there is one."""
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()


def totp_enrolment_confirm(*, user: User, code: str) -> list[str]:
    """Confirm the new secret with a code from it; return the recovery codes (shown once)."""
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("-id").first()
        if device is None:
            raise ServiceError("Start the set-up again: there is no new authenticator to confirm.")
        if not device.verify_token(code.strip()):
            raise ServiceError(WRONG_CODE, field="code")
        TOTPDevice.objects.filter(user=user, confirmed=True).delete()
        TOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
        codes = _recovery_codes_issue(user=user)
        account_event_record(source="mfa", action="totp.enrolled", subject=user, actor=user)
    return codes


RECOVERY_CODE_SALT = "engage.recovery-code"  # also in migration accounts 0004
RECOVERY_CODE_BYTES = 6  # 48 random bits: ten characters of base32


def _recovery_code_normal(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def recovery_code_hash(code: str, *, secret: str | bytes | None = None) -> str:
    """What is stored for a recovery code: an HMAC-SHA256 of it keyed from ``SECRET_KEY``
    (or ``secret``). Case, spaces and hyphens do not count."""
    return salted_hmac(RECOVERY_CODE_SALT, _recovery_code_normal(code), secret=secret, algorithm="sha256").hexdigest()


def _recovery_codes_issue(*, user: User) -> list[str]:
    """A fresh set of recovery codes for ``user`` (the old ones stop working); only their
    hashes are kept, so the returned list is the one time they exist in full."""
    RecoveryCode.objects.filter(user=user).delete()
    codes = [
        b32encode(secrets.token_bytes(RECOVERY_CODE_BYTES)).decode().lower()[:10] for _ in range(RECOVERY_CODE_COUNT)
    ]
    RecoveryCode.objects.bulk_create([RecoveryCode(user=user, code_hash=recovery_code_hash(code)) for code in codes])
    return codes


def recovery_codes_left(*, user: User) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


def recovery_code_use(*, user: User, code: str) -> bool:
    """Use up one of ``user``'s recovery codes: True if ``code`` is one not used before.

    The offered code's hash is compared with every unused one in constant time (no early
    exit), under ``SECRET_KEY`` and each of ``SECRET_KEY_FALLBACKS``, so a rotated key keeps
    the codes working while the old key is a fallback. Using it is one conditional UPDATE:
    two sign-ins offering the same code at the same moment cannot both succeed.
    """
    normal = _recovery_code_normal(code)
    if not normal or len(normal) > 32:
        return False
    keys = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    offered = [recovery_code_hash(normal, secret=key) for key in keys]
    match: int | None = None
    for pk, stored in RecoveryCode.objects.filter(user=user, used_at__isnull=True).values_list("pk", "code_hash"):
        for candidate in offered:
            if constant_time_compare(stored, candidate):
                match = pk
    if match is None:
        return False
    used = RecoveryCode.objects.filter(pk=match, used_at__isnull=True).update(used_at=timezone.now())
    if used:
        account_event_record(
            source="mfa", action="recovery_code.used", subject=user, changes={"left": recovery_codes_left(user=user)}
        )
    return bool(used)


def second_factor_removal_allowed(*, user: User) -> bool:
    """False while ``user`` must have a second factor: their role needs one and password
    sign-in is on, so removing the only one would let them in with the password alone."""
    return not (settings.ENGAGE_PASSWORD_SIGN_IN and second_factor_required(user=user))


def second_factor_prove(*, user: User, code: str = "", password: str = "", ip: str) -> str:
    """Check that the person at the keyboard is ``user`` before a change to their second
    factor: a current code (or a recovery code, used up) or their password. Returns which.

    A wrong one counts as a failed sign-in (API.md's lock-out, ``RateLimited`` when locked).
    """
    if code.strip():
        second_factor_verify(user=user, code=code, ip=ip)
        return "code"
    if password:
        if not user.has_usable_password():
            raise ServiceError("You have no Engage password: prove it is you with a code.", field="code")
        try:
            user_authenticate(email=user.email, password=password, ip=ip)
        except RateLimited:
            raise
        except ServiceError:
            raise ServiceError("That password is not right.", field="password") from None
        return "password"
    raise ServiceError("Type a code from your app, a recovery code or your password.", field="code")


def second_factor_remove(*, user: User, code: str = "", password: str = "", ip: str) -> None:
    """Remove ``user``'s authenticator and recovery codes, proven by a current code (or a
    recovery code) or by their password.

    A wrong code or password counts as a failed sign-in (API.md's lock-out); a person
    whose role needs a second factor while password sign-in is on is refused
    (``Conflict``), since theirs is the only one. Audited.
    """
    if not second_factor_enrolled(user=user):
        raise Conflict("You have no second factor to remove.")
    if not second_factor_removal_allowed(user=user):
        raise Conflict(
            "Your role needs a second factor while password sign-in is on, so you cannot remove your only one. "
            "Set up a new authenticator instead, or ask an administrator."
        )
    proof = second_factor_prove(user=user, code=code, password=password, ip=ip)
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        RecoveryCode.objects.filter(user=user).delete()
        account_event_record(source="mfa", action="totp.removed", subject=user, actor=user, changes={"proof": proof})


def second_factor_verify(*, user: User, code: str, ip: str) -> None:
    """Check a code (from the app, or a recovery code, used up) after the password.

    API.md's lock-out applies: a wrong code counts as a failed sign-in for the person's
    email from this address, and a locked pair or address is refused (``RateLimited``).
    """
    email = user.email.lower()
    now = timezone.now()
    _check_not_locked(email=email, ip=ip, now=now)
    code = code.strip().replace(" ", "")
    # Six digits are the app's; anything else can only be a recovery code (and trying it
    # on the app would slow the app's codes down: django-otp throttles after a miss).
    ok = code.isdigit() and any(
        device.verify_token(code) for device in TOTPDevice.objects.filter(user=user, confirmed=True)
    )
    if not ok:
        ok = recovery_code_use(user=user, code=code)
    if ok:
        return
    LoginFailure.objects.create(email=email, ip=ip, at=now)
    since = now - LOCK_WINDOW
    with transaction.atomic():
        if LoginFailure.objects.filter(email=email, ip=ip, at__gt=since).count() >= PAIR_FAILURE_LIMIT:
            _lock(key=_pair_key(email, ip), now=now)
        if LoginFailure.objects.filter(ip=ip, at__gt=since).count() >= ADDRESS_FAILURE_LIMIT:
            _lock(key=_address_key(ip), now=now)
    raise ServiceError(WRONG_CODE, field="code")


# --- Provisioning (SCIM 2.0: accounts/scim/) ---------------------------------------------------

SCIM_SOURCE = "scim"


@dataclass(frozen=True)
class IssuedScimToken:
    token: str
    record: ScimToken


def scim_token_create(*, name: str, created_by: User | None) -> IssuedScimToken:
    """A provisioning token for an identity provider; the raw token exists only in the return
    value (shown once). Audited."""
    name = name.strip()
    if not name:
        raise ServiceError("Name the token after the provider that uses it.", field="name")
    if len(name) > 100:
        raise ServiceError("A token's name is at most 100 characters.", field="name")
    raw = f"scim_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        record = ScimToken.objects.create(name=name, key_hash=hash_token(raw), prefix=raw[5:13], created_by=created_by)
        account_event_record(
            source=SCIM_SOURCE,
            action="token.created",
            subject=None,
            actor=created_by,
            changes={"token": record.prefix, "name": name},
        )
    return IssuedScimToken(token=raw, record=record)


def scim_token_revoke(*, token: ScimToken, actor: User | None) -> bool:
    """Revoke a provisioning token at once (its next request is refused). Audited."""
    with transaction.atomic():
        revoked = ScimToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        if revoked:
            account_event_record(
                source=SCIM_SOURCE, action="token.revoked", subject=None, actor=actor, changes={"token": token.prefix}
            )
    return bool(revoked)


def scim_token_lookup(raw: str) -> ScimToken | None:
    """The live provisioning token ``raw``, or ``None``; notes when it was last used (at most
    once a minute, so a busy sync does not write on every request)."""
    token = (
        ScimToken.objects.select_related("created_by").filter(key_hash=hash_token(raw), revoked_at__isnull=True).first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ScimToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def _scim_email(value: str) -> str:
    from django.core.validators import validate_email

    email = value.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ServiceError(f"userName must be an email address; {value!r} is not one.", field="userName") from None
    if len(email) > 254:
        raise ServiceError("userName is at most 254 characters.", field="userName")
    return email


def _scim_name(name: str, *, email: str) -> str:
    name = " ".join(name.split()) or email.split("@")[0]
    if len(name) > 150:
        raise ServiceError("A name is at most 150 characters.", field="name")
    return name


def _scim_external_id(value: str) -> str:
    if len(value) > 255:
        raise ServiceError("externalId is at most 255 characters.", field="externalId")
    return value


def scim_user_create(
    *,
    email: str,
    name: str,
    external_id: str = "",
    active: bool = True,
    department: Department | None = None,
    roles: list[str] | None = None,
    token: ScimToken,
) -> User:
    """A person the identity provider provisions: no password (they sign in by single
    sign-on), ``employee`` unless ``roles`` say more. Audited with the token that did it."""
    email = _scim_email(email)
    name = _scim_name(name, email=email)
    external_id = _scim_external_id(external_id)
    if User.objects.filter(email__iexact=email).exists():
        raise Conflict(f"A person with userName {email!r} already exists.", field="userName")
    with transaction.atomic():
        try:
            user = user_create(
                email=email, name=name, password=None, department=department, roles=roles or [RoleName.EMPLOYEE]
            )
        except ServiceError as exc:
            if exc.extra.get("field") == "email":  # made by a request at the same moment
                raise Conflict(f"A person with userName {email!r} already exists.", field="userName") from None
            raise
        if external_id:
            User.objects.filter(pk=user.pk).update(external_id=external_id)
            user.external_id = external_id
        if not active:
            User.objects.filter(pk=user.pk).update(is_active=False, deactivated_at=timezone.now())
            user.refresh_from_db()
        account_event_record(
            source=SCIM_SOURCE,
            action="user.created",
            subject=user,
            actor=token.created_by,
            changes={
                "token": token.prefix,
                "department": department.slug if department else None,
                "roles": sorted(user.role_set),
                "active": active,
            },
        )
    return user


def scim_user_update(
    *,
    user: User,
    token: ScimToken,
    email: str | None = None,
    name: str | None = None,
    external_id: str | None = None,
    active: bool | None = None,
    department: Department | None = UNSET,
    roles: list[str] | None = None,
) -> User:
    """Bring a provisioned person up to date; only what is passed changes, and only what
    differs is written and audited. Deactivating ends every session and token at once
    (:func:`user_deactivate`); reactivating an erased person is refused (``Conflict``), as is
    leaving Engage without an active administrator."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        changes: dict[str, Any] = {}
        if email is not None:
            email = _scim_email(email)
            if email != user.email:
                if User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
                    raise Conflict(f"A person with userName {email!r} already exists.", field="userName")
                changes["email"] = [user.email, email]
                try:
                    with transaction.atomic():
                        User.objects.filter(pk=user.pk).update(email=email)
                except IntegrityError:  # taken by a request at the same moment
                    raise Conflict(f"A person with userName {email!r} already exists.", field="userName") from None
        if name is not None:
            name = _scim_name(name, email=email or user.email)
            if name != user.name:
                changes["name"] = [user.name, name]
        if external_id is not None:
            external_id = _scim_external_id(external_id)
            if external_id != user.external_id:
                changes["externalId"] = [user.external_id, external_id]
                User.objects.filter(pk=user.pk).update(external_id=external_id)
        new_department: Any = UNSET
        if department is not UNSET and user.department_id != (department.pk if department else None):
            changes["department"] = [
                user.department.slug if user.department else None,
                department.slug if department else None,
            ]
            new_department = department
        new_roles = None
        if roles is not None:
            held = sorted(user.role_set)
            wanted = _validate_roles(roles)
            if wanted != held:
                changes["roles"] = [held, wanted]
                new_roles = wanted
        new_active = None
        if active is not None and active != user.is_active:
            changes["active"] = [user.is_active, active]
            new_active = active
        if not changes:
            return user
        user = user_update(
            user=user,
            name=name if "name" in changes else None,
            department=new_department,
            roles=new_roles,
            is_active=new_active,
        )
        account_event_record(
            source=SCIM_SOURCE,
            action="user.updated",
            subject=user,
            actor=token.created_by,
            changes={"token": token.prefix, **changes},
        )
    user.refresh_from_db()
    user.__dict__.pop("role_set", None)
    return user


def scim_department_create(*, name: str, token: ScimToken) -> Department:
    """A department a provider pushes as a group (kind ``other``, not customer-facing: an
    administrator sets those). Its slug comes from the name. Audited."""
    from django.utils.text import slugify

    name = " ".join(name.split())
    slug = slugify(name)[:SLUG_MAX_LENGTH]
    if not slug:
        raise ServiceError("A group's displayName needs a letter or a digit.", field="displayName")
    if Department.objects.filter(name__iexact=name).exists() or Department.objects.filter(slug=slug).exists():
        raise Conflict(f"A department called {name!r} already exists.", field="displayName")
    with transaction.atomic():
        try:
            department = department_create(slug=slug, name=name, kind=DepartmentKind.OTHER, customer_facing=False)
        except ServiceError as exc:
            if exc.extra.get("field") == "slug":  # made by a request at the same moment
                raise Conflict(f"A department called {name!r} already exists.", field="displayName") from None
            raise
        account_event_record(
            source=SCIM_SOURCE,
            action="department.created",
            subject=None,
            actor=token.created_by,
            changes={"token": token.prefix, "department": slug, "name": name},
        )
    return department


def scim_department_rename(*, department: Department, name: str, token: ScimToken) -> Department:
    name = " ".join(name.split())
    if not name:
        raise ServiceError("A group needs a displayName.", field="displayName")
    if len(name) > 120:
        raise ServiceError("A department's name is at most 120 characters.", field="displayName")
    if name == department.name:
        return department
    if Department.objects.filter(name__iexact=name).exclude(pk=department.pk).exists():
        raise Conflict(f"A department called {name!r} already exists.", field="displayName")
    with transaction.atomic():
        Department.objects.filter(pk=department.pk).update(name=name)
        account_event_record(
            source=SCIM_SOURCE,
            action="department.renamed",
            subject=None,
            actor=token.created_by,
            changes={"token": token.prefix, "department": department.slug, "name": [department.name, name]},
        )
    department.name = name
    return department


def scim_department_delete(*, department: Department, token: ScimToken) -> None:
    """Delete a department a provider no longer has: only when nobody is in it and no
    topic routes to it (``Conflict`` otherwise: move them in Engage first)."""
    from django.db.models import ProtectedError

    try:
        with transaction.atomic():
            Department.objects.filter(pk=department.pk).delete()
            account_event_record(
                source=SCIM_SOURCE,
                action="department.deleted",
                subject=None,
                actor=token.created_by,
                changes={"token": token.prefix, "department": department.slug},
            )
    except ProtectedError:
        raise Conflict(
            f"Department {department.name!r} still has people or topics; Engage keeps it until they move."
        ) from None
