"""What every connector's inbound side produces: one message from a channel, validated.

A leaf module (models only), so that connectors, the webhook and the services all share
the one type without importing one another; ``engage.services`` re-exports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engage.models import Priority


@dataclass(frozen=True)
class Inbound:
    """A query (or a follow-up) as a channel delivered it, already validated."""

    external_id: str
    text: str
    author_handle: str
    author_name: str = ""
    url: str = ""
    sender_created_at: datetime | None = None
    priority: str = Priority.NORMAL
    # A follow-up's thread key (engage.threads): the external id that started the thread,
    # or any earlier message's external id. Both empty for a new query.
    thread_id: str = ""
    in_reply_to: str = ""

    def message_fields(self) -> dict[str, Any]:
        """What a query's row and each of its customer messages keep of this one, by field."""
        return {
            "external_id": self.external_id,
            "text": self.text,
            "author_handle": self.author_handle,
            "author_name": self.author_name,
            "url": self.url,
            "sender_created_at": self.sender_created_at,
        }
