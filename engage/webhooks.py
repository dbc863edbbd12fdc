"""The inbound webhook's checks, in API.md's order: size, signature, then the body.

Kept apart from the view so the web layer only maps each failure to its status code.
"""

from __future__ import annotations

from datetime import UTC, datetime
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


def _required_str(data: dict[str, Any], key: str, limit: int, errors: dict[str, list[str]], prefix: str = "") -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        errors[prefix + key] = ["Required: a non-empty string."]
        return ""
    if len(value) > limit:
        errors[prefix + key] = [f"At most {limit} characters."]
    return value


def _author(data: dict[str, Any], errors: dict[str, list[str]]) -> tuple[str, str]:
    """The author's handle and name."""
    author = data.get("author")
    if not isinstance(author, dict):
        errors["author"] = ["Required: an object with a handle."]
        return "", ""
    handle = _required_str(author, "handle", MAX_HANDLE, errors, prefix="author.").strip()
    return handle, _optional_str(author, "name", MAX_HANDLE, errors, prefix="author.").strip()


def _url(data: dict[str, Any], errors: dict[str, list[str]]) -> str:
    url = _optional_str(data, "url", MAX_URL, errors).strip()
    if url and "url" not in errors:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            errors["url"] = ["Must be an http or https URL."]
    return url


def _created_at(data: dict[str, Any], errors: dict[str, list[str]]) -> datetime | None:
    raw = data.get("created_at")
    if raw is None:
        return None
    created_at = None
    if isinstance(raw, str):
        try:
            created_at = parse_datetime(raw)
        except ValueError:
            created_at = None
    if created_at is None:
        errors["created_at"] = ["Must be an ISO 8601 date-time string."]
        return None
    return created_at if created_at.tzinfo is not None else created_at.replace(tzinfo=UTC)


def _priority(data: dict[str, Any], errors: dict[str, list[str]]) -> str:
    priority = data.get("priority")
    if priority is None:
        return str(Priority.NORMAL)
    if priority not in Priority.values:
        errors["priority"] = [f"Must be one of {', '.join(Priority.values)}."]
    return str(priority)


def parse(body: bytes) -> Inbound:
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
    external_id = _required_str(data, "external_id", MAX_EXTERNAL_ID, errors)
    text = _required_str(data, "text", MAX_TEXT, errors)
    handle, name = _author(data, errors)
    url = _url(data, errors)
    created_at = _created_at(data, errors)
    priority = _priority(data, errors)
    # Additive (README, "Additions to the API contract"): a follow-up names its thread.
    thread_id = _optional_str(data, "thread_id", MAX_EXTERNAL_ID, errors).strip()
    in_reply_to = _optional_str(data, "in_reply_to", MAX_EXTERNAL_ID, errors).strip()
    if errors:
        raise InvalidPayload(errors)
    return Inbound(
        external_id=external_id,
        text=text,
        author_handle=handle,
        author_name=name,
        url=url,
        sender_created_at=created_at,
        priority=priority,
        thread_id=thread_id,
        in_reply_to=in_reply_to,
    )
