"""/api/v1/notifications/: each person's own in-app notifications, newest first."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Notification

pytestmark = pytest.mark.django_db

NOTIFICATIONS = "/api/v1/notifications/"


@pytest.fixture(autouse=True)
def _plain_http(settings):
    settings.SECURE_SSL_REDIRECT = False  # the test client speaks plain HTTP


def note(user, title: str, minutes_ago: int = 0, **extra) -> Notification:
    return Notification.objects.create(
        user=user, kind="account", title=title, created_at=timezone.now() - timedelta(minutes=minutes_ago), **extra
    )


def test_a_person_sees_only_their_own_in_app_notifications_newest_first(api, owner, colleague):
    note(owner, "old", minutes_ago=30)
    note(owner, "new", minutes_ago=1)
    note(owner, "middle", minutes_ago=10)
    note(owner, "email only", minutes_ago=0, in_app=False)
    note(colleague, "not yours")
    response = api(owner).get(NOTIFICATIONS)
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["title"] for row in rows] == ["new", "middle", "old"]
    assert set(rows[0]) == {"id", "kind", "title", "body", "url", "created_at", "read_at"}


def test_unread_filter(api, owner):
    note(owner, "read", read_at=timezone.now())
    note(owner, "unread")
    client = api(owner)
    assert [row["title"] for row in client.get(NOTIFICATIONS, {"unread": "true"}).json()["results"]] == ["unread"]
    assert [row["title"] for row in client.get(NOTIFICATIONS, {"unread": "false"}).json()["results"]] == ["read"]
    assert client.get(NOTIFICATIONS, {"unread": "often"}).status_code == 400


def test_strangers_get_401(api, owner):
    mine = note(owner, "mine")
    assert api().get(NOTIFICATIONS).status_code == 401
    assert api().post(f"{NOTIFICATIONS}{mine.pk}/read/").status_code == 401
    assert api().post(f"{NOTIFICATIONS}read-all/").status_code == 401


def test_marking_one_read(api, owner):
    mine = note(owner, "mine")
    response = api(owner).post(f"{NOTIFICATIONS}{mine.pk}/read/")
    assert response.status_code == 200
    assert response.json()["id"] == mine.pk
    first_read_at = response.json()["read_at"]
    assert first_read_at
    again = api(owner).post(f"{NOTIFICATIONS}{mine.pk}/read/")
    assert again.json()["read_at"] == first_read_at, "reading twice keeps the first time"


def test_another_persons_notification_is_404_and_stays_unread(api, owner, colleague):
    theirs = note(colleague, "theirs")
    hidden = note(owner, "hidden", in_app=False)
    client = api(owner)
    assert client.post(f"{NOTIFICATIONS}{theirs.pk}/read/").status_code == 404
    assert client.post(f"{NOTIFICATIONS}{hidden.pk}/read/").status_code == 404
    assert client.post(f"{NOTIFICATIONS}999999/read/").status_code == 404
    assert client.post(f"{NOTIFICATIONS}{10**25}/read/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_read_all_marks_only_ones_own(api, owner, colleague):
    for n in range(3):
        note(owner, f"mine {n}")
    theirs = note(colleague, "theirs")
    response = api(owner).post(f"{NOTIFICATIONS}read-all/")
    assert response.status_code == 200
    assert response.json() == {"marked_read": 3}
    assert not Notification.objects.filter(user=owner, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert api(owner).post(f"{NOTIFICATIONS}read-all/").json() == {"marked_read": 0}


def test_list_is_paginated_capped_and_constant_in_queries(api, owner, django_assert_max_num_queries):
    now = timezone.now()
    Notification.objects.bulk_create(
        Notification(user=owner, kind="account", title=f"n{n}", created_at=now - timedelta(seconds=n))
        for n in range(230)
    )
    client = api(owner)
    counts = []
    for size, expected in ((4, 4), (500, 200)):
        # token+person, count, page
        with django_assert_max_num_queries(3), CaptureQueriesContext(connection) as queries:
            body = client.get(NOTIFICATIONS, {"page_size": size}).json()
        assert len(body["results"]) == expected
        assert body["next"]
        counts.append(len(queries))
    assert counts[0] == counts[1]
    second_page = client.get(NOTIFICATIONS, {"page_size": 200, "page": 2}).json()["results"]
    assert [row["title"] for row in second_page] == [f"n{n}" for n in range(200, 230)]
