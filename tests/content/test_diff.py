"""The reviewer sees what changed between the live version and the revision under review."""

from __future__ import annotations

import re

import pytest

from content import services
from content.diff import Segment, words_diff
from tests.content.conftest import publish
from tests.content.test_pages import signed_in

pytestmark = pytest.mark.django_db


def test_words_diff_keeps_the_common_words_and_marks_the_rest() -> None:
    assert words_diff("Refunds take five days.", "Refunds take three days.") == (
        Segment("same", "Refunds take "),
        Segment("removed", "five"),
        Segment("added", "three"),
        Segment("same", " days."),
    )
    assert words_diff("same", "same") == (Segment("same", "same"),)
    assert words_diff("", "new text") == (Segment("added", "new text"),)


def test_a_revision_under_review_shows_its_diff_escaped(author, reviewer):
    message = publish(author, reviewer, title="Refunds take five days", body="We refund **every** order in five days.")
    services.message_update(
        user=author,
        message_id=message.pk,
        fields={
            "title": "Refunds take three days",
            "body": "We refund **every** order in three days. <script>x()</script>",
        },
    )

    html = signed_in(reviewer).get(f"/messages/{message.pk}/").content.decode()
    panel = re.search(r'data-testid="revision-diff">(.*?)</section>', html, re.S)
    assert panel, "no diff on the reviewer's page"
    diff = panel.group(1)
    assert "What changed: revision 1 → 2" in diff
    assert re.search(r'<del class="diff__removed"><span class="visually-hidden">\[removed: </span>five', diff)
    assert re.search(r'<ins class="diff__added"><span class="visually-hidden">\[added: </span>three', diff)
    assert "&lt;script&gt;x()&lt;/script&gt;" in diff  # the author's text is escaped, never markup
    assert "<script>x()" not in diff
    assert "Short post" not in diff  # unchanged fields are left out


def test_no_diff_without_a_revision_to_compare(author, reviewer):
    message = publish(author, reviewer)
    assert 'data-testid="revision-diff"' not in signed_in(reviewer).get(f"/messages/{message.pk}/").content.decode()
