"""Writes for people, departments, topics, tokens and notifications.

Every function here is the only place its change is made; API and web views call them.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts import notifications
from accounts.authentication import hash_token
from accounts.models import ApiToken, Department, LoginFailure, LoginLock, Notification, Role, RoleName, Topic, User
from accounts.signals import user_erased
from config.errors import RateLimited, ServiceError
from config.jobs import enqueue

logger = logging.getLogger(__name__)

LOCK_WINDOW = timedelta(minutes=15)
LOCK_DURATION = timedelta(minutes=15)
PAIR_FAILURE_LIMIT = 5
ADDRESS_FAILURE_LIMIT = 30
BAD_CREDENTIALS = "The email or password is not right."


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


def _record_failure(*, email: str, ip: str, now: datetime) -> None:
    since = now - LOCK_WINDOW
    with transaction.atomic():
        LoginFailure.objects.create(email=email, ip=ip, at=now)
        pair_failures = LoginFailure.objects.filter(email=email, ip=ip, at__gt=since).count()
        if pair_failures >= PAIR_FAILURE_LIMIT:
            LoginLock.objects.update_or_create(key=_pair_key(email, ip), defaults={"locked_until": now + LOCK_DURATION})
        address_failures = LoginFailure.objects.filter(ip=ip, at__gt=since).count()
        if address_failures >= ADDRESS_FAILURE_LIMIT:
            LoginLock.objects.update_or_create(key=_address_key(ip), defaults={"locked_until": now + LOCK_DURATION})


def user_authenticate(*, email: str, password: str, ip: str) -> User:
    """Check a sign-in, applying the lock-out of API.md.

    Raises ``RateLimited`` while the email (from this address) or the address is locked,
    and ``ServiceError`` with one message for an unknown email and a wrong password alike.
    """
    email = email.strip().lower()
    now = timezone.now()
    _check_not_locked(email=email, ip=ip, now=now)
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        # Spend the same time as a real check so timing does not tell who exists.
        User().set_password(password)
        ok = False
    else:
        ok = user.check_password(password) and user.is_active
    if not ok:
        _record_failure(email=email, ip=ip, now=now)
        raise ServiceError(BAD_CREDENTIALS)
    assert user is not None
    return user


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
) -> User:
    """Create a person. Without a password they cannot sign in until they set one."""
    email = email.strip().lower()
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
            user.roles.set(Role.objects.filter(slug__in=role_slugs))
    except IntegrityError:
        raise ServiceError("A person with this email already exists.", field="email") from None
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
    role_slugs = _validate_roles(roles)
    with transaction.atomic():
        user.department = department
        user.save(update_fields=["department"])
        user.roles.set(Role.objects.filter(slug__in=role_slugs))
    user.__dict__.pop("role_set", None)
    return user


def user_deactivate(*, user: User) -> User:
    """End every session and token at once.

    Sessions are refused on their next request because the authentication backend
    rejects inactive people; tokens are revoked here and refused by the token check.
    """
    now = timezone.now()
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=False, deactivated_at=now)
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
            data.update(part)
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
        user.email = f"erased-{user.pk}@erased.invalid"
        user.name = "Erased person"
        user.is_active = False
        user.deactivated_at = user.deactivated_at or now
        user.erased_at = now
        user.notification_prefs = {}
        user.set_unusable_password()
        user.save()
        user.api_tokens.all().delete()
        user.notifications.all().delete()
        LoginFailure.objects.filter(email__iexact=user.email).delete()
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
    try:
        with transaction.atomic():
            return Department.objects.create(slug=slug, name=name, kind=kind, customer_facing=customer_facing)
    except IntegrityError:
        raise ServiceError(f"A department with slug {slug!r} already exists.", field="slug") from None


def _clean_keywords(keywords: list[str]) -> list[str]:
    cleaned: list[str] = []
    for keyword in keywords:
        if not isinstance(keyword, str) or not keyword.strip():
            raise ServiceError("Keywords must be non-empty text.", field="keywords")
        value = " ".join(keyword.split()).lower()
        if value not in cleaned:
            cleaned.append(value)
    return cleaned


def topic_create(*, slug: str, name: str, keywords: list[str], department: Department) -> Topic:
    try:
        with transaction.atomic():
            return Topic.objects.create(slug=slug, name=name, keywords=_clean_keywords(keywords), department=department)
    except IntegrityError:
        raise ServiceError(f"A topic with slug {slug!r} already exists.", field="slug") from None


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
    note = Notification.objects.filter(user=user, pk=notification_id).first()
    if note is None:
        from django.http import Http404

        raise Http404
    if note.read_at is None:
        Notification.objects.filter(pk=note.pk, read_at__isnull=True).update(read_at=timezone.now())
        note.refresh_from_db(fields=["read_at"])
    return note


def notification_mark_all_read(*, user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())
