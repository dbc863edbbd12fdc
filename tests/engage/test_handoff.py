"""Hand-off: the holder (or a reviewer) gives the claim to a colleague who can see the query,
within the colleague's cap, with a notification; drafts stay with their authors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Notification, RoleName
from config.errors import Conflict
from engage import handoff, services
from engage.models import QueryDraft, QueryHandoff, QueryState
from engage.selectors import draft_offered_to, query_list
from tests.concurrency import run_together
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def handoff_url(query) -> str:
    return f"/api/v1/queries/{query.pk}/handoff/"


def test_the_holder_hands_over_and_the_colleague_holds_it_and_is_told(
    api, owner, colleague, make_query, department, django_capture_on_commit_callbacks
):
    query = make_query(department=department)
    services.query_claim(user=owner, query_id=query.pk)
    services.query_draft_save(user=owner, query_id=query.pk, body="My half-written answer")

    with django_capture_on_commit_callbacks(execute=True):
        response = api(owner).post(
            handoff_url(query), {"to": colleague.pk, "note": "You know this customer"}, format="json"
        )

    assert response.status_code == 200, response.json()
    assert response.json()["claimed_by"] == colleague.pk
    assert response.json()["status"] == "claimed"
    query.refresh_from_db()
    assert query.claimed_by == colleague
    assert query.claimed_until > timezone.now() + timedelta(minutes=10)
    made = QueryHandoff.objects.get(query=query)
    assert (made.from_user, made.to_user, made.by_user, made.note) == (
        owner,
        colleague,
        owner,
        "You know this customer",
    )
    # The draft stays with its author and is not the colleague's.
    assert QueryDraft.objects.get(query=query).author == owner
    assert draft_offered_to(user=colleague, query=query) is None
    # The colleague is notified, and it is theirs in "mine".
    told = Notification.objects.get(user=colleague, kind="engage.query_handoff")
    assert told.url == f"/queries/{query.pk}/"
    assert "Olive Owner" in told.title
    assert list(query_list(user=colleague, mine=True).values_list("pk", flat=True)) == [query.pk]
    assert not query_list(user=owner, mine=True).exists()


def test_a_reviewer_hands_over_a_query_someone_else_holds(api, owner, colleague, reviewer, make_query, department):
    query = make_query(department=department)
    services.query_claim(user=owner, query_id=query.pk)
    response = api(reviewer).post(handoff_url(query), {"to": colleague.pk}, format="json")
    assert response.status_code == 200
    made = QueryHandoff.objects.get(query=query)
    assert (made.from_user, made.to_user, made.by_user) == (owner, colleague, reviewer)


def test_404_before_403_before_400(api, owner, colleague, outsider, make_query, department):
    query = make_query(department=department)
    services.query_claim(user=owner, query_id=query.pk)
    # Not visible to them: 404, whatever the body.
    assert api(outsider).post(handoff_url(query), {"to": "x"}, format="json").status_code == 404
    assert api(owner).post("/api/v1/queries/999999/handoff/", {}, format="json").status_code == 404
    # Visible but not theirs to hand over: 403, even with a bad body.
    assert api(colleague).post(handoff_url(query), {"to": "x"}, format="json").status_code == 403
    # The holder with bad input: 400 naming the field.
    for body in ({}, {"to": "x"}, {"to": True}, {"to": 999999}, {"to": outsider.pk}):
        response = api(owner).post(handoff_url(query), body, format="json")
        assert response.status_code == 400, body
        assert response.json().get("field") == "to", response.json()
    response = api(owner).post(handoff_url(query), {"to": colleague.pk, "note": 5}, format="json")
    assert response.status_code == 400
    assert response.json().get("field") == "note"
    query.refresh_from_db()
    assert query.claimed_by == owner  # nothing changed
    assert not QueryHandoff.objects.exists()
    assert not Notification.objects.filter(kind="engage.query_handoff").exists()


def test_an_inactive_colleague_cannot_receive_it(api, owner, make_query, department):
    query = make_query(department=department)
    services.query_claim(user=owner, query_id=query.pk)
    gone = UserFactory(department=department, is_active=False)
    response = api(owner).post(handoff_url(query), {"to": gone.pk}, format="json")
    assert response.status_code == 400
    assert response.json()["field"] == "to"


def test_a_lapsed_holder_may_not_hand_over(api, owner, colleague, make_query, department):
    query = make_query(department=department)
    services.query_claim(user=owner, query_id=query.pk)
    query.__class__.objects.filter(pk=query.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
    assert api(owner).post(handoff_url(query), {"to": colleague.pk}, format="json").status_code == 403


@pytest.mark.parametrize("state", [QueryState.PENDING_REVIEW, QueryState.ANSWERED])
def test_a_query_not_open_is_409(api, reviewer, colleague, make_query, department, state):
    query = make_query(department=department)
    query.__class__.objects.filter(pk=query.pk).update(state=state)
    response = api(reviewer).post(handoff_url(query), {"to": colleague.pk}, format="json")
    assert response.status_code == 409
    assert response.json()["status"] == state


def test_handing_it_to_its_holder_is_409(api, owner, reviewer, make_query, department):
    query = make_query(department=department)
    services.query_claim(user=owner, query_id=query.pk)
    response = api(reviewer).post(handoff_url(query), {"to": owner.pk}, format="json")
    assert response.status_code == 409


def test_the_colleagues_cap_is_respected(api, owner, colleague, make_query, department, settings):
    settings.ENGAGE_MAX_OPEN_CLAIMS = 2
    for _ in range(2):
        services.query_claim(user=colleague, query_id=make_query(department=department).pk)
    query = make_query(department=department)
    services.query_claim(user=owner, query_id=query.pk)
    response = api(owner).post(handoff_url(query), {"to": colleague.pk}, format="json")
    assert response.status_code == 409
    assert response.json()["limit"] == 2
    query.refresh_from_db()
    assert query.claimed_by == owner


def test_candidates_are_the_people_who_can_see_it(owner, colleague, outsider, reviewer, make_query, department):
    query = make_query(department=department)
    executive = UserFactory(department=outsider.department, roles=[RoleName.EXECUTIVE])
    names = {p.pk for p in handoff.handoff_candidates(query=query, excluding=[owner.pk])}
    assert names == {colleague.pk, reviewer.pk, executive.pk}
    unrouted = make_query()
    assert outsider.pk in {p.pk for p in handoff.handoff_candidates(query=unrouted, excluding=[owner.pk])}


def test_hand_over_from_the_query_page(owner, colleague, make_query, department):
    query = make_query(department=department)
    services.query_claim(user=owner, query_id=query.pk)
    client = Client()
    client.force_login(owner)
    page = client.get(f"/queries/{query.pk}/").content.decode()
    assert f'action="/queries/{query.pk}/handoff/"' in page
    assert f'<option value="{colleague.pk}">Colin Colleague' in page
    response = client.post(
        f"/queries/{query.pk}/handoff/", {"to": colleague.pk, "note": "Over to you", "claimed_by": owner.pk}
    )
    assert response.status_code == 302
    query.refresh_from_db()
    assert query.claimed_by == colleague
    other = Client()
    other.force_login(colleague)
    page = other.get(f"/queries/{query.pk}/").content.decode()
    assert "You hold this query" in page
    assert "Olive Owner handed it to Colin Colleague" in page
    # A refusal (the page was stale) is told on the page, not raised.
    refused = client.post(f"/queries/{query.pk}/handoff/", {"to": colleague.pk, "claimed_by": owner.pk})
    assert refused.status_code == 302
    assert "meanwhile" in str(list(refused.wsgi_request._messages)[-1])


def test_a_hand_off_of_a_claim_that_moved_since_it_was_seen_is_409(
    api, owner, colleague, reviewer, make_query, department
):
    query = make_query(department=department)
    services.query_claim(user=owner, query_id=query.pk)
    assert (
        api(owner).post(handoff_url(query), {"to": colleague.pk, "claimed_by": owner.pk}, format="json").status_code
        == 200
    )
    # The owner's second tab, and a reviewer who saw the owner holding it: both 409, naming the holder now.
    again = api(owner).post(handoff_url(query), {"to": reviewer.pk, "claimed_by": owner.pk}, format="json")
    assert again.status_code == 409
    assert again.json()["claimed_by"] == colleague.pk
    stale = api(reviewer).post(handoff_url(query), {"to": owner.pk, "claimed_by": owner.pk}, format="json")
    assert stale.status_code == 409
    assert (
        api(reviewer).post(handoff_url(query), {"to": owner.pk, "claimed_by": "x"}, format="json").json()["field"]
        == "claimed_by"
    )
    query.refresh_from_db()
    assert query.claimed_by == colleague
    assert QueryHandoff.objects.count() == 1


def test_the_hand_off_is_in_the_schema(api, admin_user):
    schema = api(admin_user).get("/api/v1/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/queries/{id}/handoff/"]["post"]
    assert {"200", "400", "403", "404", "409"} <= set(operation["responses"])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_hand_offs_one_wins_the_other_is_a_clear_409(api, department, make_query, reviewer):
    holder = UserFactory(department=department, name="Hal Holder")
    first, second = UserFactory(department=department), UserFactory(department=department)
    query = make_query(department=department)
    services.query_claim(user=holder, query_id=query.pk)
    # The holder and a reviewer hand it over at the same moment, to two different people.
    calls = [(api(holder), first), (api(reviewer), second)]

    def hand(index: int) -> tuple[int, dict, int]:
        client, target = calls[index]
        response = client.post(handoff_url(query), {"to": target.pk, "claimed_by": holder.pk}, format="json")
        return response.status_code, response.json(), target.pk

    for _ in range(5):
        results = run_together(2, hand)
        codes = sorted(code for code, _, _ in results)
        assert codes == [200, 409], results
        winner = next(target for code, _, target in results if code == 200)
        loser = next(body for code, body, _ in results if code != 200)
        assert loser["detail"]
        query.refresh_from_db()
        assert query.claimed_by_id == winner
        assert QueryHandoff.objects.filter(query=query).count() == 1
        # Again from the start.
        QueryHandoff.objects.all().delete()
        query.__class__.objects.filter(pk=query.pk).update(
            claimed_by=holder, claimed_at=timezone.now(), claimed_until=timezone.now() + timedelta(minutes=15)
        )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_reviewers_hand_the_same_query_at_once_exactly_one_wins(department, make_query):
    reviewers = [UserFactory(department=department, roles=[RoleName.REVIEWER]) for _ in range(8)]
    targets = [UserFactory(department=department) for _ in range(8)]
    query = make_query(department=department)
    holder = UserFactory(department=department)
    services.query_claim(user=holder, query_id=query.pk)

    def hand(index: int) -> str:
        try:
            handoff.query_handoff(user=reviewers[index], query_id=query.pk, to=targets[index].pk, expected=holder.pk)
        except Conflict as exc:
            return exc.message
        return "won"

    results = run_together(8, hand)
    assert results.count("won") == 1, results
    assert all("meanwhile" in outcome for outcome in results if outcome != "won"), results
    query.refresh_from_db()
    assert query.claimed_by_id == QueryHandoff.objects.get(query=query).to_user_id


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_hand_offs_to_one_colleague_respect_their_cap(department, make_query, settings):
    settings.ENGAGE_MAX_OPEN_CLAIMS = 3
    colleague = UserFactory(department=department)
    services.query_claim(user=colleague, query_id=make_query(department=department).pk)  # one of three used
    holders = [UserFactory(department=department) for _ in range(6)]
    queries = [make_query(department=department) for _ in range(6)]
    for holder, query in zip(holders, queries, strict=True):
        services.query_claim(user=holder, query_id=query.pk)

    def hand(index: int) -> object:
        try:
            handoff.query_handoff(user=holders[index], query_id=queries[index].pk, to=colleague.pk)
        except Conflict as exc:
            return exc.extra.get("limit")
        return "won"

    results = run_together(6, hand)
    assert sorted(map(str, results)) == ["3", "3", "3", "3", "won", "won"], results
    assert query_list(user=colleague, status="claimed", mine=True).count() == 3
