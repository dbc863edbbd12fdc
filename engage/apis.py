"""The community-queries API (API.md, "Community queries").

Thin views: input through a nested serializer, then a service (writes) or a selector
(reads). Visibility comes first (``*_get_for_user`` answers 404), then permission (403),
then input (400 naming the field), then state (409). Fields a caller may not write are
simply not read.

The inbound webhook is the one unauthenticated view: its signature is its
authentication, so it uses no session and needs no CSRF token.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.permissions import IsAdmin, signed_in
from config.api import UtcDateTimeField, validated
from config.errors import ServiceError
from config.pagination import MAX_PAGE_SIZE, Pagination
from config.policy import enforce
from engage import connectors, handoff, policy, ratings, selectors, services, signing, threads, webhooks
from engage.models import (
    Answer,
    AnswerRevision,
    AnswerStatus,
    Channel,
    ChannelKind,
    CloseReason,
    ConnectorKind,
    Delivery,
    DeliveryStatus,
    Insight,
    InsightStatus,
    Priority,
    Query,
    QueryNote,
    QueryStatus,
    RevisionOutcome,
)

DETAIL = inline_serializer("EngageDetail", {"detail": serializers.CharField()})
BAD_INPUT = OpenApiResponse(OpenApiTypes.OBJECT, description="Invalid input; field errors name the field.")
NOT_FOUND = OpenApiResponse(DETAIL, description="No such thing, or not yours to see.")
FORBIDDEN = OpenApiResponse(DETAIL, description="Visible, but not yours to do.")
CONFLICT = OpenApiResponse(OpenApiTypes.OBJECT, description="Not possible in the current state.")


class Text(serializers.CharField):
    """Text, and only text: a number or a boolean where text belongs is refused (400), not turned into words."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


def _input(
    serializer_class: type[serializers.Serializer[Any]], data: Any, *, check: Callable[[], object]
) -> dict[str, Any]:
    """The body checked by the documented input serializer, in API.md's order: when it is
    invalid, ``check`` (the view's visibility and permission checks: 404, then 403) runs
    first, so bad input never hides a 404 or a 403. Valid input costs ``check`` nothing, so
    the hot paths keep their statements (the service checks again, inside them).

    A 400 names its field as the services' do (``detail`` and ``field``), with every
    field's messages under ``errors``.
    """
    serializer = serializer_class(data=data)
    if serializer.is_valid():
        return dict(serializer.validated_data)
    check()
    errors = {name: [str(message) for message in messages] for name, messages in _flat(serializer.errors).items()}
    field, messages = next(iter(errors.items()))
    raise ServiceError(messages[0], field=field, errors=errors)


def _flat(errors: Any) -> dict[str, list[Any]]:
    flat: dict[str, list[Any]] = {}
    for name, value in errors.items():
        if isinstance(value, dict):  # a list's items: {index: [messages]}
            flat[name] = [message for item in value.values() for message in item]
        else:
            flat[name] = list(value)
    return flat


def _query_seen(user: User, query_id: int) -> Query:
    return selectors.query_get_for_user(user=user, id=query_id, related=False)


class _Paginated(APIView):
    pagination_class = Pagination  # the schema declares its lists paginated

    def paginated(self, request: Request, rows: Any, serializer_class: type[serializers.Serializer[Any]]) -> Response:
        paginator = Pagination()
        page: list[Any] = paginator.paginate_queryset(rows, request, view=self) or []
        return paginator.get_paginated_response(serializer_class(page, many=True).data)


# --- Output shapes: what the views answer, and the schema documents ------------------------------
#
# Every view answers through these, except the measured hot paths, which build their rows
# by hand: the queue (GET /api/v1/queries/), a claim, the inbound webhook and an answer's
# POST; tests/engage/test_output_rows.py holds each of those rows to its serializer here.
# Every moment is a ``UtcDateTimeField``, as the hand-built rows' are (config/api.py).


class RelatedValues(serializers.ListField):
    """A to-many relation as a list of one value of each related row, read from the rows the
    selector prefetched (no statement of its own); ``sort`` orders the values."""

    def __init__(self, *, attribute: str = "pk", sort: bool = False, **kwargs: Any) -> None:
        self.attribute, self.sort = attribute, sort
        super().__init__(**kwargs)

    def to_representation(self, data: Any) -> list[Any]:
        values = [getattr(row, self.attribute) for row in data.all()]
        return super().to_representation(sorted(values) if self.sort else values)


class QueryAuthorOutput(serializers.Serializer[Any]):
    handle = serializers.CharField(source="author_handle")
    name = serializers.CharField(source="author_name")


