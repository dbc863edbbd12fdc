"""Checks that a page of our own runs under the CSP without inline script or style."""

from __future__ import annotations

from html.parser import HTMLParser


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._open_script: bool = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "style":
            self.problems.append("<style> element (style-src 'self' refuses it)")
        if tag == "script":
            kind = (names.get("type") or "").lower()
            is_data = kind in {"application/json", "application/ld+json"}
            if "src" not in names and not is_data and not names.get("nonce"):
                self.problems.append("inline <script> without a nonce")
            src = names.get("src") or ""
            if src.startswith(("http:", "https:", "//")):
                self.problems.append(f"script from another origin: {src}")
        if tag == "link" and (names.get("href") or "").startswith(("http:", "https:", "//")):
            self.problems.append(f"<link> to another origin: {names.get('href')}")
        for name, value in attrs:
            if name == "style":
                self.problems.append(f"style= attribute on <{tag}>")
            if name.startswith("on"):
                self.problems.append(f"{name}= handler on <{tag}>")
            if name in {"href", "src", "action"} and (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"javascript: URL in {name} on <{tag}>")


def csp_problems(html: str) -> list[str]:
    """What in ``html`` our Content-Security-Policy would block, or fetch from elsewhere."""
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector.problems
