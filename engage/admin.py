"""Admin entries for looking things up: every page is read-only but the channel's.

Queries, answers, deliveries and insights change state only through ``engage.services``,
which record what goes with the change (a query's ``answered_at``, its participation
events, a delivery's attempts): an admin page that saved the row itself would leave them
out. A channel's name and outbound address are saved through ``channel_update``, which
checks the address (SSRF) as the API does; its secret is made and rotated by the API.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.forms import ModelForm
from django.http import HttpRequest

from config.admin import ReadOnlyAdmin, ReadOnlyInline, ServiceAdmin
from engage import services
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
class ChannelAdmin(ServiceAdmin[Channel]):
    list_display = ("name", "slug", "kind", "outbound_url", "created_at")
    search_fields = ("slug", "name")
    # The secret signs webhooks: it is shown once by the API and never here.
    fields = ("name", "outbound_url", "slug", "kind", "previous_secret_expires_at", "secret_rotated_at", "created_at")
    readonly_fields = ("slug", "kind", "previous_secret_expires_at", "secret_rotated_at", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # made through the API, which answers the secret once

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # its queries and deliveries point at it

    def save_model(self, request: HttpRequest, obj: Channel, form: ModelForm[Any], change: bool) -> None:
        data = form.cleaned_data
        services.channel_update(channel=obj, name=data["name"], outbound_url=data["outbound_url"])


@admin.register(Query)
class QueryAdmin(ReadOnlyAdmin[Query]):
    list_display = ("id", "channel", "external_id", "priority", "department", "state", "received_at", "sla_due_at")
    list_filter = ("state", "priority", "channel")
    search_fields = ("external_id", "text", "author_handle")
    raw_id_fields = ("claimed_by", "closed_by", "escalated_by")
    list_select_related = ("channel", "department")


@admin.register(Answer)
class AnswerAdmin(ReadOnlyAdmin[Answer]):
    list_display = ("id", "query", "author", "status", "published_at")
    list_filter = ("status",)
    raw_id_fields = ("query", "author", "reviewed_by")
    list_select_related = ("author", "query")


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin[Delivery]):
    list_display = ("id", "kind", "channel", "status", "attempts", "next_attempt_at", "last_status_code")
    list_filter = ("status", "kind")
    raw_id_fields = ("query", "answer", "insight")
    list_select_related = ("channel",)


class InsightStatusChangeInline(ReadOnlyInline):
    model = InsightStatusChange
    fields = ("from_status", "to_status", "changed_by", "changed_at")


@admin.register(Insight)
class InsightAdmin(ReadOnlyAdmin[Insight]):
    list_display = ("title", "status", "submitted_by", "created_at")
    list_filter = ("status",)
    raw_id_fields = ("submitted_by", "queries")
    inlines = [InsightStatusChangeInline]


@admin.register(ParticipationEvent)
class ParticipationEventAdmin(ReadOnlyAdmin[ParticipationEvent]):
    """The log is append-only."""

    list_display = ("occurred_at", "kind", "actor", "department", "object_type", "object_id")
    list_filter = ("kind",)
    raw_id_fields = ("actor",)


# Written by the phase engine's services (configuration changes go through
# ``/api/v1/phase/config/``, which audits them).


@admin.register(PhaseSnapshot)
class PhaseSnapshotAdmin(ReadOnlyAdmin[PhaseSnapshot]):
    list_display = ("day", "scope", "department", "phase", "raw_phase", "computed_at")
    list_filter = ("scope", "phase")
    date_hierarchy = "day"


@admin.register(PhaseConfig)
class PhaseConfigAdmin(ReadOnlyAdmin[PhaseConfig]):
    list_display = ("window_days", "stability_days")


@admin.register(PhaseConfigChange)
class PhaseConfigChangeAdmin(ReadOnlyAdmin[PhaseConfigChange]):
    list_display = ("changed_at", "changed_by")


@admin.register(DailyRollup)
class DailyRollupAdmin(ReadOnlyAdmin[DailyRollup]):
    list_display = ("day", "department", "kind", "count")
    list_filter = ("kind",)
    date_hierarchy = "day"


@admin.register(LeaderboardOptOut)
class LeaderboardOptOutAdmin(ReadOnlyAdmin[LeaderboardOptOut]):
    list_display = ("user",)
    raw_id_fields = ("user",)