# A query as of the moment it is read (``context["now"]``, else now). Expects
# ``selectors.with_list_relations`` (or the same joins).
class QueryOutput(serializers.Serializer[Query]):
    id = serializers.IntegerField()
    channel = serializers.CharField(source="channel.slug", help_text="The channel's slug.")
    external_id = serializers.CharField()
    text = serializers.CharField()
    author = QueryAuthorOutput(source="*")
    url = serializers.CharField()
    created_at = UtcDateTimeField(
        source="sender_created_at", allow_null=True, help_text="The sender's time, for display only."
    )
    status = serializers.ChoiceField(
        source="state", choices=QueryStatus.choices, help_text="As of the moment it is read."
    )
    priority = serializers.ChoiceField(choices=Priority.choices)
    department = serializers.CharField(
        source="department.slug", allow_null=True, help_text="A slug; null until routed."
    )
    topics = RelatedValues(attribute="slug", child=serializers.CharField())
    claimed_by = serializers.IntegerField(source="claimed_by_id", allow_null=True)
    claimed_by_name = serializers.CharField(source="claimed_by.name", allow_null=True)
    claimed_until = UtcDateTimeField(allow_null=True)
    received_at = UtcDateTimeField()
    sla_due_at = UtcDateTimeField()
    answered_at = UtcDateTimeField(allow_null=True)
    close_reason = serializers.ChoiceField(choices=CloseReason.choices, allow_null=True)
    escalated_at = UtcDateTimeField(allow_null=True)

    def to_representation(self, instance: Query) -> dict[str, Any]:
        """The columns by their fields, then the status and the claim as shown now (the rule
        the queue's rows follow, ``selectors.shown_claim``) and no close reason as null."""
        data: dict[str, Any] = super().to_representation(instance)
        claim = selectors.shown_claim(
            state=instance.state,
            claimed_by_id=instance.claimed_by_id,
            claimed_until=instance.claimed_until,
            now=self.context.get("now") or timezone.now(),
        )
        data["status"] = claim.status
        data["claimed_by"] = claim.claimed_by
        if claim.claimed_by is None:
            data["claimed_by_name"] = None
        if claim.claimed_until is None:
            data["claimed_until"] = None
        data["close_reason"] = data["close_reason"] or None
        return data


class QueryPageOutput(serializers.Serializer[Any]):
    results = QueryOutput(many=True)
    next = serializers.CharField(allow_null=True)


# Expects ``selectors.with_answer_relations`` (or the same joins).
class AnswerOutput(serializers.Serializer[Answer]):
    id = serializers.IntegerField()
    query = serializers.IntegerField(source="query_id")
    author = serializers.IntegerField(source="author_id")
    author_name = serializers.CharField(source="author.name")
    body = serializers.CharField()
    body_html = serializers.CharField(help_text="Sanitised HTML.")
    status = serializers.ChoiceField(choices=AnswerStatus.choices)
    message_ids = RelatedValues(source="messages", child=serializers.IntegerField())
    created_at = UtcDateTimeField()
    submitted_at = UtcDateTimeField(allow_null=True)
    published_at = UtcDateTimeField(allow_null=True)
    review_comment = serializers.CharField()
    reviewed_by = serializers.IntegerField(source="reviewed_by_id", allow_null=True)
    reviewed_at = UtcDateTimeField(allow_null=True)


# Expects ``selectors.insight_list``'s joins.
class InsightOutput(serializers.Serializer[Insight]):
    id = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField()
    status = serializers.ChoiceField(choices=InsightStatus.choices)
    submitted_by = serializers.IntegerField(source="submitted_by_id")
    submitted_by_name = serializers.CharField(source="submitted_by.name")
    department = serializers.CharField(source="department.slug", allow_null=True)
    query_ids = RelatedValues(source="queries", sort=True, child=serializers.IntegerField())
    created_at = UtcDateTimeField()
    status_changed_at = UtcDateTimeField()


class InsightChangeOutput(serializers.Serializer[Any]):
    from_status = serializers.CharField(help_text="'' for the insight's first status.")
    to_status = serializers.ChoiceField(choices=InsightStatus.choices)
    changed_by = serializers.IntegerField(source="changed_by_id", allow_null=True)
    changed_at = UtcDateTimeField()


# ``history``: the insight's status changes the view read (``selectors.insight_history``).
class InsightDetailOutput(InsightOutput):
    history = InsightChangeOutput(many=True, help_text="Its status changes, oldest first.")


class ChannelOutput(serializers.Serializer[Channel]):
    id = serializers.IntegerField()
    slug = serializers.SlugField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=ChannelKind.choices)
    outbound_url = serializers.CharField()
    created_at = UtcDateTimeField()
    secret_rotated_at = UtcDateTimeField(allow_null=True)
    previous_secret_expires_at = UtcDateTimeField(allow_null=True)
    connector = serializers.ChoiceField(choices=ConnectorKind.choices, help_text="Addition: how it connects.")
    config = serializers.DictField(help_text="Addition: the connector's settings (never its credentials).")
    credentials_set = serializers.SerializerMethodField(
        help_text="Addition: the names of the credentials it holds; never their values."
    )
    inbound_path = serializers.SerializerMethodField(
        help_text="Addition: where its source sends events ('' for a polled mailbox)."
    )
    health = inline_serializer(
        "ChannelHealth",
        {
            "last_event_at": UtcDateTimeField(allow_null=True),
            "last_error": serializers.CharField(),
            "last_error_at": UtcDateTimeField(allow_null=True),
            "last_reply_at": UtcDateTimeField(allow_null=True),
        },
        source="*",
    )

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_credentials_set(self, channel: Channel) -> list[str]:
        return connectors.credentials_set(channel)

    def get_inbound_path(self, channel: Channel) -> str:
        return connectors.inbound_path(channel)


# Only for the views that make the secret (a new channel, a rotation): shown this once.
class ChannelWithSecretOutput(ChannelOutput):
    secret = serializers.CharField(help_text="Shown this once.")


# Expects ``selectors.delivery_list``'s joins.
class DeliveryOutput(serializers.Serializer[Delivery]):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    channel = serializers.CharField(source="channel.slug")
    query = serializers.IntegerField(source="query_id")
    answer = serializers.IntegerField(source="answer_id", allow_null=True)
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)
    attempts = serializers.IntegerField()
    next_attempt_at = UtcDateTimeField()
    last_error = serializers.CharField()
    last_status_code = serializers.IntegerField(allow_null=True)
    target = serializers.CharField()
    remote_id = serializers.CharField(
        help_text="Addition: the source's id of what was sent (a Discourse post id, a Slack ts, a Message-ID)."
    )
    created_at = UtcDateTimeField()
    delivered_at = UtcDateTimeField(allow_null=True)
    dead_at = UtcDateTimeField(allow_null=True)


