"""Reads for people, departments, topics and notifications.

Each returns a queryset with what its callers show already joined, so a list costs the
same number of queries whatever its length. The ``*_get*`` helpers raise ``Http404`` for
what does not exist or is not the caller's to see.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import Department, Notification, Topic, User


def department_list() -> QuerySet[Department]:
    return Department.objects.order_by("name", "id")


def department_get(*, slug: str) -> Department:
    department = Department.objects.filter(slug=slug).first()
    if department is None:
        raise Http404
    return department


def topic_list() -> QuerySet[Topic]:
    return Topic.objects.select_related("department").order_by("created_at", "id")


def topic_get(*, slug: str) -> Topic:
    topic = topic_list().filter(slug=slug).first()
    if topic is None:
        raise Http404
    return topic


def user_list(*, department: str | None = None, is_active: bool | None = None) -> QuerySet[User]:
    """Everyone (administrators' view), optionally of one department (slug) or state."""
    people = User.objects.select_related("department").prefetch_related("roles").order_by("name", "id")
    if department is not None:
        people = people.filter(department__slug=department)
    if is_active is not None:
        people = people.filter(is_active=is_active)
    return people


def user_get(*, id: int) -> User:
    """One person by id, for administrators (the caller checks the role first)."""
    user = user_list().filter(pk=id).first()
    if user is None:
        raise Http404
    return user


def user_me(*, user: User) -> User:
    """The signed-in person with their department and roles joined."""
    return user_list().get(pk=user.pk)


def notification_list_for_user(*, user: User, unread: bool | None = None) -> QuerySet[Notification]:
    """The person's in-app notifications, newest first."""
    notes = Notification.objects.filter(user=user, in_app=True).order_by("-created_at", "-id")
    if unread is True:
        notes = notes.filter(read_at__isnull=True)
    elif unread is False:
        notes = notes.filter(read_at__isnull=False)
    return notes
