"""What the query page's approved-messaging cards show and what "use this message" inserts:
the very same text. A message may have a short post, a long post and its full text (which
is often guidance meant for staff); the card shows each version it has, whole, labelled,
each with its own button that inserts exactly that version (its link added when the text
does not carry it already), with script or without.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# (key, label, field), in the order the card shows them.
VERSIONS = (
    ("short", "Short post", "short_text"),
    ("long", "Long post", "long_text"),
    ("body", "Full message", "body"),
)
KEYS = frozenset(key for key, _label, _field in VERSIONS)
# What a card reads of a message: its title (and id) and the fields of its versions.
CARD_FIELDS = ("id", "title", "link_url", *(field for _key, _label, field in VERSIONS))


@dataclass(frozen=True)
class Version:
    key: str
    label: str
    text: str  # what the card shows and the button inserts

    @property
    def button(self) -> str:
        return f"Use the {self.label.lower()}"


def _with_link(text: str, link: str) -> str:
    return f"{text}\n\n{link}" if link and link not in text else text


def versions_of(message: Any) -> list[Version]:
    """The versions of ``message`` a card shows: each non-empty one, without repeats."""
    found: list[Version] = []
    seen: set[str] = set()
    for key, label, field in VERSIONS:
        raw = (getattr(message, field, "") or "").strip()
        if not raw:
            continue
        text = _with_link(raw, message.link_url or "")
        if text in seen:
            continue
        seen.add(text)
        found.append(Version(key=key, label=label, text=text))
    return found


def version_text(message: Any, key: str) -> str | None:
    """The text "use" of version ``key`` inserts, or ``None`` if the message has no such version."""
    return next((version.text for version in versions_of(message) if version.key == key), None)
