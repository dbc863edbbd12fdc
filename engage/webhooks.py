"""The inbound webhook's checks, in API.md's order: size, signature, then the body.

Kept apart from the view so the web layer only maps each failure to its status code.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any
from urllib.parse import urlsplit

from django.utils.dateparse import parse_datetime

from config.input import InputRejected, loads_json
from engage.models import Priority
from engage.services import Inbound

MAX_BODY_BYTES = 64 * 1024
MAX_TEXT = 10_000
MAX_EXTERNAL_ID = 255
MAX_HANDLE = 255
MAX_URL = 2000


class InvalidPayload(Exception):
    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


def too_large(content_length: str | None) -> bool:
    """Whether the declared length alone says the body is over the limit."""
    if not content_length:
        return False
    try:
        return int(content_length) > MAX_BODY_BYTES
    except ValueError:
        return False


def _optional_str(data: dict[str, Any], key: str, limit: int, errors: dict[str, list[str]], prefix: str = "") -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        errors[prefix + key] = ["Must be a string."]
        return ""
    if len(value) > limit:
        errors[prefix + key] = [f"At most {limit} characters."]
    return value


def parse(body: bytes) -> Inbound:  # noqa: C901 (predates the limit)
    """The query a webhook body describes, or ``InvalidPayload`` naming each bad field."""
    try:
        data = loads_json(body)
    except InputRejected as exc:
        raise InvalidPayload(exc.errors()) from None
    except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise InvalidPayload({"non_field_errors": ["The body is not JSON."]}) from None
    if not isinstance(data, dict):
        raise InvalidPayload({"non_field_errors": ["The body must be a JSON object."]})
    errors: dict[str, list[str]] = {}

    external_id = data.get("external_id")
    if not isinstance(external_id, str) or not external_id.strip():
        errors["external_id"] = ["Required: a non-empty string."]
    elif len(external_id) > MAX_EXTERNAL_ID:
        errors["external_id"] = [f"At most {MAX_EXTERNAL_ID} characters."]

    text = data.get("text")
    if not isinstance(text, str) or not text.strip():
        errors["text"] = ["Required: a non-empty string."]
    elif len(text) > MAX_TEXT:
        errors["text"] = [f"At most {MAX_TEXT} characters."]

    author = data.get("author")
    handle = name = ""
    if not isinstance(author, dict):
        errors["author"] = ["Required: an object with a handle."]
    else:
        raw_handle = author.get("handle")
        if not isinstance(raw_handle, str) or not raw_handle.strip():
            errors["author.handle"] = ["Required: a non-empty string."]
        elif len(raw_handle) > MAX_HANDLE:
            errors["author.handle"] = [f"At most {MAX_HANDLE} characters."]
        else:
            handle = raw_handle.strip()
        name = _optional_str(author, "name", MAX_HANDLE, errors, prefix="author.").strip()

    url = _optional_str(data, "url", MAX_URL, errors).strip()
    if url and "url" not in errors:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            errors["url"] = ["Must be an http or https URL."]

    created_at = None
    raw_created = data.get("created_at")
    if raw_created is not None:
        if not isinstance(raw_created, str):
            errors["created_at"] = ["Must be an ISO 8601 date-time string."]
        else:
            try:
                created_at = parse_datetime(raw_created)
            except ValueError:
                created_at = None
            if created_at is None:
                errors["created_at"] = ["Must be an ISO 8601 date-time string."]
            elif created_at.tzinfo is None:
                created_at = created_at.replace(tzinfo=UTC)

    priority = data.get("priority")
    if priority is None:
        priority = Priority.NORMAL
    elif priority not in Priority.values:
        errors["priority"] = [f"Must be one of {', '.join(Priority.values)}."]

    # Additive (README, "Additions to the API contract"): a follow-up names its thread.
    thread_id = _optional_str(data, "thread_id", MAX_EXTERNAL_ID, errors).strip()
    in_reply_to = _optional_str(data, "in_reply_to", MAX_EXTERNAL_ID, errors).strip()

    if errors:
        raise InvalidPayload(errors)
    assert isinstance(external_id, str)
    assert isinstance(text, str)
    return Inbound(
        external_id=external_id,
        text=text,
        author_handle=handle,
        author_name=name,
        url=url,
        sender_created_at=created_at,
        priority=str(priority),
        thread_id=thread_id,
        in_reply_to=in_reply_to,
    )
