from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from accounts.models import Department, DepartmentKind, Role, RoleName, Topic, User

TEST_PASSWORD = "correct horse battery staple"


class DepartmentFactory(DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"dept-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.replace("-", " ").title())
    kind = DepartmentKind.CUSTOMER_SERVICE
    customer_facing = True


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    name = factory.Sequence(lambda n: f"Person {n}")
    department = factory.SubFactory(DepartmentFactory)
    password = factory.django.Password(TEST_PASSWORD)

    @factory.post_generation
    def roles(self, create: bool, extracted: list[str] | None, **kwargs: object) -> None:
        if not create:
            return
        slugs = set(extracted or []) | {RoleName.EMPLOYEE}
        # A transactional test's flush empties the Role rows the data migration made.
        Role.objects.bulk_create([Role(slug=s, name=RoleName(s).label) for s in slugs], ignore_conflicts=True)
        self.roles.set(Role.objects.filter(slug__in=slugs))
        self.__dict__.pop("role_set", None)


class TopicFactory(DjangoModelFactory):
    class Meta:
        model = Topic

    slug = factory.Sequence(lambda n: f"topic-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.title())
    keywords = factory.LazyFunction(lambda: ["refund"])
    department = factory.SubFactory(DepartmentFactory)
