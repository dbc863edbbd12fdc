"""Routing by topic keywords (API.md, "Routing").

A keyword matches a query's text as a whole word or phrase, ignoring case, with word
boundaries as Unicode's text segmentation (UAX #29) places them. The rules that matter
for keywords are implemented here without a third-party library:

- letters, digits, marks and connector punctuation (``_``) join into words; a combining
  mark belongs to the character before it;
- an apostrophe, a full stop, a colon or a middle dot *between letters* does not break a
  word ("don't", "e.g" are single words), nor does a comma, full stop or apostrophe
  between digits ("1,000");
- ideographs and hiragana stand alone, so 退款 is found inside 我要退款.

Case is ignored by comparing case-folded, NFC-normalised text; a phrase matches with any
run of white space between its words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

# UAX #29 MidLetter, MidNumLet and Single_Quote: these join letters on both sides.
_MID_LETTER = frozenset("'.:\u00b7\u0387\u055f\u05f4\u2018\u2019\u2024\u2027\ufe13\ufe52\ufe55\uff07\uff0e\uff1a")
# MidNum, MidNumLet and Single_Quote: these join digits on both sides.
_MID_NUM = frozenset(
    ",;.'\u037e\u0589\u060c\u060d\u066c\u07f8\u2019\u2024\u2044\ufe10\ufe14\ufe50\ufe52\ufe54\uff07\uff0c\uff0e\uff1b"
)


def _standalone(char: str) -> bool:
    """Ideographs and hiragana are words on their own (Word_Break=Other in UAX #29)."""
    code = ord(char)
    return (
        0x3040 <= code <= 0x309F  # hiragana
        or 0x3400 <= code <= 0x4DBF
        or 0x4E00 <= code <= 0x9FFF
        or 0xF900 <= code <= 0xFAFF
        or 0x20000 <= code <= 0x3FFFF
    )


def _is_letter(char: str) -> bool:
    return unicodedata.category(char).startswith("L") and not _standalone(char)


def _is_digit(char: str) -> bool:
    return unicodedata.category(char) == "Nd"


def _is_extend(char: str) -> bool:
    return unicodedata.category(char) in {"Mn", "Mc", "Me", "Cf"}


def _is_word(char: str) -> bool:
    category = unicodedata.category(char)
    return (category[0] in "LN" or category == "Pc") and not _standalone(char)


def _base_before(text: str, index: int) -> int:
    """The index of the character that ``text[index]`` attaches to, skipping marks (WB4)."""
    while index >= 0 and _is_extend(text[index]):
        index -= 1
    return index


def _boundary(text: str, index: int) -> bool:
    """Whether a word boundary lies between ``text[index - 1]`` and ``text[index]``."""
    if index <= 0 or index >= len(text):
        return True
    after = text[index]
    if _is_extend(after):
        return False  # a mark never starts a word
    before_at = _base_before(text, index - 1)
    if before_at < 0:
        return True
    before = text[before_at]
    if _is_word(before) and _is_word(after):
        return False
    # WB6/WB7: letter (MidLetter) letter; WB11/WB12: digit (MidNum) digit.
    if before in _MID_LETTER | _MID_NUM:
        prior_at = _base_before(text, before_at - 1)
        if prior_at >= 0:
            prior = text[prior_at]
            if _is_letter(prior) and _is_letter(after) and before in _MID_LETTER:
                return False
            if _is_digit(prior) and _is_digit(after) and before in _MID_NUM:
                return False
    if after in _MID_LETTER | _MID_NUM and _is_word(before) and index + 1 < len(text):
        following = text[index + 1]
        if _is_letter(before) and _is_letter(following) and after in _MID_LETTER:
            return False
        if _is_digit(before) and _is_digit(following) and after in _MID_NUM:
            return False
    return True


def normalise(text: str) -> str:
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())


@lru_cache(maxsize=4096)
def _pattern(keyword: str) -> re.Pattern[str] | None:
    words = normalise(keyword).split()
    if not words:
        return None
    # A lookahead finds every start, overlapping ones included.
    return re.compile("(?=(" + r"\s+".join(re.escape(word) for word in words) + "))")


def keyword_matches(text: str, keyword: str, *, normalised: bool = False) -> bool:
    """Whether ``keyword`` occurs in ``text`` as a whole word or phrase, ignoring case."""
    pattern = _pattern(keyword)
    if pattern is None:
        return False
    haystack = text if normalised else normalise(text)
    for found in pattern.finditer(haystack):
        start, end = found.start(1), found.end(1)
        if _boundary(haystack, start) and _boundary(haystack, end):
            return True
    return False


class RoutableTopic(Protocol):
    @property
    def pk(self) -> Any: ...

    @property
    def keywords(self) -> Any: ...

    @property
    def department_id(self) -> Any: ...


@dataclass(frozen=True)
class RoutingResult:
    department_id: int | None
    topic_ids: list[int]  # every topic that matched, the winner first
    matches: dict[int, list[str]]  # topic id → the keywords that matched


def route(text: str, topics: Sequence[RoutableTopic] | Iterable[RoutableTopic]) -> RoutingResult:
    """Route ``text`` among ``topics``, which must come in the order they were made.

    The topic with the most matching keywords wins; a tie goes to the topic made first.
    """
    haystack = normalise(text)
    scored: list[tuple[int, int, RoutableTopic, list[str]]] = []
    for order, topic in enumerate(topics):
        matched = [kw for kw in dict.fromkeys(topic.keywords or []) if keyword_matches(haystack, kw, normalised=True)]
        if matched:
            scored.append((-len(matched), order, topic, matched))
    if not scored:
        return RoutingResult(department_id=None, topic_ids=[], matches={})
    scored.sort(key=lambda item: (item[0], item[1]))
    winner = scored[0][2]
    in_order = [winner, *[item[2] for item in sorted(scored[1:], key=lambda item: item[1])]]
    return RoutingResult(
        department_id=winner.department_id,
        topic_ids=[int(topic.pk) for topic in in_order if topic.pk is not None],
        matches={int(item[2].pk): item[3] for item in scored if item[2].pk is not None},
    )
