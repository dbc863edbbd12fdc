from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Notification

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": "http://testserver/notifications/"}


def _note(user, title="Something happened", *, read=False, in_app=True, url="", kind="account"):
    return Notification.objects.create(
        user=user,
        kind=kind,
        title=title,
        body=f"About {title}",
        url=url,
        in_app=in_app,
        read_at=timezone.now() if read else None,
    )


def _bell_count(html: str) -> str | None:
    match = re.search(r'<span class="bell__count" aria-hidden="true">([^<]+)</span>', html)
    return match.group(1) if match else None


def test_the_bell_shows_the_unread_count_on_every_page(signed_in, owner, colleague):
    for index in range(3):
        _note(owner, f"Unread {index}")
    _note(owner, "Already read", read=True)
    _note(owner, "Turned off in the app", in_app=False)
    _note(colleague, "Someone else's")
    client = signed_in(owner)
    for path in ("/", "/profile/", "/notifications/"):
        html = client.get(path).content.decode()
        assert _bell_count(html) == "3", path
        assert "Notifications: 3 unread" in html


def test_the_bell_fragment_is_polled_and_answers_204_while_nothing_changed(signed_in, owner):
    _note(owner)
    client = signed_in(owner)
    response = client.get("/notifications/bell/", **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert _bell_count(html) == "1"
    assert 'hx-trigger="every 30s"' in html
    assert "/notifications/bell/?count=1" in html
    assert "<html" not in html, "a fragment, not a page"
    assert response["Cache-Control"].startswith("max-age=0")

    assert client.get("/notifications/bell/?count=1", **HTMX).status_code == 204
    _note(owner, "Another one")
    response = client.get("/notifications/bell/?count=1", **HTMX)
    assert response.status_code == 200
    assert _bell_count(response.content.decode()) == "2"


def test_the_bell_without_unread_shows_no_badge(signed_in, owner):
    html = signed_in(owner).get("/notifications/bell/").content.decode()
    assert _bell_count(html) is None
    assert "Notifications: none unread" in html


def test_the_bell_stops_polling_once_signed_out(client):
    response = client.get("/notifications/bell/?count=2", **HTMX)
    assert response.status_code == 286, "htmx stops polling on 286"
    html = response.content.decode()
    assert "sign in again" in html
    assert "/login/?next=/notifications/" in html
    plain = client.get("/notifications/bell/")
    assert plain.status_code == 302
    assert plain["Location"].startswith("/login/")


def test_notifications_page_lists_only_ones_own_newest_first(signed_in, owner, colleague):
    _note(owner, "First")
    _note(owner, "Second")
    _note(owner, "Hidden", in_app=False)
    _note(colleague, "Colleague's secret")
    html = signed_in(owner).get("/notifications/").content.decode()
    assert html.index("Second") < html.index("First")
    assert "Hidden" not in html
    assert "Colleague&#x27;s secret" not in html
    assert "Colleague's secret" not in html


def test_notifications_page_filters_unread(signed_in, owner):
    _note(owner, "Unread one")
    _note(owner, "Read one", read=True)
    html = signed_in(owner).get("/notifications/?show=unread").content.decode()
    assert "Unread one" in html
    assert "Read one" not in html


def test_the_notifications_page_costs_the_same_queries_for_3_or_25(signed_in, owner):
    client = signed_in(owner)
    for index in range(3):
        _note(owner, f"Note {index}")
    client.get("/notifications/")  # warm the session and caches
    with CaptureQueriesContext(connection) as few:
        assert client.get("/notifications/").status_code == 200
    for index in range(22):
        _note(owner, f"More {index}")
    with CaptureQueriesContext(connection) as many:
        assert client.get("/notifications/").status_code == 200
    assert len(many) == len(few)


def test_mark_read_without_javascript_redirects_back(signed_in, owner):
    note = _note(owner)
    client = signed_in(owner)
    response = client.post(f"/notifications/{note.pk}/read/", {"next": "/notifications/?page=1"})
    assert response.status_code == 302
    assert response["Location"] == "/notifications/?page=1"
    note.refresh_from_db()
    assert note.read_at is not None


def test_mark_read_with_htmx_returns_the_item_and_the_new_bell(signed_in, owner):
    first = _note(owner, "First")
    _note(owner, "Second")
    client = signed_in(owner)
    response = client.post(f"/notifications/{first.pk}/read/", **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="note-{first.pk}"' in html
    assert "note--unread" not in html
    assert 'hx-swap-oob="true"' in html
    assert _bell_count(html) == "1"
    assert f'id="note-{first.pk}-action"' in html, "focus has somewhere to land after the swap"


def test_mark_read_of_someone_elses_notification_is_404(signed_in, owner, colleague):
    theirs = _note(colleague)
    client = signed_in(owner)
    assert client.post(f"/notifications/{theirs.pk}/read/").status_code == 404
    assert client.get(f"/notifications/{theirs.pk}/open/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_read_needs_a_post(signed_in, owner):
    note = _note(owner)
    assert signed_in(owner).get(f"/notifications/{note.pk}/read/").status_code == 405
    note.refresh_from_db()
    assert note.read_at is None


def test_mark_all_read(signed_in, owner, colleague):
    for index in range(3):
        _note(owner, f"Note {index}")
    theirs = _note(colleague)
    client = signed_in(owner)
    response = client.post("/notifications/read-all/")
    assert response.status_code == 302
    assert not Notification.objects.filter(user=owner, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None
    html = client.get("/notifications/").content.decode()
    assert "Marked 3 notifications as read." in html
    assert _bell_count(html) is None


def test_opening_a_notification_marks_it_read_and_follows_only_local_links(signed_in, owner):
    local = _note(owner, "Local", url="/profile/")
    outside = _note(owner, "Outside", url="https://evil.example/")
    client = signed_in(owner)
    response = client.get(f"/notifications/{local.pk}/open/")
    assert response["Location"] == "/profile/"
    local.refresh_from_db()
    assert local.read_at is not None
    response = client.get(f"/notifications/{outside.pk}/open/")
    assert response["Location"] == "/notifications/"
