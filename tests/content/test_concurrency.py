"""Races, on PostgreSQL with real concurrent connections: two reviewers approving at once,
the schedule job running twice at once, and one visitor's burst of clicks."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from config.errors import Conflict
from content import services
from content.models import Action, Message, ShareClick, Status
from content.signals import activity
from tests.browser.conftest import live_server  # noqa: F401 (fixture)
from tests.concurrency import run_each
from tests.content.conftest import make_message, publish
from tests.factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_reviewers_approving_at_once_approve_once(author, reviewer, marketing):
    other_reviewer = UserFactory(department=marketing, roles=["reviewer"])
    message = make_message(author)
    services.message_submit(user=author, message_id=message.pk)
    results = run_each(
        [
            lambda: services.message_approve(user=reviewer, message_id=message.pk),
            lambda: services.message_approve(user=other_reviewer, message_id=message.pk),
        ]
    )
    assert sum(isinstance(r, Message) for r in results) == 1
    assert sum(isinstance(r, Conflict) for r in results) == 1
    assert Message.objects.get(pk=message.pk).events.filter(action=Action.APPROVED).count() == 1


def test_the_schedule_job_running_concurrently_publishes_once(author, reviewer, now):
    got: list[Any] = []
    activity.connect(lambda sender, activity, **kw: got.append(activity), dispatch_uid="race", weak=False)
    try:
        messages = [publish(author, reviewer, title=f"M{n}", publish_at=now + timedelta(minutes=5)) for n in range(5)]
        due = now + timedelta(minutes=6)
        results = run_each([lambda: services.schedule_apply(now=due) for _ in range(4)])
    finally:
        activity.disconnect(dispatch_uid="race")
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r["published"] for r in results) == 5
    for message in messages:
        message.refresh_from_db()
        assert message.status == Status.PUBLISHED
        assert message.events.filter(action=Action.PUBLISHED).count() == 1
    assert sorted(a.object_id for a in got if a.kind == "message_published") == sorted(m.pk for m in messages)


def test_a_burst_of_clicks_from_one_visitor_counts_once(author, reviewer, employee):
    message = publish(author, reviewer)
    share = services.share_create(user=employee, message_id=message.pk, channel="x")
    results = run_each(
        [
            lambda: services.share_follow(code=share.code, address="203.0.113.1", user_agent="Mozilla/5.0")
            for _ in range(8)
        ]
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r.counted for r in results) == 1
    assert ShareClick.objects.count() == 1
    share.refresh_from_db()
    assert share.click_count == 1


def test_a_double_click_on_share_makes_one_share_over_real_concurrent_requests(
    author,
    reviewer,
    employee,
    live_server,  # noqa: F811
):
    """Eight identical form posts (one page's key) at once through the live server: one share."""
    import http.cookiejar
    import re
    import urllib.parse
    import urllib.request

    from django.test import Client

    from content.models import Share

    message = publish(author, reviewer)
    client = Client()
    client.force_login(employee)
    session = client.cookies["sessionid"].value
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("Cookie", f"sessionid={session}")]
    page = opener.open(f"{live_server.url}/messages/{message.pk}/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    key = re.search(r'name="request_key" value="([^"]+)"', page).group(1)
    csrf_cookie = next(c.value for c in jar if c.name == "csrftoken")
    body = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "request_key": key, "channel": "x"}).encode()

    def post() -> str:
        request = urllib.request.Request(
            f"{live_server.url}/messages/{message.pk}/share/",
            data=body,
            headers={
                "Cookie": f"sessionid={session}; csrftoken={csrf_cookie}",
                "HX-Request": "true",
                "Referer": live_server.url + "/",
            },
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.read().decode()

    results = run_each([post for _ in range(8)])
    assert not [r for r in results if isinstance(r, Exception)], results
    share = Share.objects.get(message=message, user=employee)  # exactly one
    assert all(f"/s/{share.code}" in html for html in results)  # every click shows the same link

    # Another rendering of the page (a fresh key) is a new share.
    again = opener.open(f"{live_server.url}/messages/{message.pk}/").read().decode()
    assert re.search(r'name="request_key" value="([^"]+)"', again).group(1) != key
