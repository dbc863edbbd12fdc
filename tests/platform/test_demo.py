from __future__ import annotations

import random
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Count

from accounts.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, demo_people, seed_people
from accounts.models import Department, DepartmentKind, RoleName, Topic, User
from accounts.services import user_authenticate
from config.management.commands.seed_demo import SEED_STEPS

pytestmark = pytest.mark.django_db


def seed_command(**options: object) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


class _Undo(Exception):
    pass


def people_made_by(seed: str) -> list[tuple[str, str, str]]:
    """What ``seed_people`` makes with this seed, undone afterwards."""
    made: list[tuple[str, str, str]] = []
    try:
        with transaction.atomic():
            seed_people(rng=random.Random(seed))
            made = list(demo_people().order_by("email", "roles").values_list("email", "department__slug", "roles"))
            raise _Undo
    except _Undo:
        pass
    return made


def test_the_demo_company_has_every_kind_of_department_and_every_role() -> None:
    assert seed_people(rng=random.Random(1)) is not None

    assert Department.objects.count() == 12
    kinds = set(Department.objects.values_list("kind", flat=True))
    assert kinds == set(DepartmentKind.values)
    facing = dict(Department.objects.values_list("kind", "customer_facing"))
    assert facing[DepartmentKind.CUSTOMER_SERVICE]
    assert facing[DepartmentKind.TECH_SUPPORT]
    assert not facing[DepartmentKind.FINANCE]
    assert not facing[DepartmentKind.HR]

    assert 250 <= demo_people().count() <= 400
    holders = dict(User.objects.values("roles").annotate(n=Count("id")).values_list("roles", "n"))
    assert set(holders) == set(RoleName.values)
    assert all(holders[role] >= 2 for role in RoleName.values)
    assert not User.objects.filter(department__isnull=True).exists()

    routed = Department.objects.annotate(n=Count("topics")).filter(n__gt=0)
    assert routed.count() == 12, "every department gets queries routed to it"
    assert all(topic.keywords for topic in Topic.objects.all())


def test_the_named_accounts_sign_in_with_the_demo_password() -> None:
    seed_people(rng=random.Random(1))
    for account in DEMO_ACCOUNTS:
        person = user_authenticate(email=account.email, password=DEMO_PASSWORD, ip="127.0.0.1")
        assert person.department is not None
        assert person.department.slug == account.department
        assert all(person.has_role(role) for role in account.roles)
    employee = User.objects.get(email="employee@demo.engage")
    assert employee.role_set == {RoleName.EMPLOYEE}
    assert employee.department is not None
    assert employee.department.kind == DepartmentKind.TECH_SUPPORT


def test_the_same_seed_makes_the_same_company() -> None:
    first = people_made_by("engage-demo:accounts.demo.seed_people")
    assert first
    assert people_made_by("engage-demo:accounts.demo.seed_people") == first
    assert people_made_by("another seed") != first


def test_the_command_loads_every_step_once_and_says_how_to_sign_in(settings, django_assert_max_num_queries) -> None:
    settings.DEBUG = True
    output = seed_command()
    for account in DEMO_ACCOUNTS:
        assert account.email in output
    assert DEMO_PASSWORD in output
    counts = (User.objects.count(), Department.objects.count(), Topic.objects.count())

    with django_assert_max_num_queries(len(SEED_STEPS) * 5):  # each step only checks it is done
        again = seed_command()
    assert (User.objects.count(), Department.objects.count(), Topic.objects.count()) == counts
    assert DEMO_PASSWORD in again


def test_the_command_refuses_to_run_in_production(settings) -> None:
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        seed_command()
    assert not User.objects.exists()
