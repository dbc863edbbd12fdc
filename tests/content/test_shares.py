"""Sharing: a tracking link per share; following it redirects (302) and counts a click once
per visitor and day, ignoring bots that say they are bots; no address is stored."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from content import services
from content.models import Share, ShareClick
from tests.content.conftest import make_message, publish

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"


def follow(url_or_path: str, *, address: str = "203.0.113.9", agent: str = BROWSER):
    path = url_or_path.split("://", 1)[-1]
    path = path[path.index("/") :]
    return Client(REMOTE_ADDR=address, HTTP_USER_AGENT=agent).get(path)


def test_share_answers_201_with_a_tracking_url(api, author, reviewer, employee):
    message = publish(author, reviewer, link_url="https://example.com/refunds")
    response = api(employee).post(f"/api/v1/messages/{message.pk}/shares/", {"channel": "linkedin"}, format="json")
    assert response.status_code == 201
    data = response.json()
    share = Share.objects.get()
    assert data["url"].endswith(f"/s/{share.code}")
    assert data["url"].startswith("http")
    assert share.user == employee
    assert share.department == employee.department
    assert share.channel == "linkedin"
    assert data["url"] in data["text"]


@pytest.mark.parametrize("channel", ["linkedin", "x", "facebook", "instagram", "email", "other"])
def test_every_channel_of_the_contract_is_accepted(api, author, reviewer, employee, channel):
    message = publish(author, reviewer)
    assert (
        api(employee).post(f"/api/v1/messages/{message.pk}/shares/", {"channel": channel}, format="json").status_code
        == 201
    )


def test_an_unknown_channel_is_400(api, author, reviewer, employee):
    message = publish(author, reviewer)
    response = api(employee).post(f"/api/v1/messages/{message.pk}/shares/", {"channel": "myspace"}, format="json")
    assert response.status_code == 400
    assert "channel" in response.json()


def test_sharing_what_you_cannot_see_is_404_and_a_draft_seen_by_curators_is_409(api, author, reviewer, stranger):
    for_support = publish(author, reviewer, audience=["support"])
    assert (
        api(stranger).post(f"/api/v1/messages/{for_support.pk}/shares/", {"channel": "x"}, format="json").status_code
        == 404
    )
    draft = make_message(author)
    assert api(author).post(f"/api/v1/messages/{draft.pk}/shares/", {"channel": "x"}, format="json").status_code == 409
    assert not Share.objects.exists() or Share.objects.filter(message=draft).count() == 0


def test_the_link_redirects_to_link_url_and_counts_one_click_per_visitor_per_day(author, reviewer, employee, now):
    message = publish(author, reviewer, link_url="https://example.com/refunds")
    share = services.share_create(user=employee, message_id=message.pk, channel="x")
    url = services.share_url(share)
    first = follow(url)
    assert first.status_code == 302
    assert first["Location"] == "https://example.com/refunds"
    follow(url)  # the same visitor again, the same day
    follow(url, address="198.51.100.7")  # someone else
    follow(url, agent=BROWSER + " Firefox")  # another browser from the first address: another visitor
    share.refresh_from_db()
    assert share.click_count == 3
    assert ShareClick.objects.count() == 3
    # The next day the first visitor counts again.
    counted = services.share_follow(
        code=share.code, address="203.0.113.9", user_agent=BROWSER, now=now + timedelta(days=1)
    )
    assert counted is not None
    assert counted.counted
    assert Share.objects.get(pk=share.pk).click_count == 4


def test_no_address_is_stored(author, reviewer, employee):
    message = publish(author, reviewer)
    share = services.share_create(user=employee, message_id=message.pk, channel="x")
    follow(services.share_url(share), address="203.0.113.9")
    click = ShareClick.objects.get()
    stored = " ".join(str(getattr(click, f.attname)) for f in ShareClick._meta.fields)
    assert "203.0.113.9" not in stored
    assert len(click.visitor) == 64


@pytest.mark.parametrize(
    "agent",
    [
        "Googlebot/2.1 (+http://www.google.com/bot.html)",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "Twitterbot/1.0",
        "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "Mozilla/5.0 (compatible; bingbot/2.0)",
        "Some Crawler 3.0",
        "AcmeSpider/1.0",
        "Mozilla/5.0 (compatible; Discordbot/2.0)",
        "WhatsApp/2.23.20.0",
        "SkypeUriPreview Preview/0.5",
        "curl/8.4.0",
    ],
)
def test_bots_that_say_so_are_redirected_but_not_counted(author, reviewer, employee, agent):
    message = publish(author, reviewer, link_url="https://example.com/")
    share = services.share_create(user=employee, message_id=message.pk, channel="x")
    response = follow(services.share_url(share), agent=agent)
    assert response.status_code == 302
    assert Share.objects.get(pk=share.pk).click_count == 0
    assert not ShareClick.objects.exists()


def test_without_a_link_url_it_leads_to_the_messages_public_page(author, reviewer, employee):
    message = publish(author, reviewer, body="Hello **visitors**")
    share = services.share_create(user=employee, message_id=message.pk, channel="facebook")
    response = follow(services.share_url(share))
    assert response.status_code == 302
    page = Client().get(response["Location"])
    assert page.status_code == 200
    assert "<strong>visitors</strong>" in page.content.decode()
    services.message_withdraw(user=reviewer, message_id=message.pk)
    assert Client().get(response["Location"]).status_code == 404


def test_an_unknown_code_is_404_and_links_need_no_sign_in(author, reviewer, employee):
    assert Client().get("/s/not-a-code").status_code == 404
    message = publish(author, reviewer, link_url="https://example.com/")
    share = services.share_create(user=employee, message_id=message.pk, channel="x")
    anonymous = Client().get(f"/s/{share.code}")
    assert anonymous.status_code == 302
    assert anonymous["Location"] == "https://example.com/"


def test_my_shares_lists_mine_with_their_clicks(api, author, reviewer, employee, stranger):
    message = publish(author, reviewer)
    share = services.share_create(user=employee, message_id=message.pk, channel="x")
    services.share_create(user=stranger, message_id=message.pk, channel="x")
    follow(services.share_url(share))
    mine = api(employee).get("/api/v1/shares/").json()["results"]
    assert [(s["id"], s["clicks"]) for s in mine] == [(share.pk, 1)]


def test_usage_shows_shares_and_clicks_by_department(api, author, reviewer, employee, stranger):
    message = publish(author, reviewer)
    other = publish(author, reviewer, title="Other")
    s1 = services.share_create(user=employee, message_id=message.pk, channel="x")
    services.share_create(user=employee, message_id=message.pk, channel="linkedin")
    services.share_create(user=stranger, message_id=message.pk, channel="x")
    services.share_create(user=stranger, message_id=other.pk, channel="x")
    follow(services.share_url(s1))
    follow(services.share_url(s1), address="198.51.100.1")
    assert api(employee).get("/api/v1/messages/usage/").status_code == 403
    report = api(author).get("/api/v1/messages/usage/").json()
    assert report["totals"]["shares"] == 4
    assert report["totals"]["clicks"] == 2
    assert report["totals"]["sharers"] == 2
    first = report["messages"][0]
    assert first["id"] == message.pk
    assert first["shares"] == 3
    assert first["clicks"] == 2
    assert first["sharers"] == 2
    by_department = {d["department"]: d for d in first["departments"]}
    assert by_department["support"]["shares"] == 2
    assert by_department["support"]["clicks"] == 2
    assert by_department["finance"]["shares"] == 1
    assert by_department["finance"]["clicks"] == 0
    assert api(author).get("/api/v1/messages/usage/?from=2030-01-02&to=2030-01-01").status_code == 400
    assert api(author).get("/api/v1/messages/usage/?from=nonsense").status_code == 400
    web = Client()
    web.force_login(author)
    assert web.get("/messages/usage/").status_code == 200


def test_share_page_flow_without_script(client, author, reviewer, employee):
    message = publish(author, reviewer)
    client.force_login(employee)
    response = client.post(f"/messages/{message.pk}/share/", {"channel": "email"})
    assert response.status_code == 302
    assert Share.objects.filter(user=employee, channel="email").count() == 1


def test_share_page_flow_with_htmx_returns_the_text_to_copy(client, author, reviewer, employee):
    message = publish(author, reviewer, short_text="Refunds in five days #service")
    client.force_login(employee)
    response = client.post(f"/messages/{message.pk}/share/", {"channel": "x"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    share = Share.objects.get()
    body = response.content.decode()
    assert f"/s/{share.code}" in body
    assert "Refunds in five days #service" in body
    assert "data-copy-target" in body
