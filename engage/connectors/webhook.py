"""The signed webhook (API.md): queries arrive at ``/api/v1/channels/{slug}/webhook/``
(``engage.webhooks``) and answers are POSTed, signed, to the channel's ``outbound_url``
(``engage.outbound``). Its settings are the channel's own ``outbound_url`` and ``secret``."""

from __future__ import annotations

from typing import Any

from engage import outbound
from engage.connectors.base import Reply, Setting
from engage.models import Channel, ConnectorKind


class WebhookConnector:
    kind = ConnectorKind.WEBHOOK.value
    config: tuple[Setting, ...] = ()
    credentials: tuple[Setting, ...] = ()

    def check(self, *, config: dict[str, Any]) -> None:
        return None

    def send(self, *, channel: Channel, credentials: dict[str, str], reply: Reply) -> outbound.Outcome:
        return outbound.post_signed(
            channel.outbound_url, reply.payload, secret=channel.secret, delivery_id=str(reply.delivery.pk)
        )


connector = WebhookConnector()
