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


def test_strikethrough_and_table_alignment_survive_the_sanitiser():
    """What the renderer writes is what the sanitiser allows: ``<del>`` and ``align``."""
    assert render_markdown("was ~~five~~ three days") == "<p>was <del>five</del> three days</p>\n"
    table = render_markdown("| item | days |\n|:--|--:|\n| kettle | 5 |")
    assert '<th align="left">item</th>' in table
    assert '<td align="right">5</td>' in table
    assert render_markdown("one ~tilde~ is text") == "<p>one ~tilde~ is text</p>\n"


def test_raw_html_is_sanitised_not_shown_as_markup():
    assert render_markdown("<strong>kept</strong> and <b>plain</b>") == "<p><strong>kept</strong> and plain</p>\n"
    assert render_markdown("<div>\nwords stay\n</div>").strip() == "words stay"
    assert "alert" not in render_markdown("<script>alert(1)</script>")


def test_code_keeps_its_angle_brackets():
    assert render_markdown("`a<b>c`") == "<p><code>a&lt;b&gt;c</code></p>\n"
    assert render_markdown("```\nif a < b:\n```") == "<pre><code>if a &lt; b:\n</code></pre>\n"


@pytest.mark.parametrize("text", ["a\ud800b", "nul\x00here", ""])
def test_text_utf8_cannot_carry_still_renders(text):
    html = render_markdown(text)
    assert "\ud800" not in html
    assert html == "" or html.startswith("<p>")
