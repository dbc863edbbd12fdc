"""Customer ratings: each published answer's delivery carries a signed, expiring link to a
public page where the customer rates it 1 to 5 with an optional comment, once per answer
(a later visit changes it); bad input writes nothing; the API reads it."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.core import signing
from django.db import connection
from django.test import Client
from django.utils import timezone

from engage import ratings, services
from engage.models import Answer, AnswerRating, AnswerStatus, Delivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(responder, make_query, department, django_capture_on_commit_callbacks) -> Answer:
    query = make_query(department=department)
    services.query_claim(user=responder, query_id=query.pk)
    with django_capture_on_commit_callbacks(execute=True):
        answer = services.answer_submit(user=responder, query_id=query.pk, body="Your refund left on **Monday**.")
    assert answer.status == AnswerStatus.PUBLISHED
    return Answer.objects.get(pk=answer.pk)


def link_path(answer: Answer) -> str:
    url = ratings.link_for(answer_id=answer.pk, published_at=answer.published_at)
    return url.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def customer() -> Client:
    return Client(enforce_csrf_checks=True)


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert match, "the form carries a CSRF token"
    return match.group(1)


def rate(client: Client, path: str, **fields: Any) -> Any:
    page = client.get(path)
    assert page.status_code == 200
    return client.post(path, {"csrfmiddlewaretoken": csrf_of(page.content.decode()), **fields})


def test_the_delivery_carries_the_link_the_customer_rates_with_without_signing_in(published, settings):
    delivery = Delivery.objects.get(answer=published)
    assert delivery.status == "delivered"
    url = ratings.with_rating_link(delivery.payload, answer_id=published.pk)["rating_url"]
    assert url.startswith(f"{settings.ENGAGE_SITE_URL}/rate/")
    path = link_path(published)
    assert url.endswith(path)
    client = customer()
    page = client.get(path).content.decode()
    assert "How did we do?" in page
    assert "Your refund left on <strong>Monday</strong>." in page

    done = rate(client, path, score="4", comment="Quick, thanks")
    assert done.status_code == 302
    assert done["Location"] == f"{path}?thanks=1"
    thanks = client.get(done["Location"]).content.decode()
    assert "Thank you for your rating" in thanks
    assert "You rated this answer 4 out of 5." in thanks
    rating = AnswerRating.objects.get(answer=published)
    assert (rating.score, rating.comment) == (4, "Quick, thanks")

    # A second visit changes it: still one rating, the first time kept.
    first_time = rating.created_at
    again = rate(customer(), path, score="5", comment="")
    assert again.status_code == 302
    rating.refresh_from_db()
    assert (rating.score, rating.comment, rating.created_at) == (5, "", first_time)
    assert rating.updated_at > first_time
    assert AnswerRating.objects.count() == 1


def test_the_link_is_the_same_at_every_attempt_and_expires_with_the_window(published):
    one = ratings.link_for(answer_id=published.pk, published_at=published.published_at)
    assert one == ratings.link_for(answer_id=published.pk, published_at=published.published_at)
    opened = ratings.link_open(one.rsplit("/", 2)[1])
    assert opened.expires_at == published.published_at.replace(microsecond=0) + timedelta(days=14)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({}, "score"),
        ({"score": "0"}, "score"),
        ({"score": "6"}, "score"),
        ({"score": "four"}, "score"),
        ({"score": "4", "comment": "x" * 2001}, "comment"),
    ],
)
def test_bad_input_writes_nothing_and_says_which_field(published, fields, field):
    path = link_path(published)
    response = rate(customer(), path, **fields)
    assert response.status_code == 400
    page = response.content.decode()
    assert f'id="{field}-error"' in page
    assert not AnswerRating.objects.exists()


def test_a_bad_change_leaves_the_rating_as_it_was(published):
    path = link_path(published)
    rate(customer(), path, score="2", comment="Slow")
    assert rate(customer(), path, score="9", comment="changed").status_code == 400
    rating = AnswerRating.objects.get()
    assert (rating.score, rating.comment) == (2, "Slow")


def test_the_comment_is_sanitised(published):
    path = link_path(published)
    assert (
        rate(customer(), path, score="3", comment="<script>alert(1)</script><b>ok</b>\u202e done\r\nline").status_code
        == 302
    )
    assert AnswerRating.objects.get().comment == "alert(1)ok done\nline"
    ratings.rating_save(token=path.split("/")[2], score=3, comment="a\x00b\x1bc")
    assert AnswerRating.objects.get().comment == "abc"
    page = customer().get(path).content.decode()
    assert "<script>" not in page


def test_a_post_without_the_csrf_token_is_refused(published):
    response = customer().post(link_path(published), {"score": "5"})
    assert response.status_code == 403
    assert not AnswerRating.objects.exists()


def test_a_tampered_or_foreign_link_is_404(published):
    path = link_path(published)
    token = path.split("/")[2]
    assert customer().get(path.replace(token, token[:-2] + "xx")).status_code == 404
    assert customer().get("/rate/not-a-token/").status_code == 404
    forged = signing.dumps([published.pk, 9999999999], salt="another.salt")
    assert customer().get(f"/rate/{forged}/").status_code == 404


def test_an_expired_link_is_closed(published, settings):
    Answer.objects.filter(pk=published.pk).update(published_at=timezone.now() - timedelta(days=15))
    published.refresh_from_db()
    path = link_path(published)
    assert customer().get(path).status_code == 410
    settings.ENGAGE_RATING_WINDOW_DAYS = 30
    assert customer().get(link_path(published)).status_code == 200


def test_a_withdrawn_answer_cannot_be_rated(published):
    path = link_path(published)
    Answer.objects.filter(pk=published.pk).update(status=AnswerStatus.WITHDRAWN)
    assert customer().get(path).status_code == 404


def test_the_api_reads_the_rating(api, published, owner, outsider):
    url = f"/api/v1/answers/{published.pk}/rating/"
    assert api(owner).get(url).json() == {
        "answer": published.pk,
        "rated": False,
        "score": None,
        "comment": "",
        "created_at": None,
        "updated_at": None,
    }
    rate(customer(), link_path(published), score="4", comment="Fine")
    body = api(owner).get(url).json()
    assert (body["rated"], body["score"], body["comment"]) == (True, 4, "Fine")
    assert api(outsider).get(url).status_code == 404
    assert api().get(url).status_code == 401
    schema = api(owner).get("/api/v1/schema/?format=json").json()
    assert "200" in schema["paths"]["/api/v1/answers/{id}/rating/"]["get"]["responses"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_first_ratings_make_one_row(published):
    token = link_path(published).split("/")[2]
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def run(score: int) -> None:
        try:
            barrier.wait(timeout=30)
            ratings.rating_save(token=token, score=score, comment=f"try {score}")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(1 + i % 5,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert AnswerRating.objects.filter(answer=published).count() == 1


def test_the_rating_shows_on_the_query_page_escaped(published, owner):
    client = Client()
    client.force_login(owner)
    page = client.get(f"/queries/{published.query_id}/").content.decode()
    assert "Not rated by the customer yet" in page
    rate(customer(), link_path(published), score="4", comment='Good "fast" <i>help</i>')
    page = client.get(f"/queries/{published.query_id}/").content.decode()
    assert "The customer rated it 4 of 5" in page
    assert "Good &quot;fast&quot; help" in page


def test_the_answerer_sees_their_own_ratings_and_the_leaderboard_counts_good_ones(published, responder):
    from engage.dashboard import leaderboard as boards

    client = Client()
    client.force_login(responder)
    assert "No customer has rated your answers" in client.get("/dashboard/leaderboard/").content.decode()
    before = boards.leaderboard(viewer=responder).my_score
    assert before is not None
    rate(customer(), link_path(published), score="5")
    page = client.get("/dashboard/leaderboard/").content.decode()
    assert "1 of 1</strong> customers who rated your answers" in page
    after = boards.leaderboard(viewer=responder).my_score
    assert after is not None
    assert after.points == before.points + boards.POINTS["rated_well"]
    # A poor rating earns nothing (and takes nothing away).
    rate(customer(), link_path(published), score="2")
    score = boards.leaderboard(viewer=responder).my_score
    assert score is not None
    assert score.points == before.points
    assert boards.my_ratings(user=responder).satisfied == 0
