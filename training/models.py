"""Courses, attempts, certifications and required training.

A course is ordered modules of lessons (Markdown) and multiple-choice questions. A pass
(score >= pass mark) issues, or renews, the certification the course grants. Each
issue or renewal is its own :class:`Certification` row, so "who held what, when" stays
exact for the phase engine's history; the row a person sees is the current one
(``superseded_at`` is null).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class CourseStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    ARCHIVED = "archived", "Archived"


class Privilege(models.TextChoices):
    """What a certification lets its holders do. ``responder``: publish answers unreviewed."""

    RESPONDER = "responder", "Responder: publishes answers without review"


class Course(models.Model):
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=CourseStatus.choices, default=CourseStatus.DRAFT)
    # Empty audience: everyone.
    audience = models.ManyToManyField("accounts.Department", blank=True, related_name="courses")
    required = models.BooleanField(default=False)
    due_days = models.PositiveIntegerField(null=True, blank=True)
    pass_mark = models.DecimalField(max_digits=4, decimal_places=3, default=Decimal("0.800"))
    # The certification a pass earns, if any (all three set, or none).
    certification_name = models.CharField(max_length=200, blank=True)
    certification_grants = models.CharField(max_length=40, choices=Privilege.choices, blank=True)
    certification_valid_days = models.PositiveIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Which version of the course this is: 1 when first published, one more each time a
    # new version replaces it (training.services.course_publish).
    version = models.PositiveIntegerField(default=1)
    # A draft of the next version of a published course (at most one per course). Publishing
    # it moves its content into that course, so enrollments, attempts and certifications,
    # which belong to the course and not to a version, carry over.
    edition_of = models.OneToOneField(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="next_edition"
    )

    class Meta:
        ordering = ["title", "id"]
        indexes = [models.Index(fields=["status", "required"], name="course_status_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(pass_mark__gte=0) & Q(pass_mark__lte=1), name="course_pass_mark_fraction"
            ),
            models.CheckConstraint(
                condition=Q(required=False) | Q(due_days__isnull=False), name="course_required_has_due_days"
            ),
            models.CheckConstraint(
                condition=(Q(certification_name="") & Q(certification_valid_days__isnull=True))
                | (~Q(certification_name="") & Q(certification_valid_days__gt=0)),
                name="course_certification_complete",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def grants_certification(self) -> bool:
        return bool(self.certification_name)

    def passes(self, *, correct: int, total: int) -> bool:
        """``correct / total >= pass_mark``, exactly (no floating point at the boundary)."""
        if total == 0:
            return False
        return Fraction(correct, total) >= Fraction(self.pass_mark)


class Module(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="modules")
    position = models.PositiveIntegerField()
    title = models.CharField(max_length=200)

    class Meta:
        ordering = ["course", "position"]
        constraints = [models.UniqueConstraint(fields=["course", "position"], name="module_position_unique")]

    def __str__(self) -> str:
        return self.title


class Lesson(models.Model):
    module = models.ForeignKey(Module, on_delete=models.CASCADE, related_name="lessons")
    position = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)  # Markdown

    class Meta:
        ordering = ["module", "position"]
        constraints = [models.UniqueConstraint(fields=["module", "position"], name="lesson_position_unique")]

    def __str__(self) -> str:
        return self.title


class Question(models.Model):
    module = models.ForeignKey(Module, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveIntegerField()
    text = models.TextField()
    choices = models.JSONField(default=list)  # list[str]
    correct = models.JSONField(default=list)  # sorted list[int], indexes into choices; never sent before submission

    class Meta:
        ordering = ["module", "position"]
        constraints = [models.UniqueConstraint(fields=["module", "position"], name="question_position_unique")]

    def __str__(self) -> str:
        return self.text[:60]


class Enrollment(models.Model):
    """A person's relation to a course: assignment (with a due day), progress, completion.

    An *assignment* is an enrollment with ``assigned_at`` set. The row is also what an
    attempt locks, so the daily attempt limit holds under concurrent submissions.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrollments")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="enrollments")
    created_at = models.DateTimeField(default=timezone.now)
    assigned_at = models.DateTimeField(null=True, blank=True)
    due_on = models.DateField(null=True, blank=True)  # a day in settings.TIME_ZONE
    required = models.BooleanField(default=False)  # assigned because the course is required
    completed_at = models.DateTimeField(null=True, blank=True)  # the first pass
    last_passed_at = models.DateTimeField(null=True, blank=True)
    overdue_at = models.DateTimeField(null=True, blank=True)  # when the overdue job marked it
    # What the reminder jobs already sent, so each runs idempotently (with dedupe keys too).
    due_reminded_for = models.DateField(null=True, blank=True)  # the due_on a "due soon" reminder was sent for
    overdue_reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_on", "id"]
        constraints = [models.UniqueConstraint(fields=["user", "course"], name="enrollment_user_course_unique")]
        indexes = [
            models.Index(fields=["course", "completed_at"], name="enrollment_course_idx"),
            models.Index(
                fields=["due_on"],
                name="enrollment_open_due_idx",
                condition=Q(completed_at__isnull=True, assigned_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.course_id}"

    @property
    def is_assigned(self) -> bool:
        return self.assigned_at is not None

    def is_overdue(self, today: object = None) -> bool:
        if self.completed_at is not None or self.due_on is None:
            return False
        today = today or timezone.localdate()
        return bool(today > self.due_on)  # type: ignore[operator]


class ModuleProgress(models.Model):
    """A module a person has worked through in the course player."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="module_progress")
    module = models.ForeignKey(Module, on_delete=models.CASCADE, related_name="progress")
    completed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "module"], name="module_progress_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} finished module {self.module_id}"


class Attempt(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="attempts")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="attempts")
    answers = models.JSONField(default=list)  # list[list[int]], one per question in course order
    correct_count = models.PositiveIntegerField()
    question_count = models.PositiveIntegerField()
    score = models.FloatField()
    passed = models.BooleanField()
    # The version of the course the answers were given to (``Course.version`` then).
    course_version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "course", "created_at"], name="attempt_user_course_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.course_id}: {self.score:.2f}"


class Certification(models.Model):
    """One issue (or renewal) of a course's certification to a person.

    Valid while ``issued_at <= at < expires_at``. A renewal supersedes the current row
    (``superseded_at``) and adds a new one, so the history stays exact.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="certifications")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="certifications")
    attempt = models.OneToOneField(
        Attempt, on_delete=models.SET_NULL, null=True, blank=True, related_name="certification"
    )
    name = models.CharField(max_length=200)
    grants = models.CharField(max_length=40, choices=Privilege.choices, blank=True)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    renewal = models.BooleanField(default=False)
    superseded_at = models.DateTimeField(null=True, blank=True)
    # The smallest reminder interval (days before expiry) already sent for this row.
    reminded_days = models.PositiveSmallIntegerField(null=True, blank=True)
    expiry_announced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "course"], condition=Q(superseded_at__isnull=True), name="certification_current_unique"
            ),
            models.CheckConstraint(condition=Q(expires_at__gt=models.F("issued_at")), name="certification_positive"),
        ]
        indexes = [
            # user_holds_privilege: one index probe.
            models.Index(fields=["user", "grants", "expires_at"], name="certification_holds_idx"),
            models.Index(fields=["grants", "expires_at"], name="certification_grants_idx"),
            models.Index(
                fields=["expires_at"], name="certification_current_idx", condition=Q(superseded_at__isnull=True)
            ),
            models.Index(
                fields=["expires_at"],
                name="certification_unannounced_idx",
                condition=Q(superseded_at__isnull=True, expiry_announced_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} for {self.user_id}"

    def is_valid(self, at: datetime | None = None) -> bool:
        at = at or timezone.now()
        return self.issued_at <= at < self.expires_at
