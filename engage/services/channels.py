"""Channels: creation, settings and the rotation of their signing secrets."""

from __future__ import annotations

import re
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from config.errors import ServiceError
from engage import connectors, outbound, signing
from engage.models import (
    Channel,
    ChannelKind,
    ConnectorKind,
)
from engage.services.common import SECRET_OVERLAP

CHANNEL_SLUG_MAX = 60
CHANNEL_NAME_MAX = 120
_CHANNEL_SLUG = re.compile(r"[-a-zA-Z0-9_]+")


def _channel_slug(slug: object) -> str:
    """A slug as a channel's webhook address carries it: letters, digits, ``-`` and ``_``."""
    if not isinstance(slug, str) or not slug.strip():
        raise ServiceError("A channel needs a slug.", field="slug")
    slug = slug.strip()
    if len(slug) > CHANNEL_SLUG_MAX:
        raise ServiceError(f"A slug is at most {CHANNEL_SLUG_MAX} characters (this one has {len(slug)}).", field="slug")
    if not _CHANNEL_SLUG.fullmatch(slug):
        raise ServiceError(
            "A slug uses only letters, digits, hyphens and underscores (it is part of the webhook's address).",
            field="slug",
        )
    return slug


def _channel_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ServiceError("A channel needs a name.", field="name")
    name = name.strip()
    if len(name) > CHANNEL_NAME_MAX:
        raise ServiceError(f"A name is at most {CHANNEL_NAME_MAX} characters (this one has {len(name)}).", field="name")
    return name


def _connector_settings(
    *, connector: str, config: Any, credentials: Any, channel: Channel | None = None
) -> tuple[dict[str, Any], str]:
    """A channel's connector settings checked (``engage.connectors.clean``), as 400s naming the field."""
    same = channel is not None and channel.connector == connector
    try:
        return connectors.clean(
            kind=connector,
            config=config,
            credentials=credentials,
            stored_config=channel.config if channel is not None and same else None,
            stored=channel.credentials if channel is not None and same else "",
        )
    except connectors.Invalid as exc:
        raise ServiceError(str(exc), field=exc.field) from None


def channel_create(
    *,
    slug: str,
    name: str,
    kind: str,
    outbound_url: str = "",
    connector: str = ConnectorKind.WEBHOOK,
    config: Any = None,
    credentials: Any = None,
) -> tuple[Channel, str]:
    """Make a channel; returns it and its secret, which is shown this once.

    ``connector`` says how it talks to its source (``engage.connectors``); ``config`` and
    ``credentials`` are the settings that connector asks for, the credentials sealed.
    """
    slug = _channel_slug(slug)
    name = _channel_name(name)
    if kind not in ChannelKind.values:
        raise ServiceError(
            "Choose what kind of channel it is: "
            + ", ".join(f"{label.lower()} ({value})" for value, label in ChannelKind.choices)
            + ".",
            field="kind",
        )
    try:
        outbound_url = outbound.validate_url(outbound_url or "")
    except outbound.OutboundRefused as exc:
        raise ServiceError(str(exc), field="outbound_url") from None
    config, sealed = _connector_settings(connector=connector, config=config, credentials=credentials)
    secret = signing.new_secret()
    try:
        with transaction.atomic():
            channel = Channel.objects.create(
                slug=slug,
                name=name,
                kind=kind,
                outbound_url=outbound_url,
                secret=secret,
                connector=connector,
                config=config,
                credentials=sealed,
            )
    except IntegrityError:
        raise ServiceError(f"A channel with slug {slug!r} already exists.", field="slug") from None
    return channel, secret


def channel_update(
    *,
    channel: Channel,
    name: str | None = None,
    outbound_url: str | None = None,
    connector: str | None = None,
    config: Any = None,
    credentials: Any = None,
) -> Channel:
    """Change what is given. Connector settings left out keep their values, and so does a
    credential left out or empty (credentials are never sent back to be re-entered)."""
    fields = []
    if connector is not None or config is not None or credentials is not None:
        kind = connector or channel.connector
        channel.config, channel.credentials = _connector_settings(
            connector=kind, config=config, credentials=credentials, channel=channel
        )
        channel.connector = kind
        fields += ["connector", "config", "credentials"]
    if name is not None:
        channel.name = _channel_name(name)
        fields.append("name")
    if outbound_url is not None:
        try:
            channel.outbound_url = outbound.validate_url(outbound_url)
        except outbound.OutboundRefused as exc:
            raise ServiceError(str(exc), field="outbound_url") from None
        fields.append("outbound_url")
    if fields:
        channel.save(update_fields=fields)
    return channel


def channel_rotate_secret(*, channel: Channel) -> tuple[Channel, str]:
    """A new secret; the one it replaces keeps verifying inbound webhooks for 24 hours."""
    now = timezone.now()
    secret = signing.new_secret()
    with transaction.atomic():
        locked = Channel.objects.select_for_update().get(pk=channel.pk)
        locked.previous_secret = locked.secret
        locked.previous_secret_expires_at = now + SECRET_OVERLAP
        locked.secret = secret
        locked.secret_rotated_at = now
        locked.save(update_fields=["previous_secret", "previous_secret_expires_at", "secret", "secret_rotated_at"])
    return locked, secret
