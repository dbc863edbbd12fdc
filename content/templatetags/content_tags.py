"""Template helpers of content pages."""

from __future__ import annotations

import secrets

from django import template

register = template.Library()


@register.simple_tag
def share_request_key() -> str:
    """A fresh key for one rendering of the share buttons (their idempotency key)."""
    return secrets.token_urlsafe(18)
