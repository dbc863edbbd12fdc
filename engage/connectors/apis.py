"""The connectors' inbound endpoints: each checks its source's signature, then hands the
events it carries to :mod:`engage.connectors.receipt`. Unauthenticated (the signature is
the authentication), unthrottled, and answered fast: routing and notifications are jobs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from engage import webhooks
from engage.connectors import discourse, receipt, slack, vault
from engage.models import Channel, ConnectorKind

DETAIL = inline_serializer("ConnectorDetail", {"detail": serializers.CharField()})
RESULT = inline_serializer(
    "ConnectorEventResult",
    {
        "id": serializers.IntegerField(allow_null=True, help_text="The query the event reached, if any."),
        "created": serializers.BooleanField(),
        "duplicate": serializers.BooleanField(help_text="The source sent this event before: nothing done."),
        "ignored": serializers.CharField(required=False, help_text="Why the event asked for nothing."),
        "deferred": serializers.BooleanField(
            required=False, help_text="Kept to be stored shortly, unless its fuller message comes first."
        ),
    },
)


def _channel(slug: str, kind: str) -> Channel | None:
    return Channel.objects.filter(slug=slug, connector=kind).first()


def _body(request: Request) -> bytes | None:
    """The raw body, or None when it is over 64 KiB."""
    django_request = request._request
    if webhooks.too_large(django_request.META.get("CONTENT_LENGTH")):
        return None
    body = django_request.body
    return None if len(body) > webhooks.MAX_BODY_BYTES else body


def _secret(channel: Channel, name: str) -> str:
    try:
        return vault.unseal(channel.credentials).get(name, "")
    except vault.Unreadable as exc:
        receipt.channel_failed(channel=channel, error=str(exc))
        return ""


def _signed(
    request: Request, *, slug: str, kind: str, name: str, verify: Callable[[Channel, bytes], bool], refused: str
) -> tuple[Channel, bytes] | Response:
    """The channel and raw body of a signed inbound request, or its refusal, in this order:
    404 (no channel of this connector by that slug), 413 (over 64 KiB), 401 (the signature)."""
    channel = _channel(slug, kind)
    if channel is None:
        return Response({"detail": f"No such {name} channel."}, status=status.HTTP_404_NOT_FOUND)
    body = _body(request)
    if body is None:
        return Response({"detail": "The body is over 64 KiB."}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if not verify(channel, body):
        return Response({"detail": refused}, status=status.HTTP_401_UNAUTHORIZED)
    return channel, body


def _result(received: receipt.Received) -> Response:
    code = status.HTTP_201_CREATED if received.created else status.HTTP_200_OK
    return Response(
        {"id": received.query_id, "created": received.created, "duplicate": received.duplicate}, status=code
    )


class DiscourseWebhookApi(APIView):
    """Discourse's outgoing webhook (``topic_created``, ``post_created``) for one channel."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        parameters=[
            OpenApiParameter(discourse.EVENT_HEADER, str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter(discourse.EVENT_ID_HEADER, str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter(
                discourse.SIGNATURE_HEADER,
                str,
                OpenApiParameter.HEADER,
                required=True,
                description="sha256=<hex HMAC-SHA256 of the body under the webhook's secret>",
            ),
        ],
        responses={
            201: RESULT,
            200: RESULT,
            202: OpenApiResponse(
                RESULT, description="topic_created: opens the topic in a minute, unless its first post does."
            ),
            400: OpenApiResponse(OpenApiTypes.OBJECT, description="Not JSON, or a field Engage needs is missing."),
            401: OpenApiResponse(DETAIL, description="Signature missing or wrong."),
            404: OpenApiResponse(DETAIL, description="No Discourse channel with this slug."),
            413: OpenApiResponse(DETAIL, description="Body over 64 KiB."),
        },
        auth=[],
        summary="Inbound Discourse webhook (signed)",
    )
    def post(self, request: Request, slug: str) -> Response:
        headers = request._request.headers
        signed = _signed(
            request,
            slug=slug,
            kind=ConnectorKind.DISCOURSE,
            name="Discourse",
            verify=lambda channel, body: discourse.verify(
                secret=_secret(channel, "webhook_secret"), body=body, header=headers.get(discourse.SIGNATURE_HEADER)
            ),
            refused="The signature is missing or wrong.",
        )
        if isinstance(signed, Response):
            return signed
        channel, body = signed
        event = (headers.get(discourse.EVENT_HEADER) or "").strip()
        event_id = (headers.get(discourse.EVENT_ID_HEADER) or "").strip()
        if event not in discourse.EVENTS:
            receipt.channel_heard(channel=channel)  # a ping, or an event the webhook should not send
            return Response({"id": None, "created": False, "duplicate": False, "ignored": f"event {event or 'none'}"})
        try:
            parsed = discourse.parse(
                event=event,
                body=body,
                base_url=str(channel.config.get("base_url", "")),
                api_username=str(channel.config.get("api_username", "")),
            )
        except discourse.PayloadInvalid as exc:
            return Response(exc.errors, status=status.HTTP_400_BAD_REQUEST)
        if parsed.inbound is None:
            duplicate = event_id and not receipt.event_seen(channel=channel, event_id=event_id)
            return Response({"id": None, "created": False, "duplicate": bool(duplicate), "ignored": parsed.ignored})
        if parsed.deferred:
            first = receipt.receive_later(
                channel=channel,
                inbound=parsed.inbound,
                event_id=f"discourse:{event_id}" if event_id else "",
                delay_seconds=discourse.TOPIC_WAIT_SECONDS,
            )
            return Response(
                {"id": None, "created": False, "duplicate": not first, "deferred": True},
                status=status.HTTP_202_ACCEPTED if first else status.HTTP_200_OK,
            )
        received = receipt.receive(
            channel=channel,
            inbound=parsed.inbound,
            opens_as=parsed.opens_as,
            event_id=event_id and f"discourse:{event_id}",
        )
        return _result(received)


