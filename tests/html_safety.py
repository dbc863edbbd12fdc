"""Checks that rendered HTML is inert: used by every test of user-written content."""

from __future__ import annotations

from html.parser import HTMLParser

DANGEROUS_TAGS = {"script", "iframe", "object", "embed", "svg", "math", "style", "link", "meta", "base", "form"}
SAFE_SCHEMES = ("http://", "https://", "mailto:", "/", "#")


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DANGEROUS_TAGS:
            self.problems.append(f"<{tag}> element")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"{name}= handler on <{tag}>")
            is_link = name in {"href", "src", "action", "formaction", "xlink:href"} and value is not None
            if is_link and not (value or "").strip().lower().startswith(SAFE_SCHEMES):
                self.problems.append(f"{name}={value!r} on <{tag}>")
            if name == "style":
                self.problems.append(f"style= on <{tag}>")


def active_content(html: str) -> list[str]:
    """What in ``html`` could run script or load something; empty when inert."""
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector.problems
