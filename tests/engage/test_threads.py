"""Conversations (issue 13): a query's thread of customer messages, answers and notes."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Notification
from engage import services
from engage.models import Answer, AnswerRevision, CustomerMessage, Delivery, Query, QueryNote
from tests.concurrency import run_together
from tests.engage.conftest import payload, signed_post

pytestmark = pytest.mark.django_db


def test_a_received_query_holds_its_text_as_the_first_message(post_webhook):
    response = post_webhook(payload("root-1", text="Where is my parcel?", url="https://forum.example/t/9"))
    query = Query.objects.get(pk=response.json()["id"])
    (first,) = CustomerMessage.objects.filter(query=query)
    assert (first.external_id, first.text, first.author_handle, first.author_name, first.url, first.turn) == (
        "root-1", "Where is my parcel?", "@cust", "Cus", "https://forum.example/t/9", 1,
    )  # fmt: skip
    assert first.received_at == query.received_at
    assert first.channel_id == query.channel_id
    again = post_webhook(payload("root-1"))
    assert again.json() == {"id": query.pk, "created": False}
    assert CustomerMessage.objects.count() == 1


def test_a_published_answer_replies_to_the_thread_and_its_delivery_says_so(api, responder, make_query, department):
    query = make_query(department=department, external_id="root-2")
    services.query_claim(user=responder, query_id=query.pk)
    response = api(responder).post(f"/api/v1/queries/{query.pk}/answers/", {"body": "On its way."}, format="json")
    assert response.status_code == 201, response.content
    answer = Answer.objects.get(pk=response.json()["id"])
    first = CustomerMessage.objects.get(query=query)
    assert (answer.turn, answer.in_reply_to_id) == (1, first.pk)
    delivery = Delivery.objects.get(answer=answer)
    assert delivery.payload["thread_id"] == "root-2"
    assert delivery.payload["in_reply_to"] == "root-2"
    assert delivery.payload["query_external_id"] == "root-2"


def test_an_answer_through_review_replies_to_the_thread_too(api, owner, reviewer, make_query, department):
    query = make_query(department=department, external_id="root-3")
    services.query_claim(user=owner, query_id=query.pk)
    submitted = services.answer_submit(user=owner, query_id=query.pk, body="Let me check.")
    services.answer_approve(user=reviewer, answer_id=submitted.pk)
    answer = Answer.objects.get(pk=submitted.pk)
    assert answer.in_reply_to == CustomerMessage.objects.get(query=query)
    assert Delivery.objects.get(answer=answer).payload["in_reply_to"] == "root-3"


# --- Follow-ups through the webhook ---------------------------------------------------------------


def _answered(api, responder, query, body="Here you are."):
    services.query_claim(user=responder, query_id=query.pk)
    response = api(responder).post(f"/api/v1/queries/{query.pk}/answers/", {"body": body}, format="json")
    assert response.status_code == 201, response.content
    return Answer.objects.get(pk=response.json()["id"])


def test_a_follow_up_on_an_answered_query_reopens_it_with_a_target_of_its_own(
    post_webhook, api, responder, department, refund_topic
):
    root = post_webhook(payload("root-4", text="I need a refund", priority="high")).json()["id"]
    query = Query.objects.get(pk=root)
    first_target, first_answer = query.sla_due_at, _answered(api, responder, query)
    answered_at = Query.objects.get(pk=root).answered_at
    response = post_webhook(payload("reply-4", text="It has not arrived yet", thread_id="root-4"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["id"], body["created"], body["reopened"]) == (root, True, True)
    query.refresh_from_db()
    assert (query.state, query.turn, query.claimed_by_id) == ("open", 2, None)
    assert query.department == department  # routed as before: back in its department's queue
    assert query.first_sla_due_at == first_target
    assert query.sla_due_at - query.reopened_at == timedelta(hours=4)  # a high query's target, from the follow-up
    assert query.answered_at == answered_at  # the first answer's time stays
    follow_up = CustomerMessage.objects.get(pk=body["message_id"])
    assert (follow_up.query_id, follow_up.turn, follow_up.text) == (root, 2, "It has not arrived yet")
    # The second answer is the second turn's, replying to the follow-up; the delivery threads it.
    second = _answered(api, responder, query, body="Sent again today.")
    assert (second.turn, second.in_reply_to_id) == (2, follow_up.pk)
    payload_out = Delivery.objects.get(answer=second).payload
    assert (payload_out["thread_id"], payload_out["in_reply_to"]) == ("root-4", "reply-4")
    query.refresh_from_db()
    assert query.state == "answered"
    assert query.answered_at == answered_at
    assert Answer.objects.filter(query=query, status="published").count() == 2
    assert first_answer.pk != second.pk


def test_in_reply_to_names_any_earlier_message_and_joins_an_open_query_without_reopening(post_webhook):
    root = post_webhook(payload("root-5")).json()["id"]
    first = post_webhook(payload("reply-5a", text="Also, the box was damaged", in_reply_to="root-5")).json()
    second = post_webhook(payload("reply-5b", text="And a photo", in_reply_to="reply-5a")).json()
    assert (first["id"], first["reopened"], second["id"], second["reopened"]) == (root, False, root, False)
    query = Query.objects.get(pk=root)
    assert (query.state, query.turn, query.reopened_at) == ("open", 1, None)
    assert list(CustomerMessage.objects.filter(query=query).values_list("external_id", "turn")) == [
        ("root-5", 1), ("reply-5a", 1), ("reply-5b", 1),
    ]  # fmt: skip


def test_a_redelivered_follow_up_is_stored_once_and_answers_200(post_webhook):
    post_webhook(payload("root-6"))
    first = post_webhook(payload("reply-6", thread_id="root-6"))
    again = post_webhook(payload("reply-6", text="changed", thread_id="root-6"))
    without_key = post_webhook(payload("reply-6"))  # the same id, its thread key lost: still the same message
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["message_id"] == first.json()["message_id"]
    assert again.json()["created"] is False
    assert without_key.status_code == 200
    assert without_key.json() == {"id": first.json()["id"], "created": False}
    assert CustomerMessage.objects.filter(external_id="reply-6").get().text == "I need a refund for my order"
    assert Query.objects.count() == 1


def test_a_thread_key_naming_nothing_makes_a_new_query_as_without_one(post_webhook):
    response = post_webhook(payload("lonely", thread_id="never-sent", in_reply_to="nor-this"))
    assert response.status_code == 201
    assert response.json() == {"id": Query.objects.get(external_id="lonely").pk, "created": True}


def test_a_thread_key_must_be_a_string(post_webhook):
    response = post_webhook(payload("bad", thread_id=7))
    assert response.status_code == 400
    assert "thread_id" in response.json()
    assert Query.objects.count() == 0


def test_a_follow_up_on_a_closed_query_is_kept_and_the_query_stays_closed(post_webhook, reviewer):
    root = post_webhook(payload("root-7")).json()["id"]
    services.query_close(user=reviewer, query_id=root, reason="spam")
    body = post_webhook(payload("reply-7", thread_id="root-7")).json()
    assert (body["id"], body["reopened"]) == (root, False)
    assert Query.objects.get(pk=root).state == "closed"
    assert CustomerMessage.objects.filter(query_id=root).count() == 2


# --- Concurrency, on PostgreSQL with real connections -------------------------------------------------


def _signed(channel, body):
    return signed_post(Client(), channel.url, channel.secret, json.dumps(body).encode())


def _received(channel, body):
    """A new query through the webhook; its id. A failure shows what the server answered: a bare
    ``KeyError: 'id'`` here hid a 404 "No such channel." when another test run flushed this
    test database meanwhile (tests/conftest.py now refuses a second run on one test database)."""
    response = _signed(channel, body)
    assert response.status_code == 201, (response.status_code, response.content)
    return int(response.json()["id"])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_simultaneous_duplicate_follow_ups_store_one_message(channel):
    root = _received(channel, payload("root-8"))
    Query.objects.filter(pk=root).update(state="answered", answered_at=timezone.now())
    duplicate = payload("reply-8", text="Any news?", thread_id="root-8")
    results = run_together(20, lambda _i: _signed(channel, duplicate))
    assert len(results) == 20
    assert sorted(r.status_code for r in results) == [200] * 19 + [201]
    assert {r.json()["id"] for r in results} == {root}
    assert {r.json()["message_id"] for r in results} == {CustomerMessage.objects.get(external_id="reply-8").pk}
    query = Query.objects.get(pk=root)
    assert (query.state, query.turn) == ("open", 2)  # re-opened once, not twenty times


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_follow_up_arriving_while_the_answer_is_published_is_never_lost(channel, api, responder, department):
    """Either the follow-up joins the turn the answer answers (it came first), or it re-opens the
    query for the next turn (it came after): never an answered query with an unanswered message."""
    outcomes = set()
    for n in range(6):
        root = _received(channel, payload(f"root-9-{n}"))
        Query.objects.filter(pk=root).update(department=department, routed_at=timezone.now())
        services.query_claim(user=responder, query_id=root)
        client = api(responder)

        def work(index: int, root: int = root, n: int = n, client=client):
            if index == 0:
                return client.post(f"/api/v1/queries/{root}/answers/", {"body": "Done."}, format="json")
            return _signed(channel, payload(f"reply-9-{n}", text="One more thing", thread_id=f"root-9-{n}"))

        answered, followed = sorted(run_together(2, work), key=lambda r: "message_id" in r.json())
        assert answered.status_code == 201, answered.content
        assert followed.status_code == 201, followed.content
        query = Query.objects.get(pk=root)
        message = CustomerMessage.objects.get(external_id=f"reply-9-{n}")
        answer = Answer.objects.get(query=query, status="published")
        if followed.json()["reopened"]:  # after the answer
            assert (query.state, query.turn, message.turn) == ("open", 2, 2)
            assert answer.in_reply_to.external_id == f"root-9-{n}"
            outcomes.add("after")
        else:  # before it: the answer replies to it
            assert (query.state, query.turn, message.turn) == ("answered", 1, 1)
            assert answer.in_reply_to_id == message.pk
            outcomes.add("before")
    assert outcomes  # each run was one of the two orders, consistently


# --- Revisions and review decisions ----------------------------------------------------------------


def test_a_rejected_text_and_its_comment_are_kept_when_the_answer_is_written_again(
    api, owner, reviewer, make_query, department, colleague
):
    query = make_query(department=department)
    services.query_claim(user=owner, query_id=query.pk)
    first = services.answer_submit(user=owner, query_id=query.pk, body="Try turning it off and on.")
    services.answer_reject(user=reviewer, answer_id=first.pk, comment="Link the approved wording.")
    second = services.answer_submit(user=owner, query_id=query.pk, body="Here is the approved wording.")
    assert second.pk == first.pk  # the same answer, written again
    services.answer_approve(user=reviewer, answer_id=second.pk)
    rows = list(AnswerRevision.objects.filter(answer=second).order_by("number"))
    assert [(r.number, r.body, r.outcome, r.comment, r.reviewed_by_id) for r in rows] == [
        (1, "Try turning it off and on.", "rejected", "Link the approved wording.", reviewer.pk),
        (2, "Here is the approved wording.", "approved", "", reviewer.pk),
    ]
    # Shown to the author and to reviewers, through the API and on the page; not to a colleague.
    for person in (owner, reviewer):
        listed = api(person).get(f"/api/v1/answers/{second.pk}/revisions/").json()["results"]
        assert [(r["number"], r["outcome"], r["comment"]) for r in listed] == [
            (1, "rejected", "Link the approved wording."), (2, "approved", ""),
        ]  # fmt: skip
    assert api(colleague).get(f"/api/v1/answers/{second.pk}/revisions/").status_code == 403
    client = Client()
    client.force_login(owner)
    page = client.get(f"/queries/{query.pk}/").content.decode()
    assert "Try turning it off and on." in page
    assert "Link the approved wording." in page
    client.force_login(colleague)
    assert "Try turning it off and on." not in client.get(f"/queries/{query.pk}/").content.decode()


def test_revisions_of_an_answer_nobody_may_see_are_404(api, owner, outsider, make_query, department):
    query = make_query(department=department)
    services.query_claim(user=owner, query_id=query.pk)
    answer = services.answer_submit(user=owner, query_id=query.pk, body="In review.")
    assert api(outsider).get(f"/api/v1/answers/{answer.pk}/revisions/").status_code == 404


# --- Notes and mentions ------------------------------------------------------------------------------


def _note(api, user, query, body):
    return api(user).post(f"/api/v1/queries/{query.pk}/notes/", {"body": body}, format="json")


def test_a_note_mentioning_a_colleague_tells_them_in_the_app_and_by_mail_and_links_to_the_query(
    api, owner, colleague, make_query, department, django_capture_on_commit_callbacks, mailoutbox
):
    query = make_query(department=department)
    handle = colleague.email.split("@")[0]
    with django_capture_on_commit_callbacks(execute=True):
        response = _note(api, owner, query, f"@{handle} could you check the refund policy?")
    assert response.status_code == 201, response.content
    note = response.json()
    assert note["mentions"] == [colleague.pk]
    assert QueryNote.objects.get(pk=note["id"]).body.startswith(f"@{handle}")
    told = Notification.objects.get(user=colleague, kind="engage.note_mention")
    assert told.url == f"/queries/{query.pk}/#note-{note['id']}"
    assert owner.name in told.title
    assert [m.to for m in mailoutbox] == [[colleague.email]]
    assert f"/queries/{query.pk}/" in mailoutbox[0].body
    assert not Notification.objects.filter(user=owner, kind="engage.note_mention").exists()


def test_a_mention_follows_the_persons_preferences(
    api, owner, colleague, make_query, department, django_capture_on_commit_callbacks, mailoutbox
):
    colleague.notification_prefs = {"engage.note_mention": {"email": False, "in_app": True}}
    colleague.save(update_fields=["notification_prefs"])
    query = make_query(department=department)
    with django_capture_on_commit_callbacks(execute=True):
        assert _note(api, owner, query, f"cc @{colleague.email}").status_code == 201
    assert Notification.objects.filter(user=colleague, kind="engage.note_mention", in_app=True).count() == 1
    assert mailoutbox == []


def test_only_people_who_can_see_the_query_can_be_mentioned(api, owner, outsider, make_query, department):
    query = make_query(department=department)
    response = _note(api, owner, query, f"@{outsider.email.split('@')[0]} have a look")
    assert response.status_code == 400
    assert response.json()["field"] == "body"
    assert "cannot see this query" in str(response.json())
    nobody = _note(api, owner, query, "@no-such-person hello")
    assert nobody.status_code == 400
    assert "names nobody" in str(nobody.json())
    assert QueryNote.objects.count() == 0  # nothing half-written
    assert Notification.objects.filter(kind="engage.note_mention").count() == 0


def test_notes_are_404_to_those_who_cannot_see_the_query_and_400_when_empty(
    api, owner, outsider, make_query, department
):
    query = make_query(department=department)
    assert _note(api, outsider, query, "hello").status_code == 404  # 404 before 400
    assert _note(api, outsider, query, "").status_code == 404
    assert api(outsider).get(f"/api/v1/queries/{query.pk}/thread/").status_code == 404
    empty = _note(api, owner, query, "   ")
    assert empty.status_code == 400
    assert empty.json()["field"] == "body"


def test_the_thread_lists_messages_answers_and_notes_in_order(api, post_webhook, responder, department):
    root = post_webhook(payload("root-10", text="First")).json()["id"]
    Query.objects.filter(pk=root).update(department=department, routed_at=timezone.now())
    query = Query.objects.get(pk=root)
    assert _note(api, responder, query, "Looking into it").status_code == 201
    _answered(api, responder, query, body="Answer one")
    post_webhook(payload("reply-10", text="Second", thread_id="root-10"))
    thread = api(responder).get(f"/api/v1/queries/{root}/thread/").json()["results"]
    assert [(e["kind"], e["text"]) for e in thread] == [
        ("message", "First"), ("note", "Looking into it"), ("answer", "Answer one"), ("message", "Second"),
    ]  # fmt: skip
    assert thread[2]["in_reply_to"] == "root-10"
    assert (thread[3]["turn"], thread[3]["external_id"]) == (2, "reply-10")


def test_the_query_page_costs_the_same_however_long_the_thread(post_webhook, api, responder, department, colleague):
    root = post_webhook(payload("root-11")).json()["id"]
    Query.objects.filter(pk=root).update(department=department, routed_at=timezone.now())
    query = Query.objects.get(pk=root)
    client = Client()
    client.force_login(responder)

    def page_statements() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"/queries/{root}/").status_code == 200
        return len(captured.captured_queries)

    def one_more_turn(n: int) -> None:
        _answered(api, responder, Query.objects.get(pk=root), body=f"Answer {n}")
        post_webhook(payload(f"reply-11-{n}", text=f"Follow-up {n}", thread_id="root-11"))
        handle = colleague.email.split("@")[0]
        assert _note(api, responder, query, f"Note {n} for @{handle}").status_code == 201

    one_more_turn(0)
    short = page_statements()
    for n in range(1, 6):
        one_more_turn(n)
    long = page_statements()
    page = client.get(f"/queries/{root}/").content.decode()
    for text in ("Follow-up 5", "Answer 5", "Note 5"):
        assert text in page
    assert long == short, (short, long)


def test_the_dashboard_reports_follow_up_answers_beside_the_metrics_and_the_metrics_count_first_answers(
    api, post_webhook, responder, department
):
    from engage.dashboard.follow_ups import follow_up_report
    from engage.phase.metrics import Window, answers_published

    root = post_webhook(payload("root-12")).json()["id"]
    Query.objects.filter(pk=root).update(department=department, routed_at=timezone.now())
    _answered(api, responder, Query.objects.get(pk=root))
    post_webhook(payload("reply-12", thread_id="root-12"))
    second = _answered(api, responder, Query.objects.get(pk=root), body="Again")
    today = timezone.localdate()
    window = Window(as_of=today, days=30)
    assert list(answers_published(window).values_list("turn", flat=True)) == [1]  # the query counts once
    report = follow_up_report(as_of=today, window_days=30)
    assert (report["received"], report["answered"], report["within_target"]) == (1, 1, 1)
    started = CustomerMessage.objects.get(external_id="reply-12").received_at
    assert report["median_seconds"] == pytest.approx((second.published_at - started).total_seconds())
    assert follow_up_report(as_of=today, window_days=30, department=department)["answered"] == 1


def test_the_page_takes_a_note_and_refuses_a_mention_of_someone_who_cannot_see_it(
    owner, outsider, make_query, department
):
    query = make_query(department=department)
    client = Client()
    client.force_login(owner)
    bad = f"@{outsider.email.split('@')[0]} please look"
    refused = client.post(f"/queries/{query.pk}/notes/", {"body": bad}, follow=True)
    page = refused.content.decode()
    assert "cannot see this query" in page
    assert "please look</textarea>" in page  # the text is kept for another try
    assert QueryNote.objects.count() == 0
    made = client.post(f"/queries/{query.pk}/notes/", {"body": "Checked the **order**."}, follow=True)
    note = QueryNote.objects.get()
    assert f'id="note-{note.pk}"' in made.content.decode()
    assert "<strong>order</strong>" in made.content.decode()
    client.force_login(outsider)
    assert client.post(f"/queries/{query.pk}/notes/", {"body": "hi"}).status_code == 404


def test_an_answer_published_without_review_keeps_its_revision_too(api, responder, make_query, department):
    """The one-statement publication (PostgreSQL, no messages) keeps the revision the general
    way keeps: the same history on every database."""
    query = make_query(department=department)
    services.query_claim(user=responder, query_id=query.pk)
    response = api(responder).post(f"/api/v1/queries/{query.pk}/answers/", {"body": "On its *way*."}, format="json")
    assert response.status_code == 201, response.content
    answer_id = response.json()["id"]
    (revision,) = AnswerRevision.objects.filter(answer_id=answer_id)
    assert (revision.number, revision.author_id, revision.body, revision.outcome, revision.message_ids) == (
        1, responder.pk, "On its *way*.", "published", [],
    )  # fmt: skip
    assert revision.body_html == Answer.objects.get(pk=answer_id).body_html
    listed = api(responder).get(f"/api/v1/answers/{answer_id}/revisions/").json()["results"]
    assert [(r["number"], r["outcome"], r["body"]) for r in listed] == [(1, "published", "On its *way*.")]
