"""The part of SCIM's filter language (RFC 7644 §3.4.2.2) providers use to look people up:
one ``attribute eq value`` comparison, such as ``userName eq "bjensen@example.com"``."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from accounts.scim.protocol import ScimError

_COMPARISON = re.compile(
    r'^\s*(?P<attr>[A-Za-z][\w.:$-]*)\s+(?P<op>[A-Za-z]{2})\s+(?P<value>"(?:[^"\\]|\\.)*"|true|false|null|-?\d+)\s*$',
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Comparison:
    attribute: str  # lower-cased, with the core schema's URN taken off
    value: Any


def parse(text: str, *, allowed: set[str], core_schema: str) -> Comparison:
    """``text`` as one ``eq`` comparison on an attribute in ``allowed`` (lower case);
    anything else is refused with ``invalidFilter`` (400), saying what is supported."""
    match = _COMPARISON.match(text)
    if match is None:
        raise ScimError(
            400, f'Engage filters by one comparison, such as userName eq "x"; not {text!r}.', "invalidFilter"
        )
    attribute = match["attr"].lower()
    prefix = core_schema.lower() + ":"
    if attribute.startswith(prefix):
        attribute = attribute[len(prefix) :]
    if match["op"].lower() != "eq":
        raise ScimError(400, f"Engage filters with eq only, not {match['op']!r}.", "invalidFilter")
    if attribute not in allowed:
        raise ScimError(
            400, f"Engage filters on {', '.join(sorted(allowed))}; not on {match['attr']!r}.", "invalidFilter"
        )
    return Comparison(attribute=attribute, value=json.loads(match["value"]))
