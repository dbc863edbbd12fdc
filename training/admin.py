"""Admin entries: courses with their modules, lessons and questions; attempts,
certifications and enrollments to look up (changing those goes through the services)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from training.models import Attempt, Certification, Course, Enrollment, Lesson, Module, Question


class ModuleInline(admin.TabularInline):
    model = Module
    extra = 0
    fields = ["position", "title"]
    show_change_link = True


class LessonInline(admin.StackedInline):
    model = Lesson
    extra = 0


class QuestionInline(admin.StackedInline):
    model = Question
    extra = 0


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ["title", "status", "required", "due_days", "pass_mark", "certification_name", "published_at"]
    list_filter = ["status", "required", "certification_grants"]
    search_fields = ["title"]
    filter_horizontal = ["audience"]
    readonly_fields = ["created_at", "updated_at", "published_at", "published_by", "created_by"]
    inlines = [ModuleInline]


@admin.register(Module)
class ModuleAdmin(admin.ModelAdmin):
    list_display = ["title", "course", "position"]
    list_select_related = ["course"]
    search_fields = ["title", "course__title"]
    inlines = [LessonInline, QuestionInline]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Attempt)
class AttemptAdmin(ReadOnlyAdmin):
    list_display = ["user", "course", "score", "passed", "created_at"]
    list_filter = ["passed", "course"]
    list_select_related = ["user", "course"]
    search_fields = ["user__email", "user__name", "course__title"]
    date_hierarchy = "created_at"


@admin.register(Certification)
class CertificationAdmin(ReadOnlyAdmin):
    list_display = ["user", "name", "grants", "issued_at", "expires_at", "renewal", "superseded_at"]
    list_filter = ["grants", "renewal", "course"]
    list_select_related = ["user", "course"]
    search_fields = ["user__email", "user__name", "name"]
    date_hierarchy = "expires_at"


@admin.register(Enrollment)
class EnrollmentAdmin(ReadOnlyAdmin):
    list_display = ["user", "course", "assigned_at", "due_on", "completed_at", "overdue_at"]
    list_filter = ["required", "course"]
    list_select_related = ["user", "course"]
    search_fields = ["user__email", "user__name", "course__title"]
