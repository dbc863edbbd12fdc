from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.functional import cached_property


class DepartmentKind(models.TextChoices):
    MARKETING = "marketing", "Marketing"
    CUSTOMER_SERVICE = "customer_service", "Customer service"
    TECH_SUPPORT = "tech_support", "Tech support"
    HR = "hr", "HR"
    FINANCE = "finance", "Finance"
    SALES = "sales", "Sales"
    PRODUCT = "product", "Product"
    EXECUTIVE = "executive", "Executive"
    OTHER = "other", "Other"


class RoleName(models.TextChoices):
    EMPLOYEE = "employee", "Employee"
    CURATOR = "curator", "Curator"
    REVIEWER = "reviewer", "Reviewer"
    EXECUTIVE = "executive", "Executive"
    ADMIN = "admin", "Administrator"


class Department(models.Model):
    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=32, choices=DepartmentKind.choices, default=DepartmentKind.OTHER)
    customer_facing = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.Model):
    """One of the fixed roles; rows exist so administrators can grant them in the admin."""

    slug = models.CharField(max_length=20, primary_key=True, choices=RoleName.choices)
    name = models.CharField(max_length=60)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=username or "")

    def _create(self, email: str, password: str | None, roles: list[str], **extra: Any) -> User:
        if not email:
            raise ValueError("A person needs an email address")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        user.roles.set(Role.objects.filter(slug__in=roles))
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        return self._create(email, password, [RoleName.EMPLOYEE], **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("name", email.split("@")[0])
        return self._create(email, password, [RoleName.EMPLOYEE, RoleName.ADMIN], **extra)


class User(AbstractBaseUser):
    """A person, signed in by email. What they may do comes from their roles."""

    email = models.EmailField(max_length=254, unique=True)
    name = models.CharField(max_length=150)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, null=True, blank=True, related_name="members")
    roles = models.ManyToManyField(Role, blank=True, related_name="users")
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    erased_at = models.DateTimeField(null=True, blank=True)
    notification_prefs = models.JSONField(default=dict, blank=True)
    # The identity provider's own id for the person (SCIM ``externalId``), as it sent it.
    external_id = models.CharField(max_length=255, blank=True, default="")

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]
        indexes = [models.Index(fields=["department", "is_active"], name="user_dept_active_idx")]

    def __str__(self) -> str:
        return self.name or self.email

    def get_full_name(self) -> str:
        return self.name

    def get_short_name(self) -> str:
        return self.name.split(" ")[0] if self.name else self.email

    @cached_property
    def role_set(self) -> frozenset[str]:
        if self.pk is None:
            return frozenset()
        return frozenset(role.slug for role in self.roles.all())

    def has_role(self, *roles: str) -> bool:
        """True if the person holds any of ``roles``; ``admin`` holds every role."""
        held = self.role_set
        return RoleName.ADMIN in held or any(role in held for role in roles)

    # Django admin access follows the admin role: one source of truth.
    @property
    def is_staff(self) -> bool:
        return self.is_active and RoleName.ADMIN in self.role_set

    @property
    def is_superuser(self) -> bool:
        return self.is_staff

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return self.is_staff

    def has_perms(self, perm_list: Any, obj: object = None) -> bool:
        return self.is_staff

    def has_module_perms(self, app_label: str) -> bool:
        return self.is_staff


class Topic(models.Model):
    """A subject queries are routed by: a match on any keyword routes to ``department``."""

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    keywords = models.JSONField(default=list, blank=True)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="topics")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.name


class ApiToken(models.Model):
    """A bearer token. Only its SHA-256 is stored; the token itself is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    def is_live(self, at: Any = None) -> bool:
        at = at or timezone.now()
        return self.revoked_at is None and self.expires_at > at


class LoginFailure(models.Model):
    """A failed sign-in, kept for 15 minutes' worth of lock-out arithmetic."""

    email = models.CharField(max_length=254)
    ip = models.GenericIPAddressField()
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["email", "ip", "at"], name="loginfail_pair_idx"),
            models.Index(fields=["ip", "at"], name="loginfail_ip_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.email} from {self.ip} at {self.at:%Y-%m-%d %H:%M}"


class LoginLock(models.Model):
    """A lock on sign-in for an email from an address, or for an address on its own."""

    key = models.CharField(max_length=400, unique=True)
    locked_until = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.key} until {self.locked_until:%H:%M}"


class Notification(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=60)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    # False when the person turned this kind off in the app: the row still records the
    # delivery (and makes it idempotent) but the bell and the list leave it out.
    in_app = models.BooleanField(default=True)
    # Makes delivery idempotent: the same job run twice notifies once.
    dedupe_key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001 (NULLs never collide)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="notification_user_idx")]
        constraints = [models.UniqueConstraint(fields=["user", "dedupe_key"], name="notification_dedupe_unique")]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id}"


class AccountEvent(models.Model):
    """The audit of identity changes: what changed for whom, by whom or by which system.

    ``source`` is where the change came from: ``sign-in`` (the identity provider's claims at
    a single sign-on), ``scim`` (provisioning), ``mfa`` (second-factor enrolment),
    ``break-glass``. Written only by ``accounts.services``.
    """

    at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=20)
    action = models.CharField(max_length=40)
    subject = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="account_events")
    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["subject", "-at"], name="accountevent_subject_idx")]

    def __str__(self) -> str:
        return f"{self.action} ({self.source}) for {self.subject_id} at {self.at:%Y-%m-%d %H:%M}"


class RecoveryCode(models.Model):
    """A one-use recovery code for the second factor.

    Only an HMAC-SHA256 of the code is stored, keyed from ``SECRET_KEY``
    (``accounts.services.recovery_code_hash``): the table alone gives no code away. The
    codes themselves are shown once, when they are made.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "used_at"], name="recoverycode_user_idx")]

    def __str__(self) -> str:
        return f"recovery code of {self.user_id}{' (used)' if self.used_at else ''}"


class ScimToken(models.Model):
    """The bearer token an identity provider provisions people with (``/scim/v2/``).

    Like an API token, only its SHA-256 is stored and the token itself is shown once; it
    belongs to no person and is good for SCIM only. An administrator makes and revokes it.
    """

    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "SCIM provisioning token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None
