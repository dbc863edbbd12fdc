from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count

from accounts.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, demo_people
from accounts.models import Department, DepartmentKind, RoleName, Topic, User
from accounts.services import user_authenticate
from config.management.commands.seed_demo import SEED_STEPS

pytestmark = pytest.mark.django_db


def seed(**options: object) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


def test_the_demo_company_has_every_kind_of_department_and_every_role(settings):
    settings.DEBUG = True
    seed()

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


def test_the_named_accounts_sign_in_with_the_demo_password(settings):
    settings.DEBUG = True
    output = seed()
    for account in DEMO_ACCOUNTS:
        assert account.email in output, "make run prints how to sign in"
        person = user_authenticate(email=account.email, password=DEMO_PASSWORD, ip="127.0.0.1")
        assert person.department is not None
        assert person.department.slug == account.department
        assert all(person.has_role(role) for role in account.roles)
    assert DEMO_PASSWORD in output
    employee = User.objects.get(email="employee@demo.engage")
    assert employee.role_set == {RoleName.EMPLOYEE}
    assert employee.department is not None
    assert employee.department.kind == DepartmentKind.TECH_SUPPORT


def test_a_second_run_adds_nothing(settings, django_assert_max_num_queries):
    settings.DEBUG = True
    seed()
    counts = (User.objects.count(), Department.objects.count(), Topic.objects.count())
    with django_assert_max_num_queries(len(SEED_STEPS) * 5):
        seed()
    assert (User.objects.count(), Department.objects.count(), Topic.objects.count()) == counts


def test_the_demo_is_the_same_every_time(settings):
    settings.DEBUG = True
    seed()
    first = list(demo_people().order_by("email").values_list("email", "department__slug", "roles"))
    demo_people().delete()
    Topic.objects.all().delete()
    Department.objects.all().delete()
    seed()
    again = list(demo_people().order_by("email").values_list("email", "department__slug", "roles"))
    assert again == first


def test_it_refuses_to_run_in_production(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        seed()
    assert not User.objects.exists()
