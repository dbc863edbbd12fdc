from django.contrib import admin

from engage.models import (
    Answer,
    Channel,
    DailyRollup,
    Delivery,
    Insight,
    InsightStatusChange,
    LeaderboardOptOut,
    ParticipationEvent,
    PhaseConfig,
    PhaseConfigChange,
    PhaseSnapshot,
    Query,
)


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "kind", "outbound_url", "created_at")
    search_fields = ("slug", "name")
    # The secret signs webhooks: it is shown once by the API and never here.
    exclude = ("secret", "previous_secret")
    readonly_fields = ("previous_secret_expires_at", "secret_rotated_at", "created_at")

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False  # made through the API, which answers the secret once


@admin.register(Query)
class QueryAdmin(admin.ModelAdmin):
    list_display = ("id", "channel", "external_id", "priority", "department", "state", "received_at", "sla_due_at")
    list_filter = ("state", "priority", "channel")
    search_fields = ("external_id", "text", "author_handle")
    raw_id_fields = ("claimed_by", "closed_by", "escalated_by")
    list_select_related = ("channel", "department")


@admin.register(Answer)
class AnswerAdmin(admin.ModelAdmin):
    list_display = ("id", "query", "author", "status", "published_at")
    list_filter = ("status",)
    raw_id_fields = ("query", "author", "reviewed_by")
    list_select_related = ("author", "query")


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "channel", "status", "attempts", "next_attempt_at", "last_status_code")
    list_filter = ("status", "kind")
    raw_id_fields = ("query", "answer", "insight")
    list_select_related = ("channel",)


class InsightStatusChangeInline(admin.TabularInline):
    model = InsightStatusChange
    extra = 0
    readonly_fields = ("from_status", "to_status", "changed_by", "changed_at")
    can_delete = False


@admin.register(Insight)
class InsightAdmin(admin.ModelAdmin):
    list_display = ("title", "status", "submitted_by", "created_at")
    list_filter = ("status",)
    raw_id_fields = ("submitted_by", "queries")
    inlines = [InsightStatusChangeInline]


@admin.register(ParticipationEvent)
class ParticipationEventAdmin(admin.ModelAdmin):
    """Read-only: the log is append-only."""

    list_display = ("occurred_at", "kind", "actor", "department", "object_type", "object_id")
    list_filter = ("kind",)
    raw_id_fields = ("actor",)

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown, never edited here: these rows are written by the phase engine's services
    (configuration changes go through ``/api/v1/phase/config/``, which audits them)."""

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(PhaseSnapshot)
class PhaseSnapshotAdmin(ReadOnlyAdmin):
    list_display = ("day", "scope", "department", "phase", "raw_phase", "computed_at")
    list_filter = ("scope", "phase")
    date_hierarchy = "day"


@admin.register(PhaseConfig)
class PhaseConfigAdmin(ReadOnlyAdmin):
    list_display = ("window_days", "stability_days")


@admin.register(PhaseConfigChange)
class PhaseConfigChangeAdmin(ReadOnlyAdmin):
    list_display = ("changed_at", "changed_by")


@admin.register(DailyRollup)
class DailyRollupAdmin(ReadOnlyAdmin):
    list_display = ("day", "department", "kind", "count")
    list_filter = ("kind",)
    date_hierarchy = "day"


@admin.register(LeaderboardOptOut)
class LeaderboardOptOutAdmin(admin.ModelAdmin):
    list_display = ("user",)
    raw_id_fields = ("user",)
