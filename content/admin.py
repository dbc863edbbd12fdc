"""Admin entries: for looking things up and fixing data by hand.

The workflow (submit, approve, reject, publish) is not offered here: it goes through the
services, so no one approves their own message from the admin either. Revisions, the audit
trail, shares and clicks are read-only.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from content.models import (
    Message,
    MessageEvent,
    MessageRevision,
    Share,
    ShareClick,
    Toolkit,
    ToolkitEvent,
    ToolkitItem,
    ToolkitItemUse,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RevisionInline(ReadOnlyInline):
    model = MessageRevision
    fields = ("number", "title", "author", "created_at")
    ordering = ("-number",)


class MessageEventInline(ReadOnlyInline):
    model = MessageEvent
    fields = ("at", "action", "actor", "revision", "comment")
    ordering = ("at", "id")


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("title", "status", "pending_status", "author", "publish_at", "expires_at", "updated_at")
    list_filter = ("status", "pending_status", "topics")
    search_fields = ("title", "body")
    list_select_related = ("author",)
    readonly_fields = (
        "author",
        "status",
        "pending_status",
        "revision",
        "latest_revision",
        "approved_at",
        "approved_by",
        "first_published_at",
        "created_at",
        "updated_at",
        "body_html",
    )
    fields = (
        "title",
        "body",
        "short_text",
        "long_text",
        "link_url",
        "topics",
        "audience",
        "publish_at",
        "expires_at",
        *readonly_fields,
    )
    filter_horizontal = ("topics", "audience")
    inlines = (RevisionInline, MessageEventInline)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # messages are written on the site, where they get revisions and review

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # edits go through the site so that each is a reviewed revision


@admin.register(Share)
class ShareAdmin(admin.ModelAdmin):
    list_display = ("message", "user", "department", "channel", "click_count", "created_at")
    list_filter = ("channel", "department")
    search_fields = ("message__title", "user__name", "code")
    list_select_related = ("message", "user", "department")
    readonly_fields = ("message", "user", "department", "channel", "code", "click_count", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(ShareClick)
class ShareClickAdmin(admin.ModelAdmin):
    list_display = ("share", "day", "clicked_at")
    list_filter = ("day",)
    readonly_fields = ("share", "visitor", "day", "clicked_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class ToolkitItemInline(admin.TabularInline):
    model = ToolkitItem
    extra = 0
    fields = ("position", "kind", "title", "message", "course", "file_name", "url")
    readonly_fields = ("kind", "message", "course", "file_name", "url")
    raw_id_fields = ("message", "course")


class ToolkitEventInline(ReadOnlyInline):
    model = ToolkitEvent
    fields = ("at", "action", "actor", "comment")


@admin.register(Toolkit)
class ToolkitAdmin(admin.ModelAdmin):
    list_display = ("title", "campaign", "status", "author", "publish_at", "expires_at", "updated_at")
    list_filter = ("status",)
    search_fields = ("title", "campaign")
    readonly_fields = (
        "author",
        "status",
        "approved_at",
        "approved_by",
        "first_published_at",
        "created_at",
        "updated_at",
    )
    filter_horizontal = ("audience",)
    inlines = (ToolkitItemInline, ToolkitEventInline)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ToolkitItemUse)
class ToolkitItemUseAdmin(admin.ModelAdmin):
    list_display = ("item", "toolkit", "user", "department", "day", "count")
    list_filter = ("day", "department")
    list_select_related = ("item", "toolkit", "user", "department")
    readonly_fields = ("item", "toolkit", "user", "department", "day", "count", "first_at", "last_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
