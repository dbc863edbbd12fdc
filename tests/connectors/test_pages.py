"""The channels page makes and edits each connector's channels, shows their health, and
never shows a stored credential."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import timezone

from engage.connectors import vault
from engage.models import Channel

pytestmark = pytest.mark.django_db

API_KEY = "page-made-api-key-0123456789"


def client_for(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def test_the_page_makes_a_discourse_channel_and_edits_it_keeping_the_credentials(admin_user, owner):
    assert client_for(owner).get("/channels/").status_code == 403
    admin = client_for(admin_user)
    form = admin.get("/channels/").content.decode()
    for name in ("discourse.config.base_url", "slack.config.channel_ids", "email.config.imap_host"):
        assert f'name="{name}"' in form
    made = admin.post(
        "/channels/",
        {
            "slug": "forum",
            "name": "Forum",
            "kind": "forum",
            "connector": "discourse",
            "discourse.config.base_url": "https://forum.example.com",
            "discourse.config.api_username": "engage-bot",
            "discourse.credentials.api_key": API_KEY,
            "discourse.credentials.webhook_secret": "hook-secret-on-the-page",
            "slack.config.channel_ids": "ignored: another connector's field",
        },
    )
    assert made.status_code == 200, made.content.decode()[:2000]
    channel = Channel.objects.get(slug="forum")
    assert channel.connector == "discourse"
    assert client_for(owner).get("/channels/forum/edit/").status_code == 403
    assert client_for(owner).post("/channels/forum/edit/", {"name": "Mine"}).status_code == 403
    assert channel.config == {"base_url": "https://forum.example.com", "api_username": "engage-bot"}
    edit = admin.get("/channels/forum/edit/").content.decode()
    assert API_KEY not in edit
    assert "hook-secret-on-the-page" not in edit
    assert "Set (not shown)" in edit
    assert "https://forum.example.com" in edit
    saved = admin.post(
        "/channels/forum/edit/",
        {
            "name": "Community forum",
            "outbound_url": "",
            "connector": "discourse",
            "discourse.config.api_username": "helper",
        },
    )
    assert saved.status_code == 302
    channel.refresh_from_db()
    assert channel.name == "Community forum"
    assert channel.config["api_username"] == "helper"
    assert vault.unseal(channel.credentials) == {"api_key": API_KEY, "webhook_secret": "hook-secret-on-the-page"}


def test_the_page_names_the_wrong_field_and_shows_health(admin_user):
    admin = client_for(admin_user)
    wrong = admin.post(
        "/channels/",
        {
            "slug": "chat",
            "name": "Chat",
            "kind": "other",
            "connector": "slack",
            "slack.credentials.bot_token": "xoxb-1",
            "slack.credentials.signing_secret": "s",
        },
    )
    assert wrong.status_code == 400
    page = wrong.content.decode()
    assert 'id="channel-slack-config-channel-ids"' in page
    [tag] = re.findall(r'<input id="channel-slack-config-channel-ids"[^>]*>', page)
    assert 'aria-invalid="true"' in tag
    assert "xoxb-1" not in page
    made = admin.post(
        "/channels/",
        {
            "slug": "chat",
            "name": "Chat",
            "kind": "other",
            "connector": "slack",
            "slack.config.channel_ids": "C0123456789, C0987654321",
            "slack.credentials.bot_token": "xoxb-1",
            "slack.credentials.signing_secret": "s",
        },
    )
    assert made.status_code == 200
    channel = Channel.objects.get(slug="chat")
    assert channel.config["channel_ids"] == ["C0123456789", "C0987654321"]
    Channel.objects.filter(pk=channel.pk).update(
        last_event_at=timezone.now(), last_error="Slack: channel_not_found", last_error_at=timezone.now()
    )
    listing = admin.get("/channels/").content.decode()
    assert "Slack: channel_not_found" in listing
    assert "Last event:" in listing
    assert "/api/v1/channels/chat/slack/events/" in admin.get("/channels/chat/edit/").content.decode()
