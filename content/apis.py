"""The messaging API (API.md, "Approved messaging"), one view per use case.

Views are thin: they parse input, call a service or a selector, and shape the answer.
Visibility comes first (404 from ``message_get_for_user``); then roles and rules (403);
then state (409, raised by the services as ``Conflict``).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, cast

from django.core.exceptions import PermissionDenied
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import RoleName
from accounts.permissions import role_required, signed_in
from config.api import validated
from config.errors import ServiceError
from config.input import JSONParser, MultiPartParser
from config.pagination import PaginatedAPIView
from content import selectors, services
from content.downloads import file_response
from content.models import Channel, Message, MessageEvent, MessageRevision, Share, Status

# --- Shared output shapes ----------------------------------------------------------------------


class PersonOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()


class VariantsSerializer(serializers.Serializer[Any]):
    short = serializers.CharField(
        required=False, allow_blank=True, max_length=280, help_text="A post that fits 280 characters (X)."
    )
    long = serializers.CharField(required=False, allow_blank=True, max_length=services.LONG_TEXT_MAX)


class RevisionRefOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    number = serializers.IntegerField()


def _person(user: Any) -> dict[str, Any] | None:
    return {"id": user.pk, "name": user.name} if user is not None else None


class RevisionOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    number = serializers.IntegerField()
    status = serializers.SerializerMethodField(
        help_text="`live` for the approved revision in effect; for the pending revision `draft` or `in_review`; "
        "otherwise `superseded` (or, before any approval, the message's own status)."
    )
    title = serializers.CharField()
    body = serializers.CharField()
    body_html = serializers.CharField(help_text="The body rendered from Markdown and sanitised.")
    topics = serializers.ListField(child=serializers.CharField())
    audience = serializers.ListField(child=serializers.CharField())
    link_url = serializers.CharField()
    variants = serializers.SerializerMethodField()
    publish_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    author = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    @extend_schema_field(OpenApiTypes.STR)
    def get_status(self, revision: MessageRevision) -> str:
        message: Message | None = self.context.get("message")
        if message is None:
            return ""
        if message.status in (Status.DRAFT, Status.IN_REVIEW):
            return message.status if revision.pk == message.latest_revision_id else "superseded"
        if revision.pk == message.revision_id:
            return "live"
        if revision.pk == message.latest_revision_id and message.pending_status:
            return message.pending_status
        return "superseded"

    @extend_schema_field(VariantsSerializer)
    def get_variants(self, revision: MessageRevision) -> dict[str, str]:
        return {"short": revision.short_text, "long": revision.long_text}

    @extend_schema_field(PersonOutput)
    def get_author(self, revision: MessageRevision) -> dict[str, Any] | None:
        return _person(revision.author)


class MessageOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    status = serializers.SerializerMethodField(
        help_text="`draft`, `in_review`, `scheduled`, `published` or `expired`, as of now (from the times)."
    )
    title = serializers.CharField()
    body = serializers.CharField()
    body_html = serializers.CharField(help_text="The body rendered from Markdown and sanitised.")
    topics = serializers.SerializerMethodField()
    audience = serializers.SerializerMethodField(help_text="Department slugs; empty means everyone.")
    link_url = serializers.CharField()
    variants = serializers.SerializerMethodField()
    publish_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    author = serializers.SerializerMethodField()
    revision = serializers.SerializerMethodField(
        help_text="The revision the fields above show (the live one once approved)."
    )
    pending_revision = serializers.SerializerMethodField(
        help_text="An edit of an approved message waiting for review (or sent back), shown to curators and reviewers."
    )
    approved_at = serializers.DateTimeField(allow_null=True)
    published_at = serializers.DateTimeField(source="first_published_at", allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    url = serializers.SerializerMethodField(help_text="The message's page.")

    @extend_schema_field(OpenApiTypes.STR)
    def get_status(self, message: Message) -> str:
        return message.status_at(self.context.get("now"))

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_topics(self, message: Message) -> list[str]:
        return sorted(topic.slug for topic in message.topics.all())

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_audience(self, message: Message) -> list[str]:
        return sorted(department.slug for department in message.audience.all())

    @extend_schema_field(VariantsSerializer)
    def get_variants(self, message: Message) -> dict[str, str]:
        return {"short": message.short_text, "long": message.long_text}

    @extend_schema_field(PersonOutput)
    def get_author(self, message: Message) -> dict[str, Any] | None:
        return _person(message.author)

    @extend_schema_field(RevisionRefOutput(allow_null=True))
    def get_revision(self, message: Message) -> dict[str, int] | None:
        if message.revision is None:
            return None
        return {"id": message.revision.pk, "number": message.revision.number}

    @extend_schema_field(RevisionOutput(allow_null=True))
    def get_pending_revision(self, message: Message) -> dict[str, Any] | None:
        if not message.has_pending_revision or not self.context.get("manager"):
            return None
        return dict(RevisionOutput(message.latest_revision, context={"message": message}).data)

    @extend_schema_field(OpenApiTypes.STR)
    def get_url(self, message: Message) -> str:
        from django.urls import reverse

        return reverse("content:message_detail", args=[message.pk])


class EventOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    action = serializers.CharField()
    actor = serializers.SerializerMethodField()
    revision = serializers.SerializerMethodField()
    comment = serializers.CharField()
    at = serializers.DateTimeField()

    @extend_schema_field(PersonOutput(allow_null=True))
    def get_actor(self, event: MessageEvent) -> dict[str, Any] | None:
        return _person(event.actor)

    @extend_schema_field(RevisionRefOutput(allow_null=True))
    def get_revision(self, event: MessageEvent) -> dict[str, int] | None:
        return {"id": event.revision.pk, "number": event.revision.number} if event.revision else None


class MessageDetailOutput(MessageOutput):
    last_review = serializers.SerializerMethodField(
        help_text="The latest rejection (who, when, the comment), shown to curators and reviewers."
    )

    @extend_schema_field(EventOutput(allow_null=True))
    def get_last_review(self, message: Message) -> dict[str, Any] | None:
        if not self.context.get("manager"):
            return None
        event = selectors.latest_rejection(message=message)
        return dict(EventOutput(event).data) if event else None


def _context(request: Request) -> dict[str, Any]:
    return {"now": timezone.now(), "manager": selectors.can_manage(signed_in(request)), "request": request}


def _detail(request: Request, message_id: int, *, code: int = status.HTTP_200_OK) -> Response:
    message = selectors.with_display(Message.objects.filter(pk=message_id)).get()
    return Response(MessageDetailOutput(message, context=_context(request)).data, status=code)


# --- Input --------------------------------------------------------------------------------------


class MessageInput(serializers.Serializer[Any]):
    title = serializers.CharField(max_length=services.TITLE_MAX)
    body = serializers.CharField(max_length=services.BODY_MAX, help_text="Markdown.")
    topics = serializers.ListField(child=serializers.SlugField(max_length=60), required=False, max_length=50)
    audience = serializers.ListField(
        child=serializers.SlugField(max_length=60),
        required=False,
        max_length=200,
        help_text="Department slugs; empty (the default) for everyone.",
    )
    link_url = serializers.URLField(required=False, allow_blank=True, max_length=500)
    variants = VariantsSerializer(required=False)
    publish_at = serializers.DateTimeField(required=False, allow_null=True)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


def _fields(data: dict[str, Any]) -> services.MessageFields:
    fields: dict[str, Any] = {k: v for k, v in data.items() if k != "variants"}
    variants = data.get("variants")
    if variants is not None:
        if "short" in variants:
            fields["short_text"] = variants["short"]
        if "long" in variants:
            fields["long_text"] = variants["long"]
    return cast(services.MessageFields, fields)


def _parse_day(value: str | None, *, field: str) -> datetime | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        day = None
    if day is None or not 1970 <= day.year <= 9000:
        raise ServiceError("Give a day as YYYY-MM-DD.", field=field)
    return timezone.make_aware(datetime.combine(day, time.min))


# --- Views ------------------------------------------------------------------------------------


class MessageListCreateApi(PaginatedAPIView):
    def get_permissions(self) -> list[Any]:
        if self.request.method == "POST":
            return [role_required(RoleName.CURATOR)()]
        return list(super().get_permissions())

    class FilterSerializer(serializers.Serializer[Any]):
        status = serializers.ChoiceField(choices=[*Status.values, "pending"], required=False)
        topic = serializers.SlugField(required=False)
        department = serializers.SlugField(required=False)
        mine = serializers.BooleanField(required=False, default=False)

    @extend_schema(
        operation_id="messages_list",
        parameters=[FilterSerializer],
        responses=MessageOutput(many=True),
        description="Employees see only published, unexpired messages meant for their department; "
        "curators and reviewers see all. `status=pending` lists what waits for review.",
    )
    def get(self, request: Request) -> Response:
        filters = validated(self.FilterSerializer, request.query_params)
        messages = selectors.message_list(user=signed_in(request), **filters)
        return self.paginated(request, messages, MessageOutput, context=_context(request))

    @extend_schema(operation_id="messages_create", request=MessageInput, responses={201: MessageDetailOutput})
    def post(self, request: Request) -> Response:
        data = validated(MessageInput, request.data)
        message = services.message_create(author=signed_in(request), fields=_fields(data))
        return _detail(request, message.pk, code=status.HTTP_201_CREATED)


class MessageDetailApi(APIView):
    @extend_schema(operation_id="messages_retrieve", responses=MessageDetailOutput)
    def get(self, request: Request, pk: int) -> Response:
        message = selectors.message_get_for_user(user=signed_in(request), id=pk)
        return _detail(request, message.pk)

    @extend_schema(
        operation_id="messages_update",
        request=MessageInput(partial=True),
        responses=MessageDetailOutput,
        description="Every edit is a new revision. An approved message stays live; the edit becomes its "
        "`pending_revision`, in review.",
    )
    def patch(self, request: Request, pk: int) -> Response:
        data = validated(MessageInput, request.data, partial=True)
        services.message_update(user=signed_in(request), message_id=pk, fields=_fields(data))
        return _detail(request, pk)


class MessageSubmitApi(APIView):
    @extend_schema(operation_id="messages_submit", request=None, responses=MessageDetailOutput)
    def post(self, request: Request, pk: int) -> Response:
        services.message_submit(user=signed_in(request), message_id=pk)
        return _detail(request, pk)


class ReviewInput(serializers.Serializer[Any]):
    revision = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=2**63 - 1,
        allow_null=True,
        help_text="The id of the revision the reviewer saw; 409 if the message changed since.",
    )


class MessageApproveApi(APIView):
    @extend_schema(
        operation_id="messages_approve",
        request=ReviewInput,
        responses=MessageDetailOutput,
        description="Reviewer who is not the author: `published`, or `scheduled` until `publish_at`. "
        "403 for the author; 409 when not in review or when `revision` is not the one in review.",
    )
    def post(self, request: Request, pk: int) -> Response:
        data = validated(ReviewInput, request.data)
        services.message_approve(user=signed_in(request), message_id=pk, revision_id=data.get("revision"))
        return _detail(request, pk)


class RejectInput(ReviewInput):
    comment = serializers.CharField(max_length=services.COMMENT_MAX)


class MessageRejectApi(APIView):
    @extend_schema(
        operation_id="messages_reject",
        request=RejectInput,
        responses=MessageDetailOutput,
        description="Back to `draft` (or, for an edit of a live message, the pending revision back to `draft`, "
        "the live one untouched); the comment is kept and sent to the author.",
    )
    def post(self, request: Request, pk: int) -> Response:
        data = validated(RejectInput, request.data)
        services.message_reject(
            user=signed_in(request),
            message_id=pk,
            comment=data["comment"],
            revision_id=data.get("revision"),
        )
        return _detail(request, pk)


class WithdrawInput(serializers.Serializer[Any]):
    comment = serializers.CharField(max_length=services.COMMENT_MAX, required=False, allow_blank=True)


class MessageWithdrawApi(APIView):
    @extend_schema(
        operation_id="messages_withdraw",
        request=WithdrawInput,
        responses=MessageDetailOutput,
        description="Curators and reviewers: take a published or scheduled message down now (it expires).",
    )
    def post(self, request: Request, pk: int) -> Response:
        data = validated(WithdrawInput, request.data)
        services.message_withdraw(user=signed_in(request), message_id=pk, comment=data.get("comment", ""))
        return _detail(request, pk)


def _managed_message(request: Request, pk: int) -> Message:
    message = selectors.message_get_for_user(user=signed_in(request), id=pk)
    if not selectors.can_manage(signed_in(request)):
        raise PermissionDenied("Revisions and history are for curators and reviewers.")
    return message


class MessageRevisionsApi(PaginatedAPIView):
    @extend_schema(operation_id="messages_revisions", responses=RevisionOutput(many=True))
    def get(self, request: Request, pk: int) -> Response:
        message = _managed_message(request, pk)
        revisions = selectors.message_revisions(message=message)
        return self.paginated(request, revisions, RevisionOutput, context={"message": message})


class MessageHistoryApi(PaginatedAPIView):
    @extend_schema(
        operation_id="messages_history",
        responses=EventOutput(many=True),
        description="The audit trail: who did what, when, with review comments; oldest first.",
    )
    def get(self, request: Request, pk: int) -> Response:
        message = _managed_message(request, pk)
        return self.paginated(request, selectors.message_events(message=message), EventOutput)


class ShareInput(serializers.Serializer[Any]):
    channel = serializers.ChoiceField(choices=Channel.values)


class ShareOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    url = serializers.SerializerMethodField(help_text="The tracking link: it redirects and counts a click.")
    channel = serializers.CharField()
    message = serializers.IntegerField(source="message_id")
    text = serializers.SerializerMethodField(help_text="Ready to post: the channel's variant and the link.")
    clicks = serializers.IntegerField(source="click_count")
    created_at = serializers.DateTimeField()

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, share: Share) -> str:
        return services.share_url(share)

    @extend_schema_field(OpenApiTypes.STR)
    def get_text(self, share: Share) -> str:
        return services.share_text(share.message, channel=share.channel, url=services.share_url(share))


class MessageShareApi(APIView):
    @extend_schema(
        operation_id="messages_share",
        request=ShareInput,
        responses={201: ShareOutput},
        description="Anyone who can see a published message: a tracking link for one channel.",
    )
    def post(self, request: Request, pk: int) -> Response:
        data = validated(ShareInput, request.data)
        share = services.share_create(user=signed_in(request), message_id=pk, channel=data["channel"])
        return Response(ShareOutput(share).data, status=status.HTTP_201_CREATED)


class MySharesApi(PaginatedAPIView):
    @extend_schema(operation_id="shares_mine", responses=ShareOutput(many=True))
    def get(self, request: Request) -> Response:
        return self.paginated(request, selectors.shares_for(user=signed_in(request)), ShareOutput)


class MessageSearchApi(APIView):
    class QuerySerializer(serializers.Serializer[Any]):
        q = serializers.CharField(max_length=10_000)
        limit = serializers.IntegerField(min_value=1, max_value=50, required=False, default=10)

    @extend_schema(
        operation_id="messages_search",
        parameters=[QuerySerializer],
        responses=inline_serializer("MessageSearchResults", {"results": MessageOutput(many=True)}),
        description="Published messages meant for you that match the words of `q` (any of them), best first.",
    )
    def get(self, request: Request) -> Response:
        query = validated(self.QuerySerializer, request.query_params)
        found = selectors.messages_search(user=signed_in(request), text=query["q"], limit=query["limit"])
        return Response({"results": MessageOutput(found, many=True, context=_context(request)).data})


class UsageApi(APIView):
    permission_classes = [role_required(RoleName.CURATOR, RoleName.REVIEWER)]

    @extend_schema(
        operation_id="messages_usage",
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE, description="First day (default: 30 days ago)."),
            OpenApiParameter("to", OpenApiTypes.DATE, description="Last day, inclusive (default: today)."),
        ],
        responses=inline_serializer(
            "ContentUsage",
            {
                "from": serializers.DateField(),
                "to": serializers.DateField(),
                "totals": serializers.DictField(child=serializers.IntegerField()),
                "messages": serializers.ListField(child=serializers.DictField()),
                "toolkits": serializers.ListField(child=serializers.DictField()),
            },
        ),
        description="Curators: which messages and toolkits were used, by which departments, and the clicks "
        "their shares drove.",
    )
    def get(self, request: Request) -> Response:
        since, until = usage_period(request.query_params.get("from"), request.query_params.get("to"))
        return Response(selectors.usage_report(since=since, until=until))


def usage_period(start: str | None, end: str | None) -> tuple[datetime, datetime]:
    """The half-open period ``[since, until)`` of the days asked for (default: the last 30)."""
    until_day = _parse_day(end, field="to")
    until = (
        (until_day + timedelta(days=1))
        if until_day
        else timezone.make_aware(datetime.combine(timezone.localdate() + timedelta(days=1), time.min))
    )
    since = _parse_day(start, field="from") or until - timedelta(days=30)
    if since >= until:
        raise ServiceError("`from` must not come after `to`.", field="from")
    if until - since > timedelta(days=731):
        raise ServiceError("At most two years at a time.", field="from")
    return since, until


# --- Toolkits --------------------------------------------------------------------------------


class ToolkitItemOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    position = serializers.IntegerField()
    kind = serializers.CharField(help_text="`message`, `course`, `file` or `link`.")
    title = serializers.CharField(source="display_title")
    note = serializers.CharField()
    message = serializers.IntegerField(source="message_id", allow_null=True)
    course = serializers.IntegerField(source="course_id", allow_null=True)
    url = serializers.SerializerMethodField(help_text="The link, or where to download the file.")
    file_name = serializers.CharField()
    file_size = serializers.IntegerField(allow_null=True)
    content_type = serializers.CharField()

    @extend_schema_field(OpenApiTypes.STR)
    def get_url(self, item: Any) -> str:
        from django.urls import reverse

        from content.models import ItemKind

        if item.kind == ItemKind.LINK:
            return str(item.url)
        if item.kind == ItemKind.FILE:
            return reverse("content_api:toolkit_item_file", args=[item.toolkit_id, item.pk])
        return ""


class ToolkitOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    status = serializers.SerializerMethodField()
    title = serializers.CharField()
    description = serializers.CharField()
    description_html = serializers.CharField()
    campaign = serializers.CharField()
    audience = serializers.SerializerMethodField(help_text="Department slugs; empty means everyone.")
    publish_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    author = serializers.SerializerMethodField()
    item_count = serializers.IntegerField(required=False)
    approved_at = serializers.DateTimeField(allow_null=True)
    published_at = serializers.DateTimeField(source="first_published_at", allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field(OpenApiTypes.STR)
    def get_status(self, toolkit: Any) -> str:
        return str(toolkit.status_at(self.context.get("now")))

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_audience(self, toolkit: Any) -> list[str]:
        return sorted(department.slug for department in toolkit.audience.all())

    @extend_schema_field(PersonOutput)
    def get_author(self, toolkit: Any) -> dict[str, Any] | None:
        return _person(toolkit.author)


class ToolkitDetailOutput(ToolkitOutput):
    items = serializers.SerializerMethodField()

    @extend_schema_field(ToolkitItemOutput(many=True))
    def get_items(self, toolkit: Any) -> list[dict[str, Any]]:
        items = selectors.toolkit_items(
            user=signed_in(self.context["request"]), toolkit=toolkit, now=self.context.get("now")
        )
        return list(ToolkitItemOutput(items, many=True).data)


def _toolkit_detail(request: Request, toolkit_id: int, *, code: int = status.HTTP_200_OK) -> Response:
    toolkit = selectors.toolkit_list(user=signed_in(request)).get(pk=toolkit_id)
    return Response(ToolkitDetailOutput(toolkit, context=_context(request)).data, status=code)


class ToolkitInput(serializers.Serializer[Any]):
    title = serializers.CharField(max_length=services.TITLE_MAX)
    description = serializers.CharField(
        max_length=services.DESCRIPTION_MAX, required=False, allow_blank=True, help_text="Markdown."
    )
    campaign = serializers.CharField(max_length=120, required=False, allow_blank=True)
    audience = serializers.ListField(child=serializers.SlugField(max_length=60), required=False, max_length=200)
    publish_at = serializers.DateTimeField(required=False, allow_null=True)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class ToolkitListCreateApi(PaginatedAPIView):
    def get_permissions(self) -> list[Any]:
        if self.request.method == "POST":
            return [role_required(RoleName.CURATOR)()]
        return list(super().get_permissions())

    class FilterSerializer(serializers.Serializer[Any]):
        status = serializers.ChoiceField(choices=[*Status.values, "pending"], required=False)

    @extend_schema(
        operation_id="toolkits_list",
        parameters=[FilterSerializer],
        responses=ToolkitOutput(many=True),
        description="Employees see live toolkits meant for their department; curators and reviewers see all.",
    )
    def get(self, request: Request) -> Response:
        filters = validated(self.FilterSerializer, request.query_params)
        toolkits = selectors.toolkit_list(user=signed_in(request), status=filters.get("status"))
        return self.paginated(request, toolkits, ToolkitOutput, context=_context(request))

    @extend_schema(operation_id="toolkits_create", request=ToolkitInput, responses={201: ToolkitDetailOutput})
    def post(self, request: Request) -> Response:
        data = validated(ToolkitInput, request.data)
        toolkit = services.toolkit_create(author=signed_in(request), fields=cast(services.ToolkitFields, dict(data)))
        return _toolkit_detail(request, toolkit.pk, code=status.HTTP_201_CREATED)


class ToolkitDetailApi(APIView):
    @extend_schema(operation_id="toolkits_retrieve", responses=ToolkitDetailOutput)
    def get(self, request: Request, pk: int) -> Response:
        toolkit = selectors.toolkit_get_for_user(user=signed_in(request), id=pk)
        return _toolkit_detail(request, toolkit.pk)

    @extend_schema(
        operation_id="toolkits_update",
        request=ToolkitInput(partial=True),
        responses=ToolkitDetailOutput,
        description="Drafts only (409 otherwise: reopen an approved toolkit first).",
    )
    def patch(self, request: Request, pk: int) -> Response:
        data = validated(ToolkitInput, request.data, partial=True)
        services.toolkit_update(
            user=signed_in(request),
            toolkit_id=pk,
            fields=cast(services.ToolkitFields, dict(data)),
        )
        return _toolkit_detail(request, pk)


class ToolkitItemInput(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=["message", "course", "file", "link"])
    message = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=2**63 - 1)
    course = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=2**63 - 1)
    url = serializers.CharField(required=False, allow_blank=True, max_length=500)
    file = serializers.FileField(required=False, allow_null=True, allow_empty_file=True, use_url=False)
    title = serializers.CharField(required=False, allow_blank=True, max_length=services.TITLE_MAX)
    note = serializers.CharField(required=False, allow_blank=True, max_length=services.NOTE_MAX)


class ToolkitItemsApi(APIView):
    parser_classes = [JSONParser, MultiPartParser]

    @extend_schema(
        operation_id="toolkits_items_add",
        request={"application/json": ToolkitItemInput, "multipart/form-data": ToolkitItemInput},
        responses={201: ToolkitItemOutput},
        description="Curators, drafts only. Files go as multipart (`kind=file`, `file`): at most 10 MB (413), "
        "and only PDF, images (PNG, JPEG, GIF, WebP), Office documents (docx, xlsx, pptx) and text "
        "(txt, csv, md) whose content matches the extension (400 otherwise).",
    )
    def post(self, request: Request, pk: int) -> Response:
        length = request.META.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > services.MAX_UPLOAD_BYTES + 64 * 1024:
            selectors.toolkit_get_for_user(user=signed_in(request), id=pk)  # visibility first
            return Response({"detail": "Files may be at most 10 MB.", "field": "file"}, status=413)
        data = validated(ToolkitItemInput, request.data)
        values = data
        try:
            item = services.toolkit_item_add(
                user=signed_in(request),
                toolkit_id=pk,
                kind=values["kind"],
                message_id=values.get("message"),
                course_id=values.get("course"),
                url=values.get("url", ""),
                upload=values.get("file"),
                title=values.get("title", ""),
                note=values.get("note", ""),
            )
        except services.UploadTooLarge as exc:
            return Response({"detail": exc.message, **exc.extra}, status=413)
        return Response(ToolkitItemOutput(item).data, status=status.HTTP_201_CREATED)


class ToolkitItemDetailApi(APIView):
    @extend_schema(operation_id="toolkits_items_remove", request=None, responses={204: None})
    def delete(self, request: Request, pk: int, item_id: int) -> Response:
        services.toolkit_item_remove(user=signed_in(request), toolkit_id=pk, item_id=item_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReorderInput(serializers.Serializer[Any]):
    item_ids = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**63 - 1), max_length=500)


class ToolkitReorderApi(APIView):
    @extend_schema(operation_id="toolkits_reorder", request=ReorderInput, responses=ToolkitDetailOutput)
    def post(self, request: Request, pk: int) -> Response:
        data = validated(ReorderInput, request.data)
        services.toolkit_items_reorder(user=signed_in(request), toolkit_id=pk, item_ids=data["item_ids"])
        return _toolkit_detail(request, pk)


class ToolkitSubmitApi(APIView):
    @extend_schema(
        operation_id="toolkits_submit",
        request=None,
        responses={
            200: ToolkitDetailOutput,
            400: OpenApiResponse(
                OpenApiTypes.OBJECT, description="A toolkit with no items: `field` is `items` (add one first)."
            ),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        services.toolkit_submit(user=signed_in(request), toolkit_id=pk)
        return _toolkit_detail(request, pk)


class ToolkitApproveApi(APIView):
    @extend_schema(
        operation_id="toolkits_approve",
        request=None,
        responses=ToolkitDetailOutput,
        description="A reviewer who is not the author: `published`, or `scheduled` until `publish_at`.",
    )
    def post(self, request: Request, pk: int) -> Response:
        services.toolkit_approve(user=signed_in(request), toolkit_id=pk)
        return _toolkit_detail(request, pk)


class ToolkitRejectApi(APIView):
    class InputSerializer(serializers.Serializer[Any]):
        comment = serializers.CharField(max_length=services.COMMENT_MAX)

    @extend_schema(operation_id="toolkits_reject", request=InputSerializer, responses=ToolkitDetailOutput)
    def post(self, request: Request, pk: int) -> Response:
        data = validated(self.InputSerializer, request.data)
        services.toolkit_reject(user=signed_in(request), toolkit_id=pk, comment=data["comment"])
        return _toolkit_detail(request, pk)


class ToolkitReopenApi(APIView):
    @extend_schema(
        operation_id="toolkits_reopen",
        request=None,
        responses=ToolkitDetailOutput,
        description="Curators: back to draft for editing; out of sight until approved again.",
    )
    def post(self, request: Request, pk: int) -> Response:
        services.toolkit_reopen(user=signed_in(request), toolkit_id=pk)
        return _toolkit_detail(request, pk)


class ToolkitItemUseApi(APIView):
    @extend_schema(
        operation_id="toolkits_items_use",
        request=None,
        responses={200: ToolkitItemOutput},
        description="Record that you used this item (counted once per person, item and day).",
    )
    def post(self, request: Request, pk: int, item_id: int) -> Response:
        item = services.toolkit_item_use(user=signed_in(request), toolkit_id=pk, item_id=item_id)
        return Response(ToolkitItemOutput(item).data)


class ToolkitItemFileApi(APIView):
    @extend_schema(
        operation_id="toolkits_items_file",
        responses={(200, "*/*"): OpenApiTypes.BINARY},
        description="Download a file item (counts as a use), with the content type checked at upload.",
    )
    def get(self, request: Request, pk: int, item_id: int) -> Any:
        from django.http import Http404

        item = services.toolkit_item_use(user=signed_in(request), toolkit_id=pk, item_id=item_id)
        if not item.file:
            raise Http404("This item is not a file.")
        return file_response(item)