class SlackEventsApi(APIView):
    """Slack's Events API for one channel: the URL check, then message events."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        parameters=[
            OpenApiParameter("X-Slack-Request-Timestamp", str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter(
                "X-Slack-Signature",
                str,
                OpenApiParameter.HEADER,
                required=True,
                description="v0=<hex HMAC-SHA256 of v0:{timestamp}:{body} under the signing secret>",
            ),
            OpenApiParameter(slack.RETRY_HEADER, int, OpenApiParameter.HEADER, required=False),
        ],
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="{challenge} for url_verification; else the event's result (as for Discourse).",
            ),
            201: RESULT,
            400: OpenApiResponse(OpenApiTypes.OBJECT, description="Not JSON, or a field Engage needs is missing."),
            401: OpenApiResponse(DETAIL, description="Signature missing or wrong, or timestamp over 5 minutes off."),
            404: OpenApiResponse(DETAIL, description="No Slack channel with this slug."),
            413: OpenApiResponse(DETAIL, description="Body over 64 KiB."),
        },
        auth=[],
        summary="Inbound Slack events (signed)",
    )
    def post(self, request: Request, slug: str) -> Response:
        signed = _signed(
            request,
            slug=slug,
            kind=ConnectorKind.SLACK,
            name="Slack",
            verify=lambda channel, body: slack.verify(
                signing_secret=_secret(channel, "signing_secret"), body=body, headers=request._request.headers
            ),
            refused="The signature is missing or wrong, or the timestamp is over 5 minutes off.",
        )
        if isinstance(signed, Response):
            return signed
        channel, body = signed
        try:
            event = slack.parse(
                body=body,
                channel_ids=list(channel.config.get("channel_ids") or []),
                bot_user_id=str(channel.config.get("bot_user_id") or ""),
            )
        except slack.PayloadInvalid as exc:
            return Response(exc.errors, status=status.HTTP_400_BAD_REQUEST)
        if event.kind == "challenge":
            receipt.channel_heard(channel=channel)
            return Response({"challenge": event.challenge})
        event_key = f"slack:{event.event_id}" if event.event_id else ""
        if event.inbound is None:
            duplicate = bool(event_key) and not receipt.event_seen(channel=channel, event_id=event_key)
            return Response({"id": None, "created": False, "duplicate": duplicate, "ignored": event.ignored})
        received = receipt.receive(channel=channel, inbound=event.inbound, opens_as=event.opens_as, event_id=event_key)
        return _result(received)
