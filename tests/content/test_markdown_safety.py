"""Hostile Markdown in a message comes out inert wherever a person sees it: the message
page, the browse list, the review queue's preview, the public share page and the API."""

from __future__ import annotations

from collections import Counter

import pytest
from django.test import Client

from config.markdown import render_markdown
from content import services
from content.models import Message, MessageRevision
from tests.content.conftest import make_message, publish
from tests.html_safety import active_content
from tests.platform.test_markdown import HOSTILE_MARKDOWN

pytestmark = pytest.mark.django_db


def added_problems(hostile_html: str, benign_html: str) -> list[str]:
    """Active content in the page with the payload that the same page without it lacks.

    The layout has its own scripts, forms and meta tags; comparing the very same page with
    the payload swapped for plain text leaves exactly what the payload brought in, even if
    it broke out of the element meant to hold it.
    """
    extra = Counter(active_content(hostile_html)) - Counter(active_content(benign_html))
    return sorted(extra.elements())


def neutralise(message) -> None:
    Message.objects.filter(pk=message.pk).update(
        title="Plain", body="Intro\n\nplain\n\nOutro", body_html=render_markdown("Intro\n\nplain\n\nOutro")
    )
    MessageRevision.objects.filter(message=message).update(
        title="Plain", body="plain", body_html=render_markdown("plain")
    )


@pytest.mark.parametrize("payload", HOSTILE_MARKDOWN)
def test_hostile_markdown_is_inert_on_every_page(payload, author, reviewer, employee):
    message = publish(author, reviewer, title="Hostile", body=f"Intro\n\n{payload}\n\nOutro", link_url="")
    share = services.share_create(user=employee, message_id=message.pk, channel="x")
    web = Client()
    web.force_login(employee)
    urls = (f"/messages/{message.pk}/", "/messages/", "/messages/?q=intro", f"/s/{share.code}/message/")
    hostile = {}
    for url in urls:
        response = web.get(url)
        assert response.status_code == 200, url
        hostile[url] = response.content.decode()
    neutralise(message)
    for url in urls:
        assert added_problems(hostile[url], web.get(url).content.decode()) == [], (url, payload)
    assert active_content(message.body_html) == []


@pytest.mark.parametrize("payload", HOSTILE_MARKDOWN)
def test_hostile_markdown_is_inert_for_reviewers_and_in_previews(payload, author, reviewer):
    message = make_message(author, body=payload)
    services.message_submit(user=author, message_id=message.pk)
    services.message_update(user=author, message_id=message.pk, fields={"body": payload + "\n\nv2"})
    web = Client()
    web.force_login(reviewer)
    hostile = web.get(f"/messages/{message.pk}/").content.decode()
    neutralise(message)
    assert added_problems(hostile, web.get(f"/messages/{message.pk}/").content.decode()) == []
    curator = Client()
    curator.force_login(author)
    preview = curator.post("/messages/preview/", {"body": payload})
    assert preview.status_code == 200
    assert active_content(preview.content.decode()) == []


@pytest.mark.parametrize("payload", HOSTILE_MARKDOWN)
def test_hostile_markdown_is_inert_in_the_api(payload, api, author, reviewer):
    message = publish(author, reviewer, body=payload)
    data = api(reviewer).get(f"/api/v1/messages/{message.pk}/").json()
    assert active_content(data["body_html"]) == []


def test_hostile_titles_are_escaped(author, reviewer, employee):
    message = publish(author, reviewer, title='<script>alert("t")</script><img src=x onerror=alert(1)>')
    web = Client()
    web.force_login(employee)
    html = web.get(f"/messages/{message.pk}/").content.decode()
    neutralise(message)
    assert added_problems(html, web.get(f"/messages/{message.pk}/").content.decode()) == []
    assert "&lt;script&gt;" in html
