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


# What people write (and what they try): the Rust renderer must give what markdown-it-py gave.
EVERYDAY_MARKDOWN = [
    "Thanks for asking! Your **refund** is on its way: five working days.",
    "use the <div> tag, or `<b>` in code",
    "| a | b |\n|:-|-:|\n| 1 | 2 |",
    "~~gone~~ *em* _em_ __strong__ ***both*** 5 * 3 * 2",
    "line1\nline2\n\n- x\n- y\n\n3. three\n4. four",
    "> quote\n\n```python\nx<y\n```\n\n    indented code",
    "# H\n\nSetext\n===\n\n***",
    "a\\\nb and a  \nb",
    "&amp; &copy; &#x27; &nosuch; été — 😀",
    "http://example.com is not linked; <http://auto.link> and <mailto:a@b.c> are",
    '![img](http://x/y.png "t") [ref] [a](<b c>)\n\n[ref]: http://x',
    '- [ ] not a task list\n\nFootnote[^1]\n\n[^1]: n\n\n"quotes" -- (c) <!-- c -->',
    "* a\n\n  b\n* c\n\n\t- tab",
    "",
]


@pytest.mark.parametrize("text", [*EVERYDAY_MARKDOWN, *HOSTILE_MARKDOWN])
def test_the_renderer_gives_what_markdown_it_py_gave(text):
    from markdown_it import MarkdownIt

    from config.markdown import _md

    before = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    assert _md.render(text) == before.enable(["table", "strikethrough"]).render(text)
