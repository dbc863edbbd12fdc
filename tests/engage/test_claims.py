"""Claims are leases: one winner, a cap per person, and a lapsed lease reads open."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from config.errors import Conflict
from engage import services
from engage.models import ParticipationEvent, Query
from engage.selectors import query_list
from tests.concurrency import run_together
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def claim_url(query: Query) -> str:
    return f"/api/v1/queries/{query.pk}/claim/"


def test_claim_answers_holder_and_lease(api, owner, make_query, department):
    query = make_query(department=department)
    response = api(owner).post(claim_url(query))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["claimed_by"] == owner.pk
    query.refresh_from_db()
    assert query.claimed_until is not None
    remaining = query.claimed_until - timezone.now()
    assert timedelta(minutes=14) < remaining <= timedelta(minutes=15)
    assert api(owner).get(f"/api/v1/queries/{query.pk}/").json()["status"] == "claimed"


def test_a_second_claimer_gets_409_with_the_holder(api, owner, colleague, make_query, department):
    query = make_query(department=department)
    assert api(owner).post(claim_url(query)).status_code == 200
    response = api(colleague).post(claim_url(query))
    assert response.status_code == 409
    assert response.json()["claimed_by"] == owner.pk
    assert response.json()["claimed_until"]
    query.refresh_from_db()
    assert query.claimed_by == owner


def test_the_holder_claiming_again_extends_the_lease_and_is_not_a_new_claim(owner, make_query, department):
    query = make_query(department=department)
    first = services.query_claim(user=owner, query_id=query.pk)
    Query.objects.filter(pk=query.pk).update(claimed_until=timezone.now() + timedelta(minutes=1))
    second = services.query_claim(user=owner, query_id=query.pk)
    assert second.renewed is True
    assert second.claimed_until >= first.claimed_until
    assert ParticipationEvent.objects.filter(kind="query_claimed", object_id=query.pk).count() == 1


def test_a_lapsed_lease_reads_open_and_can_be_claimed_by_another(api, owner, colleague, make_query, department):
    query = make_query(department=department)
    services.query_claim(user=owner, query_id=query.pk)
    Query.objects.filter(pk=query.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
    shown = api(colleague).get(f"/api/v1/queries/{query.pk}/").json()
    assert shown["status"] == "open"
    assert shown["claimed_by"] is None
    assert shown["claimed_until"] is None
    assert query.pk in [q.pk for q in query_list(user=colleague, status="open")]
    assert query.pk not in [q.pk for q in query_list(user=colleague, status="claimed")]
    assert api(colleague).post(claim_url(query)).status_code == 200


@pytest.mark.parametrize("state", ["pending_review", "answered"])
def test_claiming_a_query_in_review_or_answered_is_409(api, owner, make_query, department, state):
    query = make_query(department=department)
    Query.objects.filter(pk=query.pk).update(state=state)
    response = api(owner).post(claim_url(query))
    assert response.status_code == 409
    assert response.json()["status"] == state


def test_claiming_a_closed_query_is_409(api, owner, make_query, department):
    query = make_query(department=department)
    Query.objects.filter(pk=query.pk).update(state="closed", close_reason="spam")
    assert api(owner).post(claim_url(query)).status_code == 409


def test_the_cap_on_live_claims_answers_409(api, owner, make_query, department, settings):
    settings.ENGAGE_MAX_OPEN_CLAIMS = 2
    queries = [make_query(department=department) for _ in range(3)]
    assert api(owner).post(claim_url(queries[0])).status_code == 200
    assert api(owner).post(claim_url(queries[1])).status_code == 200
    response = api(owner).post(claim_url(queries[2]))
    assert response.status_code == 409
    assert response.json()["limit"] == 2
    # Renewing one already held is not blocked by the cap.
    assert api(owner).post(claim_url(queries[0])).status_code == 200
    # A lapsed claim no longer counts.
    Query.objects.filter(pk=queries[1].pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
    assert api(owner).post(claim_url(queries[2])).status_code == 200


def test_release_by_the_holder_reopens_and_others_get_409(api, owner, colleague, make_query, department):
    query = make_query(department=department)
    services.query_claim(user=owner, query_id=query.pk)
    assert api(colleague).post(f"/api/v1/queries/{query.pk}/release/").status_code == 409
    response = api(owner).post(f"/api/v1/queries/{query.pk}/release/")
    assert response.status_code == 200
    assert response.json()["status"] == "open"
    assert api(owner).post(f"/api/v1/queries/{query.pk}/release/").status_code == 409


def test_an_outsider_cannot_claim_what_they_cannot_see(api, outsider, make_query, department):
    query = make_query(department=department)
    assert api(outsider).post(claim_url(query)).status_code == 404
    query.refresh_from_db()
    assert query.claimed_by is None


def test_claim_events_are_recorded_once_per_claim(owner, colleague, make_query, department):
    query = make_query(department=department)
    services.query_claim(user=owner, query_id=query.pk)
    services.query_release(user=owner, query_id=query.pk)
    services.query_claim(user=colleague, query_id=query.pk)
    events = ParticipationEvent.objects.filter(kind="query_claimed", object_id=query.pk)
    assert sorted(events.values_list("actor_id", flat=True)) == sorted([owner.pk, colleague.pk])
    assert set(events.values_list("department_id", flat=True)) == {department.pk}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_thirty_two_simultaneous_claims_have_exactly_one_winner(api, department, make_query):
    query = make_query(department=department)
    people = [UserFactory(department=department) for _ in range(32)]
    clients = [api(person) for person in people]

    def claim(index: int) -> tuple[int, int]:
        response = clients[index].post(claim_url(query))
        return response.status_code, people[index].pk

    results = run_together(32, claim)
    codes = sorted(code for code, _ in results)
    assert len(results) == 32
    assert codes.count(200) == 1, codes
    assert codes.count(409) == 31, codes
    winner = next(pk for code, pk in results if code == 200)
    query.refresh_from_db()
    assert query.claimed_by_id == winner
    assert ParticipationEvent.objects.filter(kind="query_claimed", object_id=query.pk).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_person_claiming_many_at_once_never_exceeds_the_cap(department, make_query, settings):
    settings.ENGAGE_MAX_OPEN_CLAIMS = 3
    person = UserFactory(department=department)
    queries = [make_query(department=department) for _ in range(12)]

    def claim(index: int) -> bool:
        try:
            services.query_claim(user=person, query_id=queries[index].pk)
        except Conflict:
            return False
        return True

    results = run_together(12, claim)
    assert results.count(True) == 3
    assert Query.objects.filter(claimed_by=person, claimed_until__gt=timezone.now()).count() == 3
