"""The review workflow as API.md states it: statuses, refusals, revisions, pending revisions."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from accounts.models import Notification
from config.errors import Conflict, ServiceError
from content import services
from content.models import Action, Message, MessageRevision, PendingStatus, Status
from tests.content.conftest import make_message, publish

pytestmark = pytest.mark.django_db


def test_create_answers_201_with_a_draft_and_ignores_fields_it_does_not_take(api, author, reviewer, topic, department):
    response = api(author).post(
        "/api/v1/messages/",
        {
            "title": "Refunds",
            "body": "Five *days*.",
            "topics": ["refunds"],
            "audience": ["support"],
            "link_url": "https://example.com/refunds",
            "variants": {"short": "Refunds in 5 days", "long": "We refund every order within five days."},
            "status": "published",
            "approved_by": reviewer.pk,
            "author": reviewer.pk,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["status"] == "draft"
    assert data["id"]
    assert data["topics"] == ["refunds"]
    assert data["audience"] == ["support"]
    assert data["author"]["id"] == author.pk
    assert data["body_html"] == "<p>Five <em>days</em>.</p>\n"
    assert data["variants"] == {"short": "Refunds in 5 days", "long": "We refund every order within five days."}
    assert data["revision"]["number"] == 1
    assert data["pending_revision"] is None
    message = Message.objects.get(pk=data["id"])
    assert message.approved_by is None
    assert message.status == Status.DRAFT


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"body": "x"}, "title"),
        ({"title": "t"}, "body"),
        ({"title": "t", "body": "b", "topics": ["nope"]}, "topics"),
        ({"title": "t", "body": "b", "audience": ["nowhere"]}, "audience"),
        ({"title": "t", "body": "b", "variants": {"short": "x" * 281}}, "variants"),
        ({"title": "t", "body": "b", "link_url": "javascript:alert(1)"}, "link_url"),
        ({"title": "t", "body": "b", "publish_at": "tomorrow"}, "publish_at"),
        (
            {"title": "t", "body": "b", "publish_at": "2030-01-02T00:00:00Z", "expires_at": "2030-01-01T00:00:00Z"},
            "expires_at",
        ),
        ({"title": "t", "body": "b", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
    ],
)
def test_bad_input_is_400_naming_the_field(api, author, payload, field):
    response = api(author).post("/api/v1/messages/", payload, format="json")
    assert response.status_code == 400
    assert field in str(response.json())
    assert not Message.objects.exists()


def test_short_variant_of_exactly_280_characters_is_accepted(api, author):
    response = api(author).post(
        "/api/v1/messages/", {"title": "t", "body": "b", "variants": {"short": "x" * 280}}, format="json"
    )
    assert response.status_code == 201


def test_only_curators_write(api, employee, reviewer):
    for person in (employee, reviewer):
        response = api(person).post("/api/v1/messages/", {"title": "t", "body": "b"}, format="json")
        assert response.status_code == 403


def test_the_whole_way_through_the_api(api, author, reviewer):
    created = api(author).post("/api/v1/messages/", {"title": "Hello", "body": "World"}, format="json").json()
    submitted = api(author).post(f"/api/v1/messages/{created['id']}/submit/")
    assert submitted.status_code == 200
    assert submitted.json()["status"] == "in_review"
    approved = api(reviewer).post(f"/api/v1/messages/{created['id']}/approve/", {}, format="json")
    assert approved.status_code == 200
    assert approved.json()["status"] == "published"
    assert approved.json()["published_at"] is not None


def test_the_author_can_never_approve_even_holding_the_reviewer_role(api, curator_reviewer):
    message = make_message(curator_reviewer)
    services.message_submit(user=curator_reviewer, message_id=message.pk)
    response = api(curator_reviewer).post(f"/api/v1/messages/{message.pk}/approve/", {}, format="json")
    assert response.status_code == 403
    reject = api(curator_reviewer).post(f"/api/v1/messages/{message.pk}/reject/", {"comment": "hm"}, format="json")
    assert reject.status_code == 403
    assert Message.objects.get(pk=message.pk).status == Status.IN_REVIEW


def test_someone_who_wrote_the_revision_in_review_cannot_approve_it(author, curator_reviewer):
    message = make_message(author)
    services.message_update(user=curator_reviewer, message_id=message.pk, fields={"body": "Their words now"})
    services.message_submit(user=author, message_id=message.pk)
    with pytest.raises(PermissionDenied):
        services.message_approve(user=curator_reviewer, message_id=message.pk)


def test_curators_without_the_reviewer_role_cannot_approve(api, author, second_curator):
    message = make_message(author)
    services.message_submit(user=author, message_id=message.pk)
    assert api(second_curator).post(f"/api/v1/messages/{message.pk}/approve/", {}, format="json").status_code == 403


def test_only_the_author_submits(api, author, second_curator):
    message = make_message(author)
    assert api(second_curator).post(f"/api/v1/messages/{message.pk}/submit/").status_code == 403
    assert Message.objects.get(pk=message.pk).status == Status.DRAFT


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_reviewing_a_draft_is_a_conflict(api, author, reviewer, action):
    message = make_message(author)
    response = api(reviewer).post(f"/api/v1/messages/{message.pk}/{action}/", {"comment": "no"}, format="json")
    assert response.status_code == 409
    assert Message.objects.get(pk=message.pk).status == Status.DRAFT


def test_submitting_twice_or_approving_twice_is_a_conflict(api, author, reviewer):
    message = make_message(author)
    assert api(author).post(f"/api/v1/messages/{message.pk}/submit/").status_code == 200
    assert api(author).post(f"/api/v1/messages/{message.pk}/submit/").status_code == 409
    assert api(reviewer).post(f"/api/v1/messages/{message.pk}/approve/", {}, format="json").status_code == 200
    assert api(reviewer).post(f"/api/v1/messages/{message.pk}/approve/", {}, format="json").status_code == 409


def test_reject_needs_a_comment_then_returns_to_draft_and_tells_the_author(api, author, reviewer, on_commit):
    message = make_message(author)
    services.message_submit(user=author, message_id=message.pk)
    assert api(reviewer).post(f"/api/v1/messages/{message.pk}/reject/", {}, format="json").status_code == 400
    assert (
        api(reviewer).post(f"/api/v1/messages/{message.pk}/reject/", {"comment": "  "}, format="json").status_code
        == 400
    )
    response = api(reviewer).post(
        f"/api/v1/messages/{message.pk}/reject/", {"comment": "Say which orders."}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "draft"
    assert response.json()["last_review"]["comment"] == "Say which orders."
    assert response.json()["last_review"]["actor"]["id"] == reviewer.pk


def test_rejection_comment_reaches_the_author_as_a_notification(author, reviewer, django_capture_on_commit_callbacks):
    message = make_message(author)
    with django_capture_on_commit_callbacks(execute=True):
        services.message_submit(user=author, message_id=message.pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.message_reject(user=reviewer, message_id=message.pk, comment="Say which orders.")
    note = Notification.objects.get(user=author, kind="content_review_result")
    assert "Say which orders." in note.body
    assert note.url == f"/messages/{message.pk}/"
    # Submitting told the reviewers, not the author.
    assert Notification.objects.filter(user=reviewer, kind="content_review_requested").count() == 1
    assert not Notification.objects.filter(user=author, kind="content_review_requested").exists()


def test_approval_tells_the_author(author, reviewer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        publish(author, reviewer)
    assert Notification.objects.filter(user=author, kind="content_review_result", title__startswith="Approved").exists()


def test_every_edit_leaves_a_revision(api, author, second_curator):
    message = make_message(author)
    client = api(author)
    for n in range(2, 5):
        response = client.patch(f"/api/v1/messages/{message.pk}/", {"body": f"Version {n}"}, format="json")
        assert response.status_code == 200
        assert response.json()["revision"]["number"] == n
    api(second_curator).patch(f"/api/v1/messages/{message.pk}/", {"title": "Their title"}, format="json")
    revisions = list(MessageRevision.objects.filter(message=message).order_by("number"))
    assert [r.number for r in revisions] == [1, 2, 3, 4, 5]
    assert [r.body for r in revisions[:4]] == [
        "We refund **every** order in five days.",
        "Version 2",
        "Version 3",
        "Version 4",
    ]
    assert revisions[-1].author == second_curator
    assert revisions[-1].title == "Their title"
    assert revisions[-1].body == "Version 4"
    listed = api(author).get(f"/api/v1/messages/{message.pk}/revisions/").json()["results"]
    assert [r["number"] for r in listed] == [5, 4, 3, 2, 1]
    assert listed[0]["status"] == "draft"
    assert listed[1]["status"] == "superseded"


def test_an_edit_that_changes_nothing_makes_no_revision(author):
    message = make_message(author)
    services.message_update(user=author, message_id=message.pk, fields={"title": message.title})
    assert message.revisions.count() == 1


def test_approval_is_tied_to_the_revision_the_reviewer_saw(api, author, reviewer):
    message = make_message(author)
    services.message_submit(user=author, message_id=message.pk)
    seen = api(reviewer).get(f"/api/v1/messages/{message.pk}/").json()["revision"]["id"]
    services.message_update(user=author, message_id=message.pk, fields={"body": "Changed after the reviewer looked"})
    stale = api(reviewer).post(f"/api/v1/messages/{message.pk}/approve/", {"revision": seen}, format="json")
    assert stale.status_code == 409
    assert Message.objects.get(pk=message.pk).status == Status.IN_REVIEW
    fresh = api(reviewer).get(f"/api/v1/messages/{message.pk}/").json()["revision"]["id"]
    ok = api(reviewer).post(f"/api/v1/messages/{message.pk}/approve/", {"revision": fresh}, format="json")
    assert ok.status_code == 200
    assert ok.json()["body"] == "Changed after the reviewer looked"
    approved = message.events.get(action=Action.APPROVED)
    assert approved.revision_id == fresh


def test_editing_a_published_message_keeps_it_live_with_a_pending_revision(api, author, reviewer, employee):
    message = publish(author, reviewer)
    live_revision = message.revision_id
    response = api(author).patch(f"/api/v1/messages/{message.pk}/", {"body": "New wording"}, format="json")
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "published"
    assert data["body"] == "We refund **every** order in five days."
    assert data["revision"]["id"] == live_revision
    assert data["pending_revision"]["status"] == "in_review"
    assert data["pending_revision"]["body"] == "New wording"
    assert data["pending_revision"]["number"] == 2
    # Employees see the live wording, and nothing of the pending one.
    seen = api(employee).get(f"/api/v1/messages/{message.pk}/").json()
    assert seen["body"] == "We refund **every** order in five days."
    assert seen["pending_revision"] is None


def test_rejecting_a_pending_revision_leaves_the_live_one_untouched(api, author, reviewer, employee):
    message = publish(author, reviewer)
    services.message_update(user=author, message_id=message.pk, fields={"title": "Risky new title"})
    response = api(reviewer).post(f"/api/v1/messages/{message.pk}/reject/", {"comment": "Too risky"}, format="json")
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "published"
    assert data["title"] == "Refunds take five days"
    assert data["pending_revision"]["status"] == "draft"
    assert data["pending_revision"]["title"] == "Risky new title"
    assert api(employee).get(f"/api/v1/messages/{message.pk}/").json()["title"] == "Refunds take five days"
    # The author fixes it and submits again; approval makes it live.
    services.message_update(user=author, message_id=message.pk, fields={"title": "Safer new title"})
    message.refresh_from_db()
    assert message.pending_status == PendingStatus.IN_REVIEW
    approved = api(reviewer).post(f"/api/v1/messages/{message.pk}/approve/", {}, format="json").json()
    assert approved["title"] == "Safer new title"
    assert approved["pending_revision"] is None
    assert approved["revision"]["number"] == 3


def test_a_sent_back_pending_revision_can_be_submitted_again_unchanged(author, reviewer):
    message = publish(author, reviewer)
    services.message_update(user=author, message_id=message.pk, fields={"title": "New"})
    services.message_reject(user=reviewer, message_id=message.pk, comment="Not now")
    message = services.message_submit(user=author, message_id=message.pk)
    assert message.pending_status == PendingStatus.IN_REVIEW
    assert message.status == Status.PUBLISHED


def test_approving_a_pending_revision_with_a_stale_id_is_409(author, reviewer):
    message = publish(author, reviewer)
    services.message_update(user=author, message_id=message.pk, fields={"title": "Second"})
    with pytest.raises(Conflict):
        services.message_approve(user=reviewer, message_id=message.pk, revision_id=message.revision_id)


def test_history_shows_who_did_what_when(api, author, reviewer):
    message = make_message(author)
    services.message_submit(user=author, message_id=message.pk)
    services.message_reject(user=reviewer, message_id=message.pk, comment="Shorter, please")
    services.message_update(user=author, message_id=message.pk, fields={"body": "Short."})
    services.message_submit(user=author, message_id=message.pk)
    services.message_approve(user=reviewer, message_id=message.pk)
    history = api(reviewer).get(f"/api/v1/messages/{message.pk}/history/").json()["results"]
    assert [(e["action"], e["actor"]["id"] if e["actor"] else None) for e in history] == [
        ("created", author.pk),
        ("submitted", author.pk),
        ("rejected", reviewer.pk),
        ("edited", author.pk),
        ("submitted", author.pk),
        ("approved", reviewer.pk),
        ("published", reviewer.pk),
    ]
    assert history[2]["comment"] == "Shorter, please"
    assert history[5]["revision"]["number"] == 2


def test_employees_cannot_read_revisions_or_history_of_what_they_see(api, author, reviewer, employee):
    message = publish(author, reviewer)
    assert api(employee).get(f"/api/v1/messages/{message.pk}/revisions/").status_code == 403
    assert api(employee).get(f"/api/v1/messages/{message.pk}/history/").status_code == 403


def test_withdrawing_takes_a_message_down_at_once(api, author, reviewer, employee):
    message = publish(author, reviewer)
    response = api(reviewer).post(f"/api/v1/messages/{message.pk}/withdraw/", {"comment": "Legal"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "expired"
    assert api(employee).get(f"/api/v1/messages/{message.pk}/").status_code == 404
    assert api(reviewer).post(f"/api/v1/messages/{message.pk}/withdraw/", {}, format="json").status_code == 409


def test_service_refuses_unknown_fields(author):
    message = make_message(author)
    with pytest.raises(ServiceError):
        services.message_update(user=author, message_id=message.pk, fields={"status": "published"})
