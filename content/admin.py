"""Admin entries: for looking things up, all read-only.

The workflow (submit, approve, reject, publish) is not offered here: it goes through the
services, so no one approves their own message from the admin either. Messages, toolkits,
their revisions, the audit trail, shares, clicks and uses are what those services write.
"""

from __future__ import annotations

from django.contrib import admin

from config.admin import ReadOnlyAdmin, ReadOnlyInline
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


class RevisionInline(ReadOnlyInline):
    model = MessageRevision
    fields = ("number", "title", "author", "created_at")
    ordering = ("-number",)


class MessageEventInline(ReadOnlyInline):
    model = MessageEvent
    fields = ("at", "action", "actor", "revision", "comment")
    ordering = ("at", "id")


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin[Message]):
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


@admin.register(Share)
class ShareAdmin(ReadOnlyAdmin[Share]):
    list_display = ("message", "user", "department", "channel", "click_count", "created_at")
    list_filter = ("channel", "department")
    search_fields = ("message__title", "user__name", "code")
    list_select_related = ("message", "user", "department")
    readonly_fields = ("message", "user", "department", "channel", "code", "click_count", "created_at")


@admin.register(ShareClick)
class ShareClickAdmin(ReadOnlyAdmin[ShareClick]):
    list_display = ("share", "day", "clicked_at")
    list_filter = ("day",)
    readonly_fields = ("share", "visitor", "day", "clicked_at")


class ToolkitItemInline(ReadOnlyInline):
    model = ToolkitItem
    fields = ("position", "kind", "title", "message", "course", "file_name", "url")
    readonly_fields = ("kind", "message", "course", "file_name", "url")
    raw_id_fields = ("message", "course")


class ToolkitEventInline(ReadOnlyInline):
    model = ToolkitEvent
    fields = ("at", "action", "actor", "comment")


@admin.register(Toolkit)
class ToolkitAdmin(ReadOnlyAdmin[Toolkit]):
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


@admin.register(ToolkitItemUse)
class ToolkitItemUseAdmin(ReadOnlyAdmin[ToolkitItemUse]):
    list_display = ("item", "toolkit", "user", "department", "day", "count")
    list_filter = ("day", "department")
    list_select_related = ("item", "toolkit", "user", "department")
    readonly_fields = ("item", "toolkit", "user", "department", "day", "count", "first_at", "last_at")
