"""Connectors: how a channel hears its source and answers it, one module each.

``REGISTRY`` maps each :class:`engage.models.ConnectorKind` to its connector
(:class:`engage.connectors.base.Connector`). To add one: a ``ConnectorKind`` value, a
module here with its settings, ``check`` and ``send`` (and its inbound side producing
:class:`engage.inbound.Inbound`), and one line below; ARCHITECTURE.md has the steps.
This module imports no service: ``engage.services`` calls :func:`send` from
``delivery_attempt``, and the inbound views call ``engage.connectors.receipt``.
"""

from __future__ import annotations

from typing import Any

from engage import outbound
from engage.connectors import discourse, mail, slack, webhook
from engage.connectors.base import Connector, Invalid, Reply, Setting
from engage.connectors.vault import Unreadable, seal, unseal
from engage.models import Channel, ConnectorKind, Delivery

REGISTRY: dict[str, Connector] = {
    ConnectorKind.WEBHOOK: webhook.connector,
    ConnectorKind.DISCOURSE: discourse.connector,
    ConnectorKind.SLACK: slack.connector,
    ConnectorKind.EMAIL: mail.connector,
}

__all__ = ["REGISTRY", "Invalid", "Reply", "Setting", "clean", "get", "send"]


def get(kind: str) -> Connector:
    try:
        return REGISTRY[kind]
    except KeyError:
        raise Invalid(f"Choose how the channel connects: {', '.join(sorted(REGISTRY))}.", field="connector") from None


def _value(setting: Setting, raw: Any, field: str) -> Any:
    if setting.type == "bool":
        if not isinstance(raw, bool):
            raise Invalid("Must be true or false.", field=field)
        return raw
    if setting.type == "int":
        if isinstance(raw, str) and raw.strip().isdigit():
            raw = int(raw.strip())
        if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= 65535:
            raise Invalid("Must be a whole number from 1 to 65535.", field=field)
        return raw
    if setting.type == "list":
        if isinstance(raw, str):
            raw = [item for item in (part.strip() for part in raw.replace("\n", ",").split(",")) if item]
        if not isinstance(raw, list) or not all(isinstance(item, str) and item.strip() for item in raw):
            raise Invalid("Must be a list of non-empty strings.", field=field)
        if len(raw) > 100:
            raise Invalid("At most 100 items.", field=field)
        return [item.strip()[:255] for item in raw]
    if not isinstance(raw, str):
        raise Invalid("Must be a string.", field=field)
    value = raw.strip()
    if len(value) > 500:
        raise Invalid("At most 500 characters.", field=field)
    if setting.choices and value not in setting.choices:
        raise Invalid(f"Must be one of {', '.join(setting.choices)}.", field=field)
    return value


def _empty(raw: Any) -> bool:
    return raw is None or raw == "" or raw == []


def clean(
    *, kind: str, config: Any, credentials: Any, stored_config: dict[str, Any] | None = None, stored: str = ""
) -> tuple[dict[str, Any], str]:
    """A channel's ``config`` and sealed ``credentials`` for connector ``kind``, checked.

    On an edit, ``stored_config`` and ``stored`` (the sealed credentials) are the channel's
    present ones: a setting left out keeps its value, and a credential left out or empty
    keeps the stored secret, which is never sent back. ``Invalid`` names the field
    (``config.base_url``, ``credentials.api_key``).
    """
    connector = get(kind)
    config = _object(config, field="config", known=connector.config, kind=kind)
    credentials = _object(credentials, field="credentials", known=connector.credentials, kind=kind)
    cleaned = _clean_config(connector, kind=kind, config=config, previous=stored_config or {})
    secrets = _clean_credentials(connector, kind=kind, credentials=credentials, stored=stored)
    connector.check(config=cleaned)
    return cleaned, seal(secrets)


def _object(raw: Any, *, field: str, known: tuple[Setting, ...], kind: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise Invalid("Must be an object.", field=field)
    names = {setting.name for setting in known}
    for name in raw:
        if name not in names:
            raise Invalid(f"{kind} channels have no {field} {name!r}.", field=f"{field}.{name}")
    return raw


def _clean_config(
    connector: Connector, *, kind: str, config: dict[str, Any], previous: dict[str, Any]
) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for setting in connector.config:
        field = f"config.{setting.name}"
        raw = config.get(setting.name)
        if _empty(raw):
            raw = previous.get(setting.name, setting.default)
        if _empty(raw):
            if setting.required:
                raise Invalid(f"Required for {kind} channels: {setting.label.lower()}.", field=field)
            continue
        cleaned[setting.name] = _value(setting, raw, field)
    return cleaned


def _clean_credentials(connector: Connector, *, kind: str, credentials: dict[str, Any], stored: str) -> dict[str, str]:
    try:
        secrets = unseal(stored) if stored else {}
    except Unreadable:
        secrets = {}  # replaced below, or reported as missing
    for setting in connector.credentials:
        field = f"credentials.{setting.name}"
        raw = credentials.get(setting.name)
        if not _empty(raw):
            if not isinstance(raw, str) or len(raw) > 4000:
                raise Invalid("Must be a string of at most 4000 characters.", field=field)
            secrets[setting.name] = raw.strip()
        elif setting.required and not secrets.get(setting.name):
            raise Invalid(f"Required for {kind} channels: {setting.label.lower()}.", field=field)
    known = {s.name for s in connector.credentials}
    return {name: value for name, value in secrets.items() if name in known}


def credentials_set(channel: Channel) -> list[str]:
    """The names of the credentials a channel holds (their values are never shown)."""
    try:
        return sorted(unseal(channel.credentials))
    except Unreadable:
        return []


INBOUND_PATHS = {
    ConnectorKind.WEBHOOK: "/api/v1/channels/{slug}/webhook/",
    ConnectorKind.DISCOURSE: "/api/v1/channels/{slug}/discourse/",
    ConnectorKind.SLACK: "/api/v1/channels/{slug}/slack/events/",
}


def inbound_path(channel: Channel) -> str:
    """Where the channel's source sends its events; empty for a connector that polls."""
    return INBOUND_PATHS.get(ConnectorKind(channel.connector), "").format(slug=channel.slug)


def send(*, channel: Channel, delivery: Delivery, payload: dict[str, Any]) -> outbound.Outcome:
    """Post a delivery (its ``payload`` as the signed webhook would carry it) through the
    channel's connector: the hook of ``engage.services.delivery_attempt``. Never raises."""
    reply = Reply.of(delivery=delivery, payload=payload)
    connector = REGISTRY.get(channel.connector)
    if connector is None:
        return outbound.Outcome(ok=False, target=channel.connector, error="unknown connector", permanent=True)
    try:
        credentials = unseal(channel.credentials)
    except Unreadable as exc:
        return outbound.Outcome(ok=False, target=channel.connector, error=str(exc), permanent=True)
    return connector.send(channel=channel, credentials=credentials, reply=reply)
