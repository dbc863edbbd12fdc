"""The web pages: curators write, preview and submit; reviewers work one queue; employees
browse by topic, search and share. The pages call the same services as the API."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Notification
from content import review, services
from content.models import Message, Status
from tests.content.conftest import make_message, publish

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_pages_need_sign_in_except_share_links():
    for url in ("/messages/", "/messages/new/", "/review/", "/toolkits/", "/messages/usage/"):
        response = Client().get(url)
        assert response.status_code == 302
        assert "/login/" in response["Location"]


def test_a_curator_writes_previews_and_submits(author, reviewer, topic, department):
    curator = signed_in(author)
    assert curator.get("/messages/new/").status_code == 200
    preview = curator.post("/messages/preview/", {"body": "**Bold** claim"})
    assert "<strong>Bold</strong>" in preview.content.decode()
    response = curator.post(
        "/messages/new/",
        {
            "title": "Refund timing",
            "body": "Five working days.",
            "short_text": "Refunds in 5 days",
            "topics": ["refunds"],
            "audience": ["support"],
            "submit": "1",
        },
    )
    message = Message.objects.get(title="Refund timing")
    assert response.status_code == 302
    assert response["Location"] == f"/messages/{message.pk}/"
    assert message.status == Status.IN_REVIEW
    assert [t.slug for t in message.topics.all()] == ["refunds"]


def test_form_errors_are_shown_next_to_the_field(author):
    curator = signed_in(author)
    response = curator.post("/messages/new/", {"title": "", "body": "x", "short_text": "y" * 281})
    assert response.status_code == 200
    assert Message.objects.count() == 0
    form = response.context["form"]
    assert "title" in form.errors
    assert "short_text" in form.errors


def test_only_curators_reach_the_editor(employee, reviewer):
    assert signed_in(employee).get("/messages/new/").status_code == 403
    assert signed_in(reviewer).get("/messages/new/").status_code == 403
    assert signed_in(employee).post("/messages/preview/", {"body": "x"}).status_code == 403


def test_a_reviewer_approves_the_revision_they_saw_from_the_page(author, reviewer):
    message = make_message(author)
    services.message_submit(user=author, message_id=message.pk)
    page = signed_in(reviewer).get(f"/messages/{message.pk}/")
    assert page.status_code == 200
    seen_revision = page.context["in_review_revision"].pk
    services.message_update(user=author, message_id=message.pk, fields={"body": "Sneaky change"})
    web = signed_in(reviewer)
    stale = web.post(f"/messages/{message.pk}/approve/", {"revision": seen_revision}, follow=True)
    assert Message.objects.get(pk=message.pk).status == Status.IN_REVIEW
    assert "changed since" in stale.content.decode()
    fresh = web.get(f"/messages/{message.pk}/").context["in_review_revision"].pk
    web.post(f"/messages/{message.pk}/approve/", {"revision": fresh})
    assert Message.objects.get(pk=message.pk).status == Status.PUBLISHED


def test_the_author_sees_no_review_buttons_and_cannot_approve_from_the_page(curator_reviewer):
    message = make_message(curator_reviewer)
    services.message_submit(user=curator_reviewer, message_id=message.pk)
    web = signed_in(curator_reviewer)
    page = web.get(f"/messages/{message.pk}/")
    assert page.context["can_review"] is False
    assert 'data-testid="approve"' not in page.content.decode()
    web.post(f"/messages/{message.pk}/approve/", {"revision": message.latest_revision_id})
    assert Message.objects.get(pk=message.pk).status == Status.IN_REVIEW


def test_rejecting_from_the_page_shows_the_comment_to_the_author(author, reviewer, django_capture_on_commit_callbacks):
    message = make_message(author)
    services.message_submit(user=author, message_id=message.pk)
    with django_capture_on_commit_callbacks(execute=True):
        signed_in(reviewer).post(
            f"/messages/{message.pk}/reject/", {"revision": message.latest_revision_id, "comment": "Cite the policy."}
        )
    assert Message.objects.get(pk=message.pk).status == Status.DRAFT
    page = signed_in(author).get(f"/messages/{message.pk}/").content.decode()
    assert "Cite the policy." in page
    assert Notification.objects.filter(user=author, body__contains="Cite the policy.").exists()


def test_editing_a_live_message_from_the_page_leaves_it_live(author, reviewer, employee):
    message = publish(author, reviewer)
    curator = signed_in(author)
    form = curator.get(f"/messages/{message.pk}/edit/")
    assert form.status_code == 200
    curator.post(f"/messages/{message.pk}/edit/", {"title": "Better title", "body": message.body})
    message.refresh_from_db()
    assert message.status == Status.PUBLISHED
    assert message.title == "Refunds take five days"
    assert message.has_pending_revision
    reader = signed_in(employee).get(f"/messages/{message.pk}/").content.decode()
    assert "Better title" not in reader
    reviewer_page = signed_in(reviewer).get(f"/messages/{message.pk}/").content.decode()
    assert "Better title" in reviewer_page


def test_one_review_queue_with_sections_other_apps_can_add(author, reviewer, employee):
    make_message(author, title="Waiting one")
    services.message_submit(user=author, message_id=Message.objects.get(title="Waiting one").pk)
    live = publish(author, reviewer, title="Live one")
    services.message_update(user=author, message_id=live.pk, fields={"title": "Live one, revised"})
    review.register_section(
        review.ReviewSection(
            key="answers-test",
            title="Answers",
            template_name="content/review/_messages.html",
            items=lambda user: [],
            order=-1,
        )
    )
    try:
        page = signed_in(reviewer).get("/review/")
        html = page.content.decode()
        assert page.status_code == 200
        assert "Waiting one" in html
        assert "Live one, revised" in html
        keys = [section.key for section, _items in page.context["sections"]]
        # Sections come in their order, whatever other apps (engage's answers) registered.
        assert keys[0] == "answers-test"
        assert keys.index("messages") < keys.index("toolkits")
    finally:
        review._SECTIONS.pop("answers-test")
    assert signed_in(employee).get("/review/").status_code == 403


def test_employees_browse_by_topic(author, reviewer, employee, topic):
    publish(author, reviewer, title="About refunds", topics=["refunds"])
    publish(author, reviewer, title="About nothing")
    web = signed_in(employee)
    html = web.get("/messages/?topic=refunds").content.decode()
    assert "About refunds" in html
    assert "About nothing" not in html
    everything = web.get("/messages/").content.decode()
    assert "About refunds" in everything
    assert "About nothing" in everything
    assert "Write a message" not in everything


def test_the_manage_list_is_for_curators_and_reviewers(author, reviewer, employee):
    make_message(author, title="Draft one")
    assert "Draft one" in signed_in(reviewer).get("/messages/manage/?status=draft").content.decode()
    assert "Draft one" in signed_in(author).get("/messages/manage/").content.decode()
    assert signed_in(employee).get("/messages/manage/").status_code == 403


def test_withdraw_from_the_page(author, reviewer, employee):
    message = publish(author, reviewer)
    signed_in(reviewer).post(f"/messages/{message.pk}/withdraw/", {"comment": "Outdated", "confirm": "1"})
    assert signed_in(employee).get(f"/messages/{message.pk}/").status_code == 404


def test_withdraw_needs_confirming_and_sits_apart_from_approve(author, reviewer, employee):
    message = publish(author, reviewer)
    client = signed_in(reviewer)
    refused = client.post(f"/messages/{message.pk}/withdraw/", {"comment": "Outdated"}, follow=True)
    assert "Nothing was withdrawn: tick the box to confirm" in refused.content.decode()
    assert signed_in(employee).get(f"/messages/{message.pk}/").status_code == 200  # still live

    html = client.get(f"/messages/{message.pk}/").content.decode()
    withdraw = html.index('aria-labelledby="withdraw-title"')
    assert 'name="confirm" value="1" required' in html[withdraw:]
    assert html.count("Withdraw now") == 1
    assert html.index("Withdraw now") > html.index('aria-labelledby="revisions-title"')  # after everything else


def test_unknown_actions_are_404(author, reviewer):
    message = publish(author, reviewer)
    assert signed_in(reviewer).post(f"/messages/{message.pk}/explode/").status_code == 404


def test_personal_data_export_includes_content(author, reviewer, employee):
    from accounts.models import User
    from accounts.signals import collect_personal_data

    message = publish(author, reviewer)
    services.share_create(user=employee, message_id=message.pk, channel="x")
    parts = {}
    for _receiver, part in collect_personal_data.send(sender=User, user=employee):
        if part:
            parts.update(part)
    assert parts["content"]["message_shares"][0]["message_id"] == message.pk
    author_parts = {}
    for _receiver, part in collect_personal_data.send(sender=User, user=author):
        if part:
            author_parts.update(part)
    assert author_parts["content"]["message_revisions"][0]["title"] == "Refunds take five days"


def test_home_cards_show_latest_messaging_and_what_waits_for_review(author, reviewer, employee):
    publish(author, reviewer, title="Fresh news")
    waiting = make_message(author, title="Waiting")
    services.message_submit(user=author, message_id=waiting.pk)
    home = signed_in(employee).get("/").content.decode()
    assert "Fresh news" in home
    assert "Waiting for your review" not in home
    reviewer_home = signed_in(reviewer).get("/").content.decode()
    assert "Waiting for your review" in reviewer_home
    assert "1 message and 0 toolkits wait" in reviewer_home
