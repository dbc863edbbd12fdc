"""The demo company's people: departments, topics, a few hundred people, every role.

A seed step of ``manage.py seed_demo`` (see that command for the protocol). Everything is
deterministic: the same names, departments and roles on every machine. Every demo person
shares one password, hashed once, since hashing is deliberately slow.

Later steps find the demo people through :func:`demo_people` and the named accounts
through :data:`DEMO_ACCOUNTS`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts import services
from accounts.models import Department, DepartmentKind, Role, RoleName, User

DEMO_DOMAIN = "demo.engage"
DEMO_PASSWORD = "engage-demo"  # noqa: S105 (published on purpose: demo data only, refused with DEBUG off)


@dataclass(frozen=True)
class DemoDepartment:
    slug: str
    name: str
    kind: str
    customer_facing: bool
    size: int
    # (topic slug, topic name, routing keywords)
    topics: tuple[tuple[str, str, tuple[str, ...]], ...] = ()


DEPARTMENTS: tuple[DemoDepartment, ...] = (
    DemoDepartment(
        "marketing",
        "Marketing",
        DepartmentKind.MARKETING,
        True,
        32,
        (("campaigns", "Campaigns", ("campaign", "giveaway", "contest", "newsletter", "promo code")),),
    ),
    DemoDepartment(
        "communications",
        "Communications",
        DepartmentKind.MARKETING,
        True,
        14,
        (("press", "Press and media", ("press", "journalist", "interview", "media inquiry")),),
    ),
    DemoDepartment(
        "customer-service",
        "Customer Service",
        DepartmentKind.CUSTOMER_SERVICE,
        True,
        48,
        (
            ("billing", "Billing", ("refund", "invoice", "charged twice", "billing", "payment")),
            ("orders", "Orders and delivery", ("order", "delivery", "shipping", "tracking number", "return")),
        ),
    ),
    DemoDepartment(
        "support",
        "Tech Support",
        DepartmentKind.TECH_SUPPORT,
        True,
        44,
        (
            ("sign-in", "Signing in", ("login", "password reset", "two-factor", "locked out", "sign in")),
            ("outages", "Outages", ("outage", "down", "not loading", "error 500", "status page")),
            ("integrations", "Integrations", ("api", "webhook", "integration", "sdk")),
        ),
    ),
    DemoDepartment(
        "sales",
        "Sales",
        DepartmentKind.SALES,
        True,
        36,
        (("pricing", "Pricing and plans", ("price", "pricing", "quote", "discount", "enterprise plan")),),
    ),
    DemoDepartment(
        "product",
        "Product",
        DepartmentKind.PRODUCT,
        False,
        22,
        (("feature-requests", "Feature requests", ("feature request", "roadmap", "please add", "would love")),),
    ),
    DemoDepartment(
        "engineering",
        "Engineering",
        DepartmentKind.PRODUCT,
        False,
        40,
        (("bugs", "Bugs", ("bug", "crash", "stack trace", "regression")),),
    ),
    DemoDepartment(
        "people",
        "People and HR",
        DepartmentKind.HR,
        False,
        12,
        (("careers", "Careers", ("job", "hiring", "careers", "internship", "vacancy")),),
    ),
    DemoDepartment(
        "finance",
        "Finance",
        DepartmentKind.FINANCE,
        False,
        14,
        (("investors", "Investor relations", ("investor", "shares", "earnings", "annual report")),),
    ),
    DemoDepartment(
        "legal",
        "Legal and Privacy",
        DepartmentKind.OTHER,
        False,
        8,
        (("privacy", "Privacy", ("gdpr", "privacy", "delete my data", "terms of service")),),
    ),
    DemoDepartment(
        "it",
        "IT and Security",
        DepartmentKind.OTHER,
        False,
        10,
        (("security", "Security reports", ("phishing", "vulnerability", "security issue", "data breach")),),
    ),
    DemoDepartment(
        "executive",
        "Executive Office",
        DepartmentKind.EXECUTIVE,
        False,
        8,
        (("leadership", "Leadership", ("ceo", "leadership", "acquisition")),),
    ),
)


@dataclass(frozen=True)
class DemoAccount:
    email: str
    name: str
    department: str
    roles: tuple[str, ...]
    what: str  # what signing in as this person shows


DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount(f"admin@{DEMO_DOMAIN}", "Ada Admin", "it", (RoleName.ADMIN,), "everything, and Django admin"),
    DemoAccount(f"exec@{DEMO_DOMAIN}", "Evelyn Exec", "executive", (RoleName.EXECUTIVE,), "the phase dashboard"),
    DemoAccount(f"curator@{DEMO_DOMAIN}", "Cora Curator", "marketing", (RoleName.CURATOR,), "writes messages, courses"),
    DemoAccount(
        f"reviewer@{DEMO_DOMAIN}", "Remy Reviewer", "communications", (RoleName.REVIEWER,), "approves messages, answers"
    ),
    DemoAccount(f"employee@{DEMO_DOMAIN}", "Sam Support", "support", (), "an employee in Tech Support"),
    DemoAccount(f"product@{DEMO_DOMAIN}", "Pia Product", "product", (), "an employee in Product (insights)"),
)

_FIRST = (
    "Aisha Alex Amara Ana Arjun Astrid Ben Bianca Carlos Chen Chloe Dara Diego Elena Emil Eva Farah Felix Grace "
    "Hana Hugo Ines Ivan Jamal Jana Jonas Kai Kemi Lars Layla Leo Lina Luca Maya Mateo Mei Mila Nadia Nico Noor "
    "Omar Oscar Priya Rafael Rosa Ruth Sami Sara Sofia Tariq Theo Uma Vera Wen Yara Yusuf Zane Zoe"
)
_LAST = (
    "Abbott Adeyemi Almeida Bauer Becker Brennan Castro Chowdhury Costa Dubois Eriksen Fischer Garcia Haddad "
    "Hansen Ibrahim Ito Jensen Kaur Kim Kowalski Larsen Lopez Martin Meyer Moreau Nakamura Novak Okafor Olsen "
    "Patel Petrov Quinn Reyes Rossi Santos Schmidt Silva Singh Sato Tanaka Torres Varga Wagner Walsh Weber "
    "Wong Yilmaz Zhang Ziegler"
)
FIRST_NAMES, LAST_NAMES = _FIRST.split(), _LAST.split()


def demo_people() -> QuerySet[User]:
    """Every person of the demo company (the named accounts included)."""
    return User.objects.filter(email__endswith=f"@{DEMO_DOMAIN}")


def _roles_for(rng: random.Random, department: DemoDepartment, index: int) -> set[str]:
    """Roles spread the way a real company would have them: a few per department."""
    roles: set[str] = {RoleName.EMPLOYEE}
    if department.kind == DepartmentKind.EXECUTIVE or index == 0:
        roles.add(RoleName.EXECUTIVE)  # department heads see the phase dashboard
    if department.kind in (DepartmentKind.MARKETING, DepartmentKind.HR) and rng.random() < 0.25:
        roles.add(RoleName.CURATOR)
    if department.customer_facing and rng.random() < 0.12:
        roles.add(RoleName.REVIEWER)
    if department.slug == "it" and index < 2:
        roles.add(RoleName.ADMIN)
    return roles


def demo_accounts_to_hint() -> tuple[DemoAccount, ...]:
    """The demo accounts the sign-in page may suggest: only under DEBUG with the demo loaded.

    With DEBUG off (production) nothing is hinted, even if someone forced the demo in.
    """
    from django.conf import settings

    if not settings.DEBUG or not User.objects.filter(email=DEMO_ACCOUNTS[0].email, is_active=True).exists():
        return ()
    return DEMO_ACCOUNTS


def seed_people(*, rng: random.Random) -> str | None:
    """Departments, topics and people. None when they are already there."""
    if User.objects.filter(email=DEMO_ACCOUNTS[0].email).exists():
        return None
    password_hash = make_password(DEMO_PASSWORD)
    now = timezone.now()
    with transaction.atomic():
        departments: dict[str, Department] = {}
        for spec in DEPARTMENTS:
            departments[spec.slug] = services.department_create(
                slug=spec.slug, name=spec.name, kind=spec.kind, customer_facing=spec.customer_facing
            )
        topic_count = 0
        for spec in DEPARTMENTS:
            for slug, name, keywords in spec.topics:
                services.topic_create(slug=slug, name=name, keywords=list(keywords), department=departments[spec.slug])
                topic_count += 1

        people: list[tuple[User, set[str]]] = []
        for account in DEMO_ACCOUNTS:
            person = User(email=account.email, name=account.name, department=departments[account.department])
            people.append((person, {RoleName.EMPLOYEE, *account.roles}))
        taken = {account.email for account in DEMO_ACCOUNTS}
        for spec in DEPARTMENTS:
            for index in range(spec.size):
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                email = f"{first}.{last}@{DEMO_DOMAIN}".lower()
                number = 2
                while email in taken:
                    email = f"{first}.{last}{number}@{DEMO_DOMAIN}".lower()
                    number += 1
                taken.add(email)
                person = User(email=email, name=f"{first} {last}", department=departments[spec.slug])
                people.append((person, _roles_for(rng, spec, index)))
        for person, _roles in people:
            person.password = password_hash
            person.date_joined = now - timedelta(days=rng.randint(30, 1500))
        User.objects.bulk_create([person for person, _roles in people])

        # The rows come from a data migration; a flushed test database may have lost them.
        Role.objects.bulk_create(
            [Role(slug=slug, name=RoleName(slug).label) for slug in RoleName.values], ignore_conflicts=True
        )
        roles = {role.slug: role for role in Role.objects.all()}
        Membership = User.roles.through
        Membership.objects.bulk_create(
            [Membership(user=person, role=roles[slug]) for person, slugs in people for slug in sorted(slugs)]
        )
    return f"{len(departments)} departments, {topic_count} topics, {len(people)} people"
