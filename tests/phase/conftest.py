"""Builders for hand-made phase data sets: departments, people, queries, answers, events,
certifications and insights at exact moments, in settings.TIME_ZONE."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import Department, DepartmentKind, User
from config.activity import ActivityKind
from engage import participation
from engage.models import (
    Answer,
    AnswerStatus,
    Channel,
    Insight,
    InsightStatusChange,
    Query,
    QueryState,
)
from engage.phase.rollups import rollups_fold
from tests.factories import DepartmentFactory, UserFactory
from training.models import Certification, Course

_serial = itertools.count(1)


@pytest.fixture(autouse=True)
def _plain_http(settings) -> None:
    settings.SECURE_SSL_REDIRECT = False  # the test client speaks plain HTTP


def at(day: date, hour: int = 12, minute: int = 0) -> datetime:
    """An instant of ``day`` in settings.TIME_ZONE."""
    return datetime.combine(day, time(hour, minute), tzinfo=timezone.get_default_timezone())


def department(slug: str, kind: str = DepartmentKind.CUSTOMER_SERVICE, customer_facing: bool = True) -> Department:
    return DepartmentFactory(
        slug=slug, name=slug.upper() if len(slug) <= 3 else slug.title(), kind=kind, customer_facing=customer_facing
    )


def person(
    dept: Department | None, *, joined: datetime | None = None, deactivated: datetime | None = None, **kw: Any
) -> User:
    user = UserFactory(department=dept, **kw)
    fields: dict[str, Any] = {"date_joined": joined or datetime(2025, 1, 1, tzinfo=timezone.get_default_timezone())}
    if deactivated is not None:
        fields.update(is_active=False, deactivated_at=deactivated)
    User.objects.filter(pk=user.pk).update(**fields)
    user.refresh_from_db()
    return user


def channel() -> Channel:
    made, _ = Channel.objects.get_or_create(slug="forum", defaults={"name": "Forum", "secret": "s" * 40})
    return made


def query(
    dept: Department | None,
    received: datetime,
    *,
    answered: datetime | None = None,
    due_hours: int = 24,
    close_reason: str = "",
    closed: datetime | None = None,
) -> Query:
    state = QueryState.OPEN
    if answered is not None:
        state = QueryState.ANSWERED
    if close_reason:
        state = QueryState.CLOSED
    return Query.objects.create(
        channel=channel(),
        external_id=f"q-{next(_serial)}",
        text="Where is my refund?",
        author_handle="@customer",
        department=dept,
        received_at=received,
        sla_due_at=received + timedelta(hours=due_hours),
        state=state,
        answered_at=answered,
        close_reason=close_reason,
        closed_at=closed if close_reason else None,
    )


def answer(q: Query, author: User, published: datetime, *, event: bool = True) -> Answer:
    """A published answer; with ``event``, its ``answer_published`` event too (as the service records it)."""
    made = Answer.objects.create(
        query=q,
        author=author,
        author_department=author.department,
        body="Here is how.",
        status=AnswerStatus.PUBLISHED,
        published_at=published,
    )
    if event:
        record(ActivityKind.ANSWER_PUBLISHED, author, published, object_id=made.pk)
    return made


def record(
    kind: str, actor: User | None, when: datetime, *, department: Department | None = None, object_id: int | None = None
) -> None:
    """One event of the participation log, through its only writer."""
    serial = next(_serial)
    participation.record(
        participation.activity(
            kind=kind,
            occurred_at=when,
            object_type="test.object",
            object_id=object_id or serial,
            key=f"test:{kind}:{serial}",
            actor=actor,
            department_id=department.pk if department is not None else None,
        )
    )


def certify(user: User, issued: datetime, expires: datetime) -> Certification:
    course, _ = Course.objects.get_or_create(
        title="Responding in public",
        defaults={
            "certification_name": "Responder",
            "certification_grants": "responder",
            "certification_valid_days": 365,
        },
    )
    return Certification.objects.create(
        user=user, course=course, name="Responder", grants="responder", issued_at=issued, expires_at=expires
    )


def insight(submitter: User, changes: list[tuple[str, datetime]], *, from_query: Query | None = None) -> Insight:
    """An insight submitted at the first change's time, moved through ``changes`` (status, when)."""
    first_at = changes[0][1]
    made = Insight.objects.create(
        title=f"Insight {next(_serial)}",
        submitted_by=submitter,
        department=submitter.department,
        created_at=first_at,
        status=changes[-1][0],
        status_changed_at=changes[-1][1],
    )
    if from_query is not None:
        made.queries.add(from_query)
    previous = ""
    for status, when in changes:
        InsightStatusChange.objects.create(insight=made, from_status=previous, to_status=status, changed_at=when)
        previous = status
    return made


def fold() -> int:
    total = 0
    while True:
        step = rollups_fold(batch_size=500)
        total += step
        if step == 0:
            return total
