"""Reads for training: who may see which course, what a person holds, how a course is going.

Access to a course is decided in one place, :func:`course_get_for_user`: curators (and
admins) see every course, drafts included; everyone else sees published courses meant
for their department (an empty audience means everyone) and gets 404 for the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import Department, User
from config.queries import one_or_404
from training import policy
from training.models import (
    Attempt,
    Certification,
    Course,
    CourseStatus,
    Enrollment,
    Lesson,
    Module,
    ModuleProgress,
    Question,
)

ATTEMPT_WINDOW_HOURS = 24


def user_manages_training(user: User) -> bool:
    """Curators see every course (:func:`training.policy.course_manage`)."""
    return policy.course_manage(user) is None


def _audience_includes(department_id: int | None) -> Any:
    through = Course.audience.through
    has_audience = Exists(through.objects.filter(course_id=OuterRef("pk")))
    if department_id is None:
        return ~has_audience
    in_audience = Exists(through.objects.filter(course_id=OuterRef("pk"), department_id=department_id))
    return ~has_audience | in_audience


def courses_visible_to(*, user: User) -> QuerySet[Course]:
    courses = Course.objects.all()
    if user_manages_training(user):
        return courses
    return courses.filter(_audience_includes(user.department_id), status=CourseStatus.PUBLISHED)


def course_get_for_user(*, user: User, id: int, lock: bool = False) -> Course:
    """The course if ``user`` may see it, else ``Http404``. ``lock``: call inside a transaction."""
    return one_or_404(courses_visible_to(user=user), id=id, lock=lock, missing="No such course.")


def course_list_for_user(*, user: User, status: str | None = None) -> QuerySet[Course]:
    """Courses for a list page: audience and question count loaded, constant queries."""
    courses = courses_visible_to(user=user)
    if status:
        courses = courses.filter(status=status)
    return (
        courses.prefetch_related(Prefetch("audience", queryset=Department.objects.order_by("slug")))
        .annotate(question_count=Count("modules__questions", distinct=True))
        .order_by("title", "id")
    )  # Meta.ordering does not apply to aggregated querysets


def course_with_content(*, course_id: int) -> Course:
    """The course with its modules, lessons and questions in order (four queries)."""
    modules = Module.objects.order_by("position").prefetch_related(
        Prefetch("lessons", queryset=Lesson.objects.order_by("position")),
        Prefetch("questions", queryset=Question.objects.order_by("position")),
    )
    return (
        Course.objects.prefetch_related(
            Prefetch("modules", queryset=modules), Prefetch("audience", queryset=Department.objects.order_by("slug"))
        )
        .annotate(question_count=Count("modules__questions", distinct=True))
        .get(pk=course_id)
    )


def course_questions(*, course: Course) -> list[Question]:
    """The course's questions in course order: module by module, then by position."""
    return list(Question.objects.filter(module__course=course).order_by("module__position", "position"))


def module_progress_ids(*, user: User, course: Course) -> set[int]:
    return set(ModuleProgress.objects.filter(user=user, module__course=course).values_list("module_id", flat=True))


def attempts_since(*, user: User, course: Course, since: datetime) -> QuerySet[Attempt]:
    return Attempt.objects.filter(user=user, course=course, created_at__gt=since)


def attempts_for_user(*, user: User, course: Course) -> QuerySet[Attempt]:
    return Attempt.objects.filter(user=user, course=course).select_related("certification").order_by("-created_at")


def attempt_get_for_user(*, user: User, id: int) -> Attempt:
    """One of the person's own attempts (curators may see anyone's), else 404."""
    attempts = Attempt.objects.select_related("course", "certification", "user")
    if not user_manages_training(user):
        attempts = attempts.filter(user=user)
    attempt = attempts.filter(pk=id).first()
    if attempt is None:
        raise Http404("No such attempt.")
    return attempt


# --- Certifications ---------------------------------------------------------------------------


