import pytest

from config.markdown import render_markdown
from tests.html_safety import active_content

# A corpus of hostile Markdown; every test of user-written content can reuse it.
HOSTILE_MARKDOWN = [
    "<script>alert(1)</script>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](java\tscript:alert(1))",
    '<img src=x onerror="alert(1)">',
    '<a href="#" onclick="alert(1)">x</a>',
    "<iframe src=//evil></iframe>",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<svg/onload=alert(1)>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    "![x](javascript:alert(1))",
    '[x](https://example.com "a" onmouseover="alert(1)")',
]


@pytest.mark.parametrize("payload", HOSTILE_MARKDOWN)
def test_hostile_markdown_renders_inert(payload):
    assert active_content(render_markdown(payload)) == []


def test_the_checker_itself_notices_active_content():
    assert active_content('<a href="javascript:x()">x</a><img src=x onerror=y>') != []


def test_ordinary_markdown_keeps_its_meaning():
    html = render_markdown("**Refunds** take [5 days](https://example.com/refunds).\n\n- one\n- two")
    assert "<strong>Refunds</strong>" in html
    assert '<a href="https://example.com/refunds" rel="noopener noreferrer nofollow">5 days</a>' in html
    assert "<li>one</li>" in html