def _query_output(query_id: int) -> dict[str, Any]:
    """A query a change answers with, read again with the list's joins."""
    return QueryOutput(selectors.with_list_relations(Query.objects.all()).get(pk=query_id)).data


# --- Channels ------------------------------------------------------------------------------------


class ChannelListApi(_Paginated):
    permission_classes = [IsAdmin]

    @extend_schema_serializer(component_name="ChannelListInput")
    class InputSerializer(serializers.Serializer[Any]):
        slug = serializers.SlugField(max_length=60)
        name = serializers.CharField(max_length=120)
        kind = serializers.ChoiceField(choices=ChannelKind.choices)
        outbound_url = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
        connector = serializers.ChoiceField(
            choices=ConnectorKind.choices, required=False, help_text="Addition: how it connects (default webhook)."
        )
        config = serializers.DictField(required=False, help_text="Addition: the connector's settings.")
        credentials = serializers.DictField(
            child=serializers.CharField(allow_blank=True, max_length=4000),
            required=False,
            help_text="Addition: the connector's credentials, stored encrypted and never shown again.",
        )

    @extend_schema(responses={200: ChannelOutput(many=True)}, summary="Channels (admins)")
    def get(self, request: Request) -> Response:
        return self.paginated(request, selectors.channel_list(), ChannelOutput)

    @extend_schema(
        request=InputSerializer,
        responses={201: ChannelWithSecretOutput, 400: BAD_INPUT},
        summary="Make a channel; its secret is answered once",
    )
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        channel, _secret = services.channel_create(**data)  # the channel holds it (``secret``)
        return Response(ChannelWithSecretOutput(channel).data, status=status.HTTP_201_CREATED)


class ChannelDetailApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema_serializer(component_name="ChannelDetailInput")
    class InputSerializer(serializers.Serializer[Any]):
        name = serializers.CharField(max_length=120, required=False)
        outbound_url = serializers.CharField(max_length=500, required=False, allow_blank=True)
        connector = serializers.ChoiceField(
            choices=ConnectorKind.choices, required=False, help_text="Addition: how it connects (default webhook)."
        )
        config = serializers.DictField(required=False, help_text="Addition: the connector's settings.")
        credentials = serializers.DictField(
            child=serializers.CharField(allow_blank=True, max_length=4000),
            required=False,
            help_text="Addition: the connector's credentials, stored encrypted and never shown again.",
        )

    @extend_schema(responses={200: ChannelOutput, 404: NOT_FOUND}, summary="A channel (never its secret)")
    def get(self, request: Request, slug: str) -> Response:
        return Response(ChannelOutput(selectors.channel_get(slug=slug)).data)

    @extend_schema(request=InputSerializer, responses={200: ChannelOutput, 400: BAD_INPUT, 404: NOT_FOUND})
    def patch(self, request: Request, slug: str) -> Response:
        channel = selectors.channel_get(slug=slug)
        data = validated(self.InputSerializer, request.data)
        channel = services.channel_update(channel=channel, **data)
        return Response(ChannelOutput(channel).data)


class ChannelRotateSecretApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        request=None,
        responses={200: ChannelWithSecretOutput, 404: NOT_FOUND},
        summary="A new secret, answered once; the previous one keeps working for 24 hours",
    )
    def post(self, request: Request, slug: str) -> Response:
        channel, _secret = services.channel_rotate_secret(channel=selectors.channel_get(slug=slug))
        return Response(ChannelWithSecretOutput(channel).data)


