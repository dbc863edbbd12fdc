"""Routing by topic keywords: whole words and phrases as Unicode defines them, ignoring
case; the topic with most matches wins, a tie goes to the topic made first."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from engage import services
from engage.models import ParticipationEvent, Query
from engage.routing import keyword_matches
from tests.factories import DepartmentFactory, TopicFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("text", "keyword", "expected"),
    [
        ("I want a Refund now", "refund", True),
        ("REFUND!", "refund", True),
        ("refund.", "refund", True),
        ("(refund)", "refund", True),
        ("refunds please", "refund", False),
        ("prerefund", "refund", False),
        ("x_refund", "refund", False),  # the connector _ joins words
        ("e-refund", "refund", True),  # a hyphen breaks them
        ("my credit   card was declined", "credit card", True),
        ("my credit\ncard", "Credit Card", True),
        ("credit cards", "credit card", False),
        ("Straße", "STRASSE", True),  # full case folding
        ("ÉCOLE fermée", "école", True),
        ("cafe\u0301 au lait", "café", True),  # a combining accent, normalised
        ("cafe\u0301s", "cafe", False),  # the mark belongs to the word
        ("über", "ber", False),
        ("don't", "don", False),  # an apostrophe between letters does not break a word
        ("1,000 euros", "000", False),  # nor a comma between digits
        ("我要退款", "退款", True),  # ideographs stand alone
        ("Привет, ВОЗВРАТ денег", "возврат", True),  # noqa: RUF001 (Cyrillic on purpose)
        ("Привет, возвраты", "возврат", False),
        ("", "refund", False),
        ("refund", "   ", False),
    ],
)
def test_keyword_matches(text, keyword, expected):
    assert keyword_matches(text, keyword) is expected


def _route(make_query, text):
    query = make_query(text=text)
    query.refresh_from_db()
    return query


def test_most_matching_keywords_wins_and_all_matched_topics_are_carried(make_query):
    support = DepartmentFactory(slug="support")
    finance = DepartmentFactory(slug="finance")
    billing = TopicFactory(slug="billing", keywords=["invoice", "refund", "charge"], department=finance)
    orders = TopicFactory(slug="orders", keywords=["order", "refund"], department=support)
    query = _route(make_query, "My order: refund the double charge on my invoice")
    assert query.department == finance
    assert set(query.topics.values_list("slug", flat=True)) == {billing.slug, orders.slug}
    assert query.routed_at is not None


def test_a_tie_goes_to_the_topic_made_first(make_query):
    first_dept = DepartmentFactory(slug="first")
    second_dept = DepartmentFactory(slug="second")
    now = timezone.now()
    later = TopicFactory(slug="later", keywords=["password"], department=second_dept, created_at=now)
    earlier = TopicFactory(
        slug="earlier", keywords=["login"], department=first_dept, created_at=now - timedelta(days=1)
    )
    query = _route(make_query, "login broken, password reset fails")
    assert query.department == first_dept
    assert set(query.topics.values_list("slug", flat=True)) == {later.slug, earlier.slug}


def test_a_keyword_counts_once_however_often_it_appears(make_query):
    a = DepartmentFactory(slug="a")
    b = DepartmentFactory(slug="b")
    TopicFactory(slug="t1", keywords=["refund"], department=a)
    TopicFactory(slug="t2", keywords=["late", "parcel"], department=b)
    query = _route(make_query, "refund refund refund — my parcel is late")
    assert query.department == b


def test_no_match_leaves_the_query_unrouted(make_query, refund_topic):
    query = _route(make_query, "hello, anyone there?")
    assert query.department is None
    assert query.routed_at is not None
    assert not ParticipationEvent.objects.filter(kind="query_routed").exists()


def test_routing_records_one_event_and_runs_once(make_query, refund_topic, department):
    query = _route(make_query, "refund please")
    assert query.department == department
    assert ParticipationEvent.objects.filter(kind="query_routed", object_id=query.pk).count() == 1
    TopicFactory(slug="other", keywords=["refund", "please"], department=DepartmentFactory(slug="z"))
    services.query_route(query_id=query.pk)  # a second delivery of the job
    query.refresh_from_db()
    assert query.department == department
    assert ParticipationEvent.objects.filter(kind="query_routed", object_id=query.pk).count() == 1


def test_a_missing_query_is_tolerated():
    assert services.query_route(query_id=987654) is None


def test_routing_notifies_the_department(make_query, refund_topic, owner, colleague, outsider):
    query = _route(make_query, "refund please")
    notified = set(type(owner).objects.filter(notifications__kind="engage.query_routed").values_list("pk", flat=True))
    assert notified == {owner.pk, colleague.pk}
    assert query.department_id == owner.department_id


@pytest.mark.parametrize(("priority", "hours"), [("urgent", 1), ("high", 4), ("normal", 24), ("low", 72)])
def test_response_targets_by_priority_count_from_receipt(make_query, priority, hours):
    received = timezone.now() - timedelta(minutes=5)
    query = make_query(priority=priority, received_at=received)
    assert query.sla_due_at == received + timedelta(hours=hours)
    assert Query.objects.get(pk=query.pk).received_at == received


def test_a_query_left_unrouted_for_over_a_minute_is_routed_by_the_sweep(django_capture_on_commit_callbacks) -> None:
    from config.celery_app import app

    channel, _secret = services.channel_create(slug="sweep", name="Sweep", kind="forum")
    topic = TopicFactory(keywords=["refund"])
    ids = [
        services.query_receive(
            channel=channel, inbound=services.Inbound(external_id=name, text="a refund please", author_handle="@c")
        )[0]
        for name in ("lost", "fresh")
    ]
    # Both route jobs were lost (a worker and its message gone, a job dead): nothing routed them.
    Query.objects.filter(pk__in=ids).update(routed_at=None, department=None)
    Query.objects.filter(pk=ids[0]).update(received_at=timezone.now() - timedelta(seconds=61))

    with django_capture_on_commit_callbacks(execute=True):  # the route jobs run as after a commit
        assert services.unrouted_queries_route() == 1, "only the one unrouted for over a minute"
    lost, fresh = Query.objects.get(pk=ids[0]), Query.objects.get(pk=ids[1])
    assert lost.routed_at is not None
    assert lost.department_id == topic.department_id
    assert fresh.routed_at is None
    assert app.conf.beat_schedule["engage-route-unrouted"]["task"] == "engage.route_unrouted"