def user_holds_privilege(*, user: User | int, privilege: str, at: datetime | None = None) -> bool:
    """True when the person holds a certification granting ``privilege`` valid at ``at``.

    Exact to the microsecond (valid while ``issued_at <= at < expires_at``): no job has to
    run for an expired certification to stop counting. One indexed query.
    """
    at = at or timezone.now()
    user_id = user if isinstance(user, int) else user.pk
    if user_id is None or not privilege:
        return False
    return Certification.objects.filter(
        user_id=user_id, grants=privilege, expires_at__gt=at, issued_at__lte=at
    ).exists()


# user_holds_privilege's rule as a condition, for a hand-written statement that checks it in
# passing (engage.statements, publishing an answer); a test holds the two equal at the edges.
HOLDS_PRIVILEGE_SQL = (
    f'EXISTS (SELECT 1 FROM "{Certification._meta.db_table}" c WHERE c.user_id = %(user)s '  # noqa: S608
    "AND c.grants = %(privilege)s AND c.expires_at > %(now)s AND c.issued_at <= %(now)s)"
)


def privilege_holder_ids(*, privilege: str, at: datetime | None = None) -> QuerySet[Certification, int]:
    """Ids of everyone holding ``privilege`` at ``at`` (for the phase engine's certified ratio).

    A queryset of distinct ``user_id`` values, usable as a subquery:
    ``User.objects.filter(pk__in=privilege_holder_ids(privilege="responder", at=as_of))``.
    """
    at = at or timezone.now()
    return (
        Certification.objects.filter(grants=privilege, expires_at__gt=at, issued_at__lte=at)
        .values_list("user_id", flat=True)
        .distinct()
    )


def certifications_for_user(*, user: User) -> QuerySet[Certification]:
    """The person's current certification per course, valid and expired, newest expiry first."""
    return (
        Certification.objects.filter(user=user, superseded_at__isnull=True)
        .select_related("course")
        .order_by("-expires_at", "-id")
    )


# --- Assignments and progress -----------------------------------------------------------------


def enrollments_for_user(*, user: User) -> QuerySet[Enrollment]:
    """The person's courses: assigned ones (soonest due first) and ones they started."""
    return (
        Enrollment.objects.filter(user=user)
        .exclude(course__status=CourseStatus.DRAFT)
        .select_related("course")
        .order_by("completed_at", "due_on", "course__title", "id")
    )


@dataclass(frozen=True)
class DepartmentCompletion:
    department_id: int | None
    slug: str
    name: str
    people: int
    assigned: int
    completed: int
    overdue: int

    @property
    def completion_rate(self) -> float | None:
        base = self.assigned or self.people
        return None if not base else round(self.completed / base, 4)


def course_completion_by_department(*, course: Course, today: date | None = None) -> list[DepartmentCompletion]:
    """For each department in the course's audience (every department when it has none):
    active people, assignments, completions (people who passed), and overdue assignments."""
    today = today or timezone.localdate()
    audience_ids = list(course.audience.values_list("pk", flat=True))
    departments = Department.objects.order_by("name")
    if audience_ids:
        departments = departments.filter(pk__in=audience_ids)
    people = dict(
        User.objects.filter(is_active=True, department__in=departments)
        .values("department_id")
        .annotate(n=Count("pk"))
        .values_list("department_id", "n")
    )
    rows: dict[int | None, dict[str, Any]] = {
        row["user__department_id"]: dict(row)
        for row in Enrollment.objects.filter(course=course)
        .values("user__department_id")
        .annotate(
            assigned=Count("pk", filter=Q(assigned_at__isnull=False)),
            completed=Count("pk", filter=Q(completed_at__isnull=False)),
            overdue=Count("pk", filter=Q(assigned_at__isnull=False, completed_at__isnull=True, due_on__lt=today)),
        )
    }
    report = []
    for department in departments:
        row = rows.get(department.pk, {})
        report.append(
            DepartmentCompletion(
                department_id=department.pk,
                slug=department.slug,
                name=department.name,
                people=people.get(department.pk, 0),
                assigned=row.get("assigned", 0),
                completed=row.get("completed", 0),
                overdue=row.get("overdue", 0),
            )
        )
    return report