class WebhookInput(serializers.Serializer[Any]):
    """The body of API.md (documentation only: the view checks the raw bytes itself)."""

    external_id = serializers.CharField(max_length=255)
    text = serializers.CharField(max_length=10_000)
    author = inline_serializer(
        "WebhookAuthor", {"handle": serializers.CharField(), "name": serializers.CharField(required=False)}
    )
    url = serializers.URLField(required=False)
    created_at = serializers.DateTimeField(required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    thread_id = serializers.CharField(
        max_length=255,
        required=False,
        help_text="Addition: a follow-up on the thread started by this external id (outbound deliveries carry it).",
    )
    in_reply_to = serializers.CharField(
        max_length=255,
        required=False,
        help_text="Addition: a follow-up replying to this earlier message's external id.",
    )


WEBHOOK_RESULT = inline_serializer(
    "WebhookResult",
    {
        "id": serializers.IntegerField(help_text="The query (a follow-up's: the query it joined)."),
        "created": serializers.BooleanField(),
        "message_id": serializers.IntegerField(required=False, help_text="Follow-ups only: the stored message."),
        "reopened": serializers.BooleanField(required=False, help_text="Follow-ups only: it re-opened the query."),
    },
)


class ChannelWebhookApi(APIView):
    """A channel delivers a query. Checked in API.md's order; the first failure answers."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []

    @extend_schema(
        request=WebhookInput,
        parameters=[
            OpenApiParameter(signing.TIMESTAMP_HEADER, str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter(signing.SIGNATURE_HEADER, str, OpenApiParameter.HEADER, required=True),
        ],
        responses={
            201: WEBHOOK_RESULT,
            200: WEBHOOK_RESULT,
            400: BAD_INPUT,
            401: OpenApiResponse(DETAIL, description="Signature missing or wrong, or timestamp out of window."),
            404: NOT_FOUND,
            413: OpenApiResponse(DETAIL, description="Body over 64 KiB."),
        },
        auth=[],
        summary="Inbound webhook (signed)",
    )
    def post(self, request: Request, slug: str) -> Response:
        channel = selectors.channel_for_webhook(slug=slug)
        if channel is None:
            return Response({"detail": "No such channel."}, status=status.HTTP_404_NOT_FOUND)
        django_request = request._request
        too_large = Response({"detail": "The body is over 64 KiB."}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        if webhooks.too_large(django_request.META.get("CONTENT_LENGTH")):
            return too_large
        body = django_request.body
        if len(body) > webhooks.MAX_BODY_BYTES:
            return too_large
        headers = django_request.headers
        if not signing.verify(
            secrets_=channel.verifying_secrets(),
            timestamp=headers.get(signing.TIMESTAMP_HEADER),
            header=headers.get(signing.SIGNATURE_HEADER),
            body=body,
            now=time.time(),
        ):
            return Response(
                {"detail": "The signature is missing or wrong, or the timestamp is out of window."},
                status=status.HTTP_401_UNAUTHORIZED,
                headers={"WWW-Authenticate": 'Engage-Signature realm="webhook"'},
            )
        try:
            inbound = webhooks.parse(body)
        except webhooks.InvalidPayload as exc:
            return Response(exc.errors, status=status.HTTP_400_BAD_REQUEST)
        if inbound.thread_id or inbound.in_reply_to:
            follow_up = threads.followup_receive(channel=channel, inbound=inbound)
            if follow_up is not None:
                return Response(
                    {
                        "id": follow_up.query_id,
                        "created": follow_up.created,
                        "message_id": follow_up.message_id,
                        "reopened": follow_up.reopened,
                    },
                    status=status.HTTP_201_CREATED if follow_up.created else status.HTTP_200_OK,
                )
        query_id, created = services.query_receive(channel=channel, inbound=inbound)
        return Response(
            {"id": query_id, "created": created}, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


# --- Queries -------------------------------------------------------------------------------------


def _page_size(request: Request) -> int:
    raw = request.query_params.get("page_size")
    if raw in (None, ""):
        return Pagination.page_size
    try:
        size = int(raw)
    except ValueError:
        raise ServiceError("page_size must be a whole number.", field="page_size") from None
    if size < 1:
        raise ServiceError("page_size must be at least 1.", field="page_size")
    return min(size, MAX_PAGE_SIZE)


def _flag(raw: str | None) -> bool:
    return (raw or "").strip().lower() in {"1", "true", "yes", "on"}


class QueryListApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=QueryStatus.values),
            OpenApiParameter("department", str, description="A department slug, or `none` for unrouted."),
            OpenApiParameter("topic", str, description="A topic slug."),
            OpenApiParameter("mine", bool, description="Only what you hold."),
            OpenApiParameter("cursor", str, description="From `next`."),
            OpenApiParameter("page_size", int, description="At most 200."),
        ],
        responses={200: QueryPageOutput, 400: BAD_INPUT},
        summary="The queue: earliest due first, keyset-paginated",
        operation_id="queries_list",
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        now = timezone.now()
        page = None
        if not (params.get("topic") or _flag(params.get("mine"))):
            # The hot list: one statement on PostgreSQL (QUALITY.md, "Speed").
            page = selectors.queue_page_one_statement(
                user=signed_in(request), status=params.get("status") or None,
                department=params.get("department") or None,
                cursor=params.get("cursor") or None, page_size=_page_size(request), now=now,
            )  # fmt: skip
        if page is None:
            page = self._orm_page(request, now)
        next_url = None
        if page.next_cursor:
            query_string = {key: value for key, value in params.items() if key != "cursor"}
            query_string["cursor"] = page.next_cursor
            next_url = request.build_absolute_uri(request.path) + "?" + urlencode(query_string)
        return Response({"results": page.results, "next": next_url})

    def _orm_page(self, request: Request, now: datetime) -> selectors.QueueRows:
        params = request.query_params
        queries = selectors.query_list(
            user=signed_in(request),
            status=params.get("status") or None,
            department=params.get("department") or None,
            topic=params.get("topic") or None,
            mine=_flag(params.get("mine")),
            now=now,
        )
        # Plain rows, no model instances.
        return selectors.queue_page_rows(
            queries, cursor=params.get("cursor") or None, page_size=_page_size(request), now=now
        )


class QueryDetailApi(APIView):
    @extend_schema(responses={200: QueryOutput, 404: NOT_FOUND}, summary="One query")
    def get(self, request: Request, id: int) -> Response:
        return Response(QueryOutput(selectors.query_detail_for_user(user=signed_in(request), id=id)).data)


CLAIM_RESULT = inline_serializer(
    "ClaimResult", {"claimed_by": serializers.IntegerField(), "claimed_until": UtcDateTimeField()}
)
CLAIM_CONFLICT = inline_serializer(
    "ClaimConflict",
    {
        "detail": serializers.CharField(),
        "claimed_by": serializers.IntegerField(required=False, help_text="When someone else holds it."),
        "claimed_until": UtcDateTimeField(required=False, help_text="When someone else holds it."),
        "status": serializers.ChoiceField(choices=QueryStatus.choices, required=False, help_text="When not open."),
        "limit": serializers.IntegerField(required=False, help_text="When your cap of open claims is reached."),
    },
)


class QueryClaimApi(APIView):
    @extend_schema(
        request=None,
        responses={
            200: CLAIM_RESULT,
            404: NOT_FOUND,
            409: OpenApiResponse(
                CLAIM_CONFLICT, description="Held by another (with who and until when), not open, or your cap reached."
            ),
        },
        summary="Claim (or renew) the lease on a query",
    )
    def post(self, request: Request, id: int) -> Response:
        claim = services.query_claim(user=signed_in(request), query_id=id)
        return Response({"claimed_by": claim.claimed_by, "claimed_until": claim.claimed_until})


class QueryReleaseApi(APIView):
    @extend_schema(request=None, responses={200: QueryOutput, 404: NOT_FOUND, 409: CONFLICT}, summary="Release")
    def post(self, request: Request, id: int) -> Response:
        query = services.query_release(user=signed_in(request), query_id=id)
        return Response(_query_output(query.pk))


class QueryAnswersApi(_Paginated):
    @extend_schema_serializer(component_name="QueryAnswersInput")
    class InputSerializer(serializers.Serializer[Any]):
        body = Text(max_length=services.MAX_ANSWER_LENGTH)
        message_ids = serializers.ListField(
            child=serializers.IntegerField(),
            required=False,
            allow_empty=True,
            max_length=services.MAX_MESSAGES_PER_ANSWER,
        )

    @extend_schema(responses={200: AnswerOutput(many=True), 404: NOT_FOUND}, summary="Answers you may see")
    def get(self, request: Request, id: int) -> Response:
        query = selectors.query_get_for_user(user=signed_in(request), id=id)
        return self.paginated(request, selectors.answers_of_query(user=signed_in(request), query=query), AnswerOutput)

    @extend_schema(
        request=InputSerializer,
        responses={201: AnswerOutput, 400: BAD_INPUT, 404: NOT_FOUND, 409: CONFLICT},
        summary="Answer a query you hold (Markdown)",
    )
    def post(self, request: Request, id: int) -> Response:
        me = signed_in(request)
        data = _input(self.InputSerializer, request.data, check=lambda: _query_seen(me, id))
        answer = services.answer_submit(user=me, query_id=id, body=data["body"], message_ids=data.get("message_ids"))
        # The measured hot path (two statements): a row built by hand, held to AnswerOutput.
        return Response(selectors.answer_as_dict(answer), status=status.HTTP_201_CREATED)


class DraftOutput(serializers.Serializer[Any]):
    body = serializers.CharField()
    message_ids = serializers.ListField(child=serializers.IntegerField())
    review_comment = serializers.CharField()
    answer_id = serializers.IntegerField(allow_null=True)


class QueryDraftApi(APIView):
    @extend_schema_serializer(component_name="QueryDraftInput")
    class InputSerializer(serializers.Serializer[Any]):
        body = Text(
            max_length=services.MAX_ANSWER_LENGTH, allow_blank=True, trim_whitespace=False, required=False, default=""
        )
        message_ids = serializers.ListField(
            child=serializers.IntegerField(),
            required=False,
            allow_empty=True,
            max_length=services.MAX_MESSAGES_PER_ANSWER,
        )

    @extend_schema(responses={200: DraftOutput, 404: NOT_FOUND}, summary="Your unsent answer, offered back")
    def get(self, request: Request, id: int) -> Response:
        query = selectors.query_get_for_user(user=signed_in(request), id=id)
        draft = selectors.draft_offered_to(user=signed_in(request), query=query)
        if draft is None:
            return Response(DraftOutput({"body": "", "message_ids": [], "review_comment": "", "answer_id": None}).data)
        return Response(DraftOutput(draft).data)

    @extend_schema(request=InputSerializer, responses={200: DraftOutput, 400: BAD_INPUT, 404: NOT_FOUND, 409: CONFLICT})
    def put(self, request: Request, id: int) -> Response:
        me = signed_in(request)
        data = _input(self.InputSerializer, request.data, check=lambda: _query_seen(me, id))
        draft = services.query_draft_save(user=me, query_id=id, body=data["body"], message_ids=data.get("message_ids"))
        kept = {"body": draft.body, "message_ids": draft.message_ids, "review_comment": "", "answer_id": None}
        return Response(DraftOutput(kept).data)


class QueryEscalateApi(APIView):
    @extend_schema_serializer(component_name="QueryEscalateInput")
    class InputSerializer(serializers.Serializer[Any]):
        department = serializers.SlugField()
        note = Text(
            required=False, allow_blank=True, allow_null=True, default="", max_length=services.ESCALATION_NOTE_MAX
        )

    @extend_schema(
        request=InputSerializer,
        responses={200: QueryOutput, 400: BAD_INPUT, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
        summary="Escalate to another department (holder, reviewer)",
    )
    def post(self, request: Request, id: int) -> Response:
        me = signed_in(request)

        def check() -> None:
            enforce(policy.query_escalate(me, _query_seen(me, id), timezone.now()))

        data = _input(self.InputSerializer, request.data, check=check)
        query = services.query_escalate(user=me, query_id=id, department=data["department"], note=data["note"] or "")
        return Response(_query_output(query.pk))


class QueryCloseApi(APIView):
    @extend_schema_serializer(component_name="QueryCloseInput")
    class InputSerializer(serializers.Serializer[Any]):
        reason = serializers.ChoiceField(choices=CloseReason.choices)

    @extend_schema(
        request=InputSerializer,
        responses={200: QueryOutput, 400: BAD_INPUT, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
        summary="Close as spam, duplicate or no action (holder, reviewer)",
    )
    def post(self, request: Request, id: int) -> Response:
        me = signed_in(request)

        def check() -> None:
            enforce(policy.query_close(me, _query_seen(me, id), timezone.now()))

        data = _input(self.InputSerializer, request.data, check=check)
        query = services.query_close(user=me, query_id=id, reason=data["reason"])
        return Response(_query_output(query.pk))


class QueryHandoffApi(APIView):
    @extend_schema_serializer(component_name="QueryHandoffInput")
    class InputSerializer(serializers.Serializer[Any]):
        to = serializers.IntegerField(
            help_text="The id of the colleague who gets the claim; they must see the query.",
            error_messages=dict.fromkeys(("required", "null", "invalid"), "Choose the colleague to hand the query to."),
        )
        note = Text(required=False, allow_blank=True, allow_null=True, default="", max_length=handoff.MAX_NOTE_LENGTH)
        claimed_by = serializers.IntegerField(
            required=False,
            allow_null=True,
            help_text="The holder you saw (null for nobody): if the claim moved since, 409 with who holds it now.",
        )

    @extend_schema(
        request=InputSerializer,
        responses={
            200: QueryOutput,
            400: BAD_INPUT,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: OpenApiResponse(
                CLAIM_CONFLICT,
                description="Not open or claimed, already theirs, their cap of open claims reached (`limit`), "
                "or the claim changed meanwhile (with who holds it now).",
            ),
        },
        summary="Hand the claim to a colleague (holder, reviewer); an addition to API.md",
        description="The colleague gets the claim with a fresh lease, within their cap, and a notification. "
        "Drafts stay with their authors.",
    )
    def post(self, request: Request, id: int) -> Response:
        me = signed_in(request)

        def check() -> None:
            refusal = policy.query_hand_off(me, _query_seen(me, id), timezone.now())
            said_held = isinstance(request.data, dict) and str(request.data.get("claimed_by")) == str(me.pk)
            if not said_held:  # who says they hold it and no longer does is told who does (409, the service)
                enforce(refusal, conflicts=False)

        data = _input(self.InputSerializer, request.data, check=check)
        made = handoff.query_handoff(
            user=me, query_id=id, to=data["to"], note=data["note"], expected=data.get("claimed_by", handoff.UNSET)
        )
        return Response(_query_output(made.query_id))


# --- Conversations (additions: README, "Additions to the API contract") ---------------------------


# One entry of a thread; what each field reads depends on the entry's kind (``_ThreadItem``).
class ThreadEntryOutput(serializers.Serializer[threads.ThreadEntry]):
    kind = serializers.ChoiceField(
        choices=[("message", "Customer message"), ("answer", "Published answer"), ("note", "Internal note")]
    )
    id = serializers.IntegerField(allow_null=True, help_text="The message's, answer's or note's id.")
    at = UtcDateTimeField(help_text="Received, published or written.")
    turn = serializers.IntegerField(allow_null=True, help_text="Messages and answers: the customer turn.")
    external_id = serializers.CharField(allow_null=True, help_text="Messages: the channel's id of it.")
    in_reply_to = serializers.CharField(allow_null=True, help_text="Answers: the external id of the message answered.")
    author = serializers.CharField(help_text="Messages: the customer's handle; answers and notes: the employee's name.")
    author_id = serializers.IntegerField(allow_null=True, help_text="Answers and notes: the employee.")
    text = serializers.CharField(help_text="Messages: as sent; answers and notes: the Markdown source.")
    html = serializers.CharField(allow_null=True, help_text="Answers and notes: sanitised HTML.")
    mentions = serializers.ListField(child=serializers.IntegerField(), help_text="Notes: the people mentioned.")

    def to_representation(self, instance: threads.ThreadEntry) -> dict[str, Any]:
        """The entry's own fields by its kind's serializer; a field its kind has not is null
        (``mentions``: empty)."""
        shown = _THREAD_ITEMS[instance.kind](instance, context=self.context).data
        return {name: shown.get(name, [] if name == "mentions" else None) for name, _field in self.fields.items()}


class _ThreadItem(serializers.Serializer[threads.ThreadEntry]):
    kind = serializers.CharField()
    id = serializers.IntegerField(source="item.pk", allow_null=True)
    at = UtcDateTimeField()


class _ThreadMessage(_ThreadItem):
    turn = serializers.IntegerField(source="item.turn")
    external_id = serializers.CharField(source="item.external_id")
    author = serializers.CharField(source="item.author_handle")
    text = serializers.CharField(source="item.text")


# An entry a colleague wrote: an answer or a note.
class _ThreadWritten(_ThreadItem):
    author = serializers.CharField(source="item.author.name")
    author_id = serializers.IntegerField(source="item.author_id")
    text = serializers.CharField(source="item.body")
    html = serializers.CharField(source="item.body_html")


class _ThreadAnswer(_ThreadWritten):
    turn = serializers.IntegerField(source="item.turn")
    in_reply_to = serializers.CharField(source="item.in_reply_to.external_id", allow_null=True)


class _ThreadNote(_ThreadWritten):
    mentions = RelatedValues(source="item.mentions", sort=True, child=serializers.IntegerField())


_THREAD_ITEMS: dict[str, type[_ThreadItem]] = {"message": _ThreadMessage, "answer": _ThreadAnswer, "note": _ThreadNote}


# Expects ``threads.notes_of``'s joins.
class NoteOutput(serializers.Serializer[QueryNote]):
    id = serializers.IntegerField()
    query = serializers.IntegerField(source="query_id")
    author = serializers.IntegerField(source="author_id")
    author_name = serializers.CharField(source="author.name")
    body = serializers.CharField()
    body_html = serializers.CharField()
    mentions = RelatedValues(sort=True, child=serializers.IntegerField())
    created_at = UtcDateTimeField()


class QueryThreadApi(_Paginated):
    @extend_schema(
        responses={200: ThreadEntryOutput(many=True), 404: NOT_FOUND},
        summary="The conversation: customer messages, published answers and internal notes, oldest first",
    )
    def get(self, request: Request, id: int) -> Response:
        query = selectors.query_get_for_user(user=signed_in(request), id=id)
        return self.paginated(request, threads.thread_of(user=signed_in(request), query=query), ThreadEntryOutput)


class QueryNotesApi(_Paginated):
    @extend_schema_serializer(component_name="QueryNoteInput")
    class InputSerializer(serializers.Serializer[Any]):
        body = Text(
            max_length=threads.MAX_NOTE_LENGTH,
            help_text="Markdown; `@name` (an email's part before the @) or `@email` mentions a colleague who can see "
            "the query.",
        )

    @extend_schema(responses={200: NoteOutput(many=True), 404: NOT_FOUND}, summary="The query's internal notes")
    def get(self, request: Request, id: int) -> Response:
        query = selectors.query_get_for_user(user=signed_in(request), id=id)
        return self.paginated(request, threads.notes_of(query), NoteOutput)

    @extend_schema(
        request=InputSerializer,
        responses={201: NoteOutput, 400: BAD_INPUT, 404: NOT_FOUND},
        summary="Leave an internal note; the people it mentions are told (in the app and by mail, by their choice)",
    )
    def post(self, request: Request, id: int) -> Response:
        me = signed_in(request)

        def check() -> None:
            enforce(policy.note_add(me, _query_seen(me, id), timezone.now()))

        data = _input(self.InputSerializer, request.data, check=check)
        note = threads.note_add(user=me, query_id=id, body=data["body"])
        return Response(NoteOutput(note).data, status=status.HTTP_201_CREATED)


class AnswerRevisionOutput(serializers.Serializer[AnswerRevision]):
    number = serializers.IntegerField()
    author = serializers.IntegerField(source="author_id")
    body = serializers.CharField()
    body_html = serializers.CharField()
    message_ids = serializers.ListField(child=serializers.IntegerField())
    submitted_at = UtcDateTimeField()
    outcome = serializers.ChoiceField(choices=RevisionOutcome.choices)
    comment = serializers.CharField(help_text="The reviewer's, when sent back.")
    reviewed_by = serializers.IntegerField(source="reviewed_by_id", allow_null=True)
    reviewed_at = UtcDateTimeField(allow_null=True)


class AnswerRevisionsApi(_Paginated):
    @extend_schema(
        responses={200: AnswerRevisionOutput(many=True), 403: FORBIDDEN, 404: NOT_FOUND},
        summary="Every submission of an answer and its review decision (its author and reviewers)",
    )
    def get(self, request: Request, id: int) -> Response:
        answer = selectors.answer_get_for_user(user=signed_in(request), id=id)
        enforce(policy.answer_revisions_see(signed_in(request), answer))
        return self.paginated(request, threads.revisions_of(answer), AnswerRevisionOutput)


# --- Answers -------------------------------------------------------------------------------------


class AnswerListApi(_Paginated):
    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=AnswerStatus.values),
            OpenApiParameter("reviewable", bool, description="The reviewers' queue: awaiting review, not yours."),
        ],
        responses={200: AnswerOutput(many=True), 400: BAD_INPUT},
        summary="Answers you may see",
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        if _flag(params.get("reviewable")):
            answers = (
                selectors.review_queue(user=signed_in(request)) if policy.is_reviewer(signed_in(request)) else None
            )
            if answers is None:
                return Response({"detail": "Only reviewers have a review queue."}, status=status.HTTP_403_FORBIDDEN)
        else:
            answers = selectors.with_answer_relations(selectors.answers_visible_to(signed_in(request))).order_by(
                "-created_at", "-id"
            )
            answer_status = params.get("status")
            if answer_status:
                if answer_status not in AnswerStatus.values:
                    raise ServiceError(f"status must be one of {', '.join(AnswerStatus.values)}", field="status")
                answers = answers.filter(status=answer_status)
        return self.paginated(request, answers, AnswerOutput)


class AnswerDetailApi(APIView):
    @extend_schema(responses={200: AnswerOutput, 404: NOT_FOUND}, summary="One answer")
    def get(self, request: Request, id: int) -> Response:
        return Response(AnswerOutput(selectors.answer_get_for_user(user=signed_in(request), id=id)).data)


# An answer's rating, read from the answer (``ratings.rating_of_answer`` gives it its
# ``rating``, or none): unrated, the rating's fields are null and the comment empty.
class RatingOutput(serializers.Serializer[Answer]):
    answer = serializers.IntegerField(source="pk")
    rated = serializers.SerializerMethodField(help_text="Whether the customer has rated the answer.")
    score = serializers.IntegerField(source="rating.score", allow_null=True, min_value=1, max_value=5)
    comment = serializers.SerializerMethodField(help_text="Plain text, as the customer wrote it (markup removed).")
    created_at = UtcDateTimeField(source="rating.created_at", allow_null=True, help_text="When it was first rated.")
    updated_at = UtcDateTimeField(
        source="rating.updated_at", allow_null=True, help_text="When the rating last changed."
    )

    def get_rated(self, answer: Answer) -> bool:
        return hasattr(answer, "rating")

    def get_comment(self, answer: Answer) -> str:
        return answer.rating.comment if hasattr(answer, "rating") else ""


class AnswerRatingApi(APIView):
    @extend_schema(
        responses={200: RatingOutput, 404: NOT_FOUND},
        summary="The customer's rating of an answer (anyone who can see the answer); an addition to API.md",
        description="Customers rate a published answer 1 to 5 through the `rating_url` of its outbound delivery.",
    )
    def get(self, request: Request, id: int) -> Response:
        answer, _rating = ratings.rating_of_answer(user=signed_in(request), answer_id=id)  # the answer holds it
        return Response(RatingOutput(answer).data)


class AnswerApproveApi(APIView):
    @extend_schema(
        request=None,
        responses={200: AnswerOutput, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
        summary="Approve and publish (a reviewer who is not the author)",
    )
    def post(self, request: Request, id: int) -> Response:
        return Response(AnswerOutput(services.answer_approve(user=signed_in(request), answer_id=id)).data)


class AnswerRejectApi(APIView):
    @extend_schema_serializer(component_name="AnswerRejectInput")
    class InputSerializer(serializers.Serializer[Any]):
        comment = Text(max_length=services.REVIEW_COMMENT_MAX)

    @extend_schema(
        request=InputSerializer,
        responses={200: AnswerOutput, 400: BAD_INPUT, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
        summary="Send back to the author with a comment (a reviewer who is not the author)",
    )
    def post(self, request: Request, id: int) -> Response:
        me = signed_in(request)

        def check() -> None:
            enforce(policy.answer_review(me, selectors.answer_get_for_user(user=me, id=id)), conflicts=False)

        data = _input(self.InputSerializer, request.data, check=check)
        answer = services.answer_reject(user=me, answer_id=id, comment=data["comment"])
        return Response(AnswerOutput(answer).data)


# --- Insights ------------------------------------------------------------------------------------


class InsightListApi(_Paginated):
    @extend_schema_serializer(component_name="InsightListInput")
    class InputSerializer(serializers.Serializer[Any]):
        title = serializers.CharField(max_length=200)
        description = serializers.CharField(required=False, allow_blank=True, default="", max_length=10_000)
        query_ids = serializers.ListField(child=serializers.IntegerField(), allow_empty=False)

    @extend_schema(
        parameters=[OpenApiParameter("status", str, enum=InsightStatus.values)],
        responses={200: InsightOutput(many=True)},
        summary="The insights board",
    )
    def get(self, request: Request) -> Response:
        insight_status = request.query_params.get("status") or None
        if insight_status and insight_status not in InsightStatus.values:
            raise ServiceError(f"status must be one of {', '.join(InsightStatus.values)}", field="status")
        return self.paginated(request, selectors.insight_list(status=insight_status), InsightOutput)

    @extend_schema(
        request=InputSerializer, responses={201: InsightOutput, 400: BAD_INPUT}, summary="Turn queries into an insight"
    )
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        insight = services.insight_create(user=signed_in(request), **data)
        return Response(InsightOutput(insight).data, status=status.HTTP_201_CREATED)


class InsightDetailApi(APIView):
    @extend_schema(responses={200: InsightDetailOutput, 404: NOT_FOUND}, summary="One insight, with its history")
    def get(self, request: Request, id: int) -> Response:
        insight = selectors.insight_get_for_user(user=signed_in(request), id=id)
        insight.history = list(selectors.insight_history(insight=insight))  # type: ignore[attr-defined]
        return Response(InsightDetailOutput(insight).data)


class InsightStatusApi(APIView):
    @extend_schema_serializer(component_name="InsightStatusInput")
    class InputSerializer(serializers.Serializer[Any]):
        status = serializers.ChoiceField(choices=[s.value for s in services.MOVABLE_INSIGHT_STATUSES])

    @extend_schema(
        request=InputSerializer,
        responses={200: InsightOutput, 400: BAD_INPUT, 403: FORBIDDEN, 404: NOT_FOUND},
        summary="Move an insight (members of a product department, admins)",
    )
    def post(self, request: Request, id: int) -> Response:
        selectors.insight_get_for_user(user=signed_in(request), id=id)
        enforce(policy.insight_move(signed_in(request)))
        data = validated(self.InputSerializer, request.data)
        insight = services.insight_set_status(user=signed_in(request), insight_id=id, status=data["status"])
        return Response(InsightOutput(insight).data)


# --- Deliveries ----------------------------------------------------------------------------------


class DeliveryListApi(_Paginated):
    permission_classes = [IsAdmin]

    @extend_schema(
        parameters=[OpenApiParameter("status", str, enum=DeliveryStatus.values)],
        responses={200: DeliveryOutput(many=True), 400: BAD_INPUT},
        summary="Outbound deliveries (admins); `?status=dead` lists the dead letters",
    )
    def get(self, request: Request) -> Response:
        delivery_status = request.query_params.get("status") or None
        if delivery_status and delivery_status not in DeliveryStatus.values:
            raise ServiceError(f"status must be one of {', '.join(DeliveryStatus.values)}", field="status")
        return self.paginated(request, selectors.delivery_list(status=delivery_status), DeliveryOutput)


class DeliveryDetailApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses={200: DeliveryOutput, 404: NOT_FOUND}, summary="One delivery (admins)")
    def get(self, request: Request, id: int) -> Response:
        delivery = selectors.delivery_list().filter(pk=id).first()
        if delivery is None:
            return Response({"detail": "No such delivery."}, status=status.HTTP_404_NOT_FOUND)
        return Response(DeliveryOutput(delivery).data)


class DeliveryRetryApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        request=None,
        responses={200: DeliveryOutput, 404: NOT_FOUND, 409: CONFLICT},
        summary="Send a dead letter again (admins)",
    )
    def post(self, request: Request, id: int) -> Response:
        services.delivery_retry(delivery_id=id)
        return Response(DeliveryOutput(selectors.delivery_list().get(pk=id)).data)
