"""Admin entries to look things up: courses with their modules, lessons and questions;
attempts, certifications and enrollments. All read-only: courses are written, versioned,
published and archived on /training/manage/ through ``training.services``, and attempts,
certifications and enrollments are what those services record."""

from __future__ import annotations

from django.contrib import admin

from config.admin import ReadOnlyAdmin, ReadOnlyInline, ReadOnlyStackedInline
from training.models import Attempt, Certification, Course, Enrollment, Lesson, Module, Question


class ModuleInline(ReadOnlyInline):
    model = Module
    fields = ["position", "title"]
    show_change_link = True


class LessonInline(ReadOnlyStackedInline):
    model = Lesson


class QuestionInline(ReadOnlyStackedInline):
    model = Question


@admin.register(Course)
class CourseAdmin(ReadOnlyAdmin[Course]):
    list_display = ["title", "status", "required", "due_days", "pass_mark", "certification_name", "published_at"]
    list_filter = ["status", "required", "certification_grants"]
    search_fields = ["title"]
    filter_horizontal = ["audience"]
    readonly_fields = ["created_at", "updated_at", "published_at", "published_by", "created_by"]
    inlines = [ModuleInline]


@admin.register(Module)
class ModuleAdmin(ReadOnlyAdmin[Module]):
    list_display = ["title", "course", "position"]
    list_select_related = ["course"]
    search_fields = ["title", "course__title"]
    inlines = [LessonInline, QuestionInline]


@admin.register(Attempt)
class AttemptAdmin(ReadOnlyAdmin[Attempt]):
    list_display = ["user", "course", "score", "passed", "created_at"]
    list_filter = ["passed", "course"]
    list_select_related = ["user", "course"]
    search_fields = ["user__email", "user__name", "course__title"]
    date_hierarchy = "created_at"


@admin.register(Certification)
class CertificationAdmin(ReadOnlyAdmin[Certification]):
    list_display = ["user", "name", "grants", "issued_at", "expires_at", "renewal", "superseded_at"]
    list_filter = ["grants", "renewal", "course"]
    list_select_related = ["user", "course"]
    search_fields = ["user__email", "user__name", "name"]
    date_hierarchy = "expires_at"


@admin.register(Enrollment)
class EnrollmentAdmin(ReadOnlyAdmin[Enrollment]):
    list_display = ["user", "course", "assigned_at", "due_on", "completed_at", "overdue_at"]
    list_filter = ["required", "course"]
    list_select_related = ["user", "course"]
    search_fields = ["user__email", "user__name", "course__title"]
