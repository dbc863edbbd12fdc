"""What changed between two revisions of a message, word by word, for its reviewer.

Computed on the server with difflib over the saved source (the Markdown, not the HTML),
so the page shows text only: the template escapes every segment.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

from content.models import MessageRevision

SegmentKind = Literal["same", "added", "removed"]
_TOKENS = re.compile(r"\s+|[^\s]+")


@dataclass(frozen=True)
class Segment:
    kind: SegmentKind
    text: str


@dataclass(frozen=True)
class FieldDiff:
    label: str
    segments: tuple[Segment, ...]


def words_diff(old: str, new: str) -> tuple[Segment, ...]:
    """``old`` → ``new`` as runs of kept, removed and added text (whitespace kept as written)."""
    before, after = _TOKENS.findall(old), _TOKENS.findall(new)
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    segments: list[Segment] = []

    def add(kind: SegmentKind, tokens: list[str]) -> None:
        text = "".join(tokens)
        if not text:
            return
        if segments and segments[-1].kind == kind:
            segments[-1] = Segment(kind, segments[-1].text + text)
        else:
            segments.append(Segment(kind, text))

    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            add("same", before[i1:i2])
        else:
            add("removed", before[i1:i2])
            add("added", after[j1:j2])
    return tuple(segments)


def _as_text(revision: MessageRevision, field: str) -> str:
    value = getattr(revision, field)
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if hasattr(value, "isoformat"):
        return str(value.isoformat(sep=" ", timespec="minutes"))
    return str(value)


FIELDS = (
    ("title", "Title"),
    ("body", "Body"),
    ("short_text", "Short post"),
    ("long_text", "Long post"),
    ("link_url", "Link"),
    ("topics", "Topics"),
    ("audience", "For"),
    ("publish_at", "Publish at"),
    ("expires_at", "Expires at"),
)


def revision_diff(old: MessageRevision, new: MessageRevision) -> list[FieldDiff]:
    """The fields that differ between two revisions, each as a word-level diff."""
    changed = []
    for field, label in FIELDS:
        before, after = _as_text(old, field), _as_text(new, field)
        if before != after:
            changed.append(FieldDiff(label=label, segments=words_diff(before, after)))
    return changed
