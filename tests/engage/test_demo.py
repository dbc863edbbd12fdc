"""The demo company's community queries: six months of a company climbing from
Authoritarian through Inclusive to Collaborative, with the Social gates still unmet; every
fact carries its participation event; a second run adds nothing."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.db.models import Count, F
from django.utils import timezone

from accounts.demo import seed_people
from accounts.models import DepartmentKind, User
from config.activity import ActivityKind, activity_key
from config.management.commands.seed_demo import SEED_STEPS
from content.demo import seed_content
from engage.demo import HISTORY_DAYS, seed_engage
from engage.models import (
    Answer,
    AnswerRating,
    AnswerRevision,
    AnswerStatus,
    Channel,
    CustomerMessage,
    Delivery,
    DeliveryStatus,
    Insight,
    InsightStatus,
    InsightStatusChange,
    ParticipationEvent,
    PhaseSnapshot,
    Query,
    QueryDraft,
    QueryHandoff,
    QueryNote,
    QueryState,
)
from training.demo import seed_training

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def phase_on(days_ago: int) -> int:
    day = timezone.localdate() - timedelta(days=days_ago)
    return PhaseSnapshot.objects.get(scope="organisation", day=day).phase


def assert_one_channel_of_each_connector_with_threads() -> None:
    """Issue 14: a channel of each connector, no live connection, and threads through each."""
    from engage.connectors import credentials_set

    by_connector = {c.connector: c for c in Channel.objects.exclude(connector="webhook")}
    assert set(by_connector) == {"discourse", "slack", "email"}
    assert Channel.objects.filter(connector="webhook").exists()
    forum, slack, mail = by_connector["discourse"], by_connector["slack"], by_connector["email"]
    assert forum.config["base_url"].endswith(".invalid")  # RFC 6761: never looked up
    assert mail.config["imap_host"].endswith(".invalid")
    assert credentials_set(slack) == ["bot_token", "signing_secret"]
    for channel, shape in ((forum, "topic-"), (mail, "<demo."), (slack, "C0DEMOHELP1:")):
        queries = Query.objects.filter(channel=channel)
        assert queries.count() >= 20
        assert all(external_id.startswith(shape) for external_id in queries.values_list("external_id", flat=True))
        assert channel.last_event_at is not None
        assert channel.last_reply_at is not None
        assert Delivery.objects.filter(channel=channel, status=DeliveryStatus.DELIVERED).exclude(remote_id="").exists()
    assert CustomerMessage.objects.filter(channel=forum, external_id__endswith="-post-2").exists()


def test_the_demo_tells_the_phase_story_and_loads_once():
    assert SEED_STEPS.index("engage.demo.seed_engage") > SEED_STEPS.index("content.demo.seed_content")
    seed_people(rng=random.Random("people"))
    seed_training(rng=random.Random("training"))
    seed_content(rng=random.Random("content"))
    summary = seed_engage(rng=random.Random("engage"))
    assert summary
    now = timezone.now()
    assert_one_channel_of_each_connector_with_threads()

    # A few thousand queries from several channels, spread over the period.
    assert Channel.objects.count() >= 3
    assert Query.objects.count() >= 2000
    oldest = Query.objects.order_by("received_at").first()
    assert oldest is not None
    assert oldest.received_at >= now - timedelta(days=HISTORY_DAYS + 1)
    assert not Query.objects.filter(received_at__gt=now).exists()
    per_month = [
        Query.objects.filter(
            received_at__gte=now - timedelta(days=d + 30), received_at__lt=now - timedelta(days=d)
        ).count()
        for d in (150, 0)
    ]
    assert per_month[1] > per_month[0] > 100  # more every month

    # Marketing answered alone at first; customer-facing departments took over.
    published = Answer.objects.filter(status=AnswerStatus.PUBLISHED)
    early = published.filter(published_at__lt=now - timedelta(days=100))
    late = published.filter(published_at__gte=now - timedelta(days=30))
    assert early.exists()
    assert not early.exclude(author_department__kind=DepartmentKind.MARKETING).exists()
    late_by_kind = dict(late.values_list("author_department__kind").annotate(n=Count("id")))
    assert late_by_kind.get(DepartmentKind.CUSTOMER_SERVICE, 0) >= 3
    assert late_by_kind.get(DepartmentKind.TECH_SUPPORT, 0) >= 3
    assert sum(n for kind, n in late_by_kind.items() if kind != DepartmentKind.MARKETING) > late.count() / 2
    assert published.values("author_department").distinct().count() >= 5

    # Reviews (some sent back first), escalations, closings, breaches, dead letters.
    reviewed = ParticipationEvent.objects.filter(kind="answer_reviewed")
    assert reviewed.filter(data__outcome="approved").exists()
    assert reviewed.filter(data__outcome="rejected").exists()
    assert not published.filter(reviewed_by=models_author()).exists()  # nobody reviewed their own
    assert Query.objects.filter(escalated_at__isnull=False).exists()
    assert set(Query.objects.exclude(close_reason="").values_list("close_reason", flat=True)) == {
        "spam",
        "duplicate",
        "no_action",
    }
    late_answers = Query.objects.filter(sla_breached_at__isnull=False)
    assert late_answers.exists()
    assert not Query.objects.filter(sla_breached_at__isnull=False, sla_due_at__gt=now).exists()
    assert Delivery.objects.filter(status=DeliveryStatus.DEAD).count() == 2
    assert Delivery.objects.filter(status=DeliveryStatus.DELIVERED, kind="answer").count() == published.count() - 2

    # Customers rated about half the answers, more happily as the company learned.
    rated = AnswerRating.objects.all()
    assert published.count() * 0.35 < rated.count() < published.count() * 0.6
    assert not rated.exclude(answer__status=AnswerStatus.PUBLISHED).exists()
    assert not rated.filter(created_at__gt=now).exists()
    assert rated.exclude(comment="").exists()

    def happy_share(ratings) -> float:
        return ratings.filter(score__gte=4).count() / ratings.count()

    assert happy_share(rated.filter(answer__published_at__gte=now - timedelta(days=45))) > happy_share(
        rated.filter(answer__published_at__lt=now - timedelta(days=120))
    )
    assert "customer ratings" in summary

    # Work waiting for the named accounts.
    sam = User.objects.get(email="employee@demo.engage")
    assert Answer.objects.filter(author=sam, status=AnswerStatus.PENDING_REVIEW).exists()
    returned = Answer.objects.get(author=sam, status=AnswerStatus.DRAFT)
    assert returned.review_comment
    assert QueryDraft.objects.filter(author=sam).exists()
    assert Query.objects.filter(state=QueryState.PENDING_REVIEW).count() >= 2

    # Conversations: every query's first message, follow-ups answered in a second turn, two
    # re-opened queries waiting, notes with mentions, and the returned answer's revision.
    assert CustomerMessage.objects.filter(external_id=F("query__external_id")).count() == Query.objects.count()
    follow_ups = CustomerMessage.objects.filter(turn=2)
    assert follow_ups.count() >= 6
    second = published.filter(turn=2)
    assert second.count() == follow_ups.count() - 2
    assert set(second.values_list("in_reply_to__turn", flat=True)) == {2}
    reopened = Query.objects.filter(state=QueryState.OPEN, turn=2)
    assert reopened.count() == 2
    assert not reopened.filter(first_sla_due_at__isnull=True).exists()
    assert QueryNote.objects.filter(mentions=sam, author__email="reviewer@demo.engage").exists()
    assert QueryNote.objects.filter(query__in=reopened).count() == 2
    rejected = AnswerRevision.objects.get(answer=returned)
    assert (rejected.outcome, rejected.comment) == ("rejected", returned.review_comment)
    # Hand-offs: a colleague of the answerer's department handed the claim over, then the answerer answered.
    handoffs = list(QueryHandoff.objects.select_related("from_user", "to_user"))
    assert len(handoffs) >= 2
    for handoff in handoffs:
        answer = published.get(query_id=handoff.query_id, turn=1)
        assert handoff.to_user_id == answer.author_id != handoff.from_user_id
        assert handoff.from_user.department_id == handoff.to_user.department_id
        assert handoff.note
        assert handoff.created_at < answer.published_at

    # Insights moved by product, some adopted in the last 90 days.
    statuses = set(Insight.objects.values_list("status", flat=True))
    assert {
        InsightStatus.SUBMITTED,
        InsightStatus.UNDER_REVIEW,
        InsightStatus.PLANNED,
        InsightStatus.SHIPPED,
    } <= statuses
    assert InsightStatusChange.objects.filter(
        to_status__in=[InsightStatus.PLANNED, InsightStatus.SHIPPED], changed_at__gte=now - timedelta(days=90)
    ).exists()
    assert Delivery.objects.filter(kind="insight_shipped", status=DeliveryStatus.DELIVERED).exists()

    # Every fact has its event, with the services' keys.
    events = ParticipationEvent.objects
    assert events.filter(kind="query_received").count() == Query.objects.count()
    assert events.filter(kind="answer_published").count() == published.count()
    assert set(events.filter(kind="answer_published").values_list("key", flat=True)) == {
        activity_key(ActivityKind.ANSWER_PUBLISHED, pk) for pk in published.values_list("pk", flat=True)
    }
    assert events.filter(kind="insight_submitted").count() == Insight.objects.count()
    assert events.filter(kind="query_claimed").count() >= published.count()

    # The phase story: Authoritarian, then Inclusive, then Collaborative — Social out of reach.
    from engage.phase.rollups import rollups_fold
    from engage.phase.services import phase_backfill

    rollups_fold()
    phase_backfill(days=HISTORY_DAYS)
    assert phase_on(HISTORY_DAYS - 10) == 1
    assert phase_on(90) == 2
    assert phase_on(0) == 3
    today = PhaseSnapshot.objects.get(scope="organisation", day=timezone.localdate())
    social = [gate for gate in today.result["gates"] if gate["phase"] == 4]
    assert sum(1 for gate in social if not gate["met"]) >= 2

    # A second run adds nothing.
    counts = (Query.objects.count(), Answer.objects.count(), ParticipationEvent.objects.count())
    assert seed_engage(rng=random.Random("engage")) is None
    assert (Query.objects.count(), Answer.objects.count(), ParticipationEvent.objects.count()) == counts


def models_author():
    """An F() that compares an answer's reviewer with its author."""
    from django.db.models import F

    return F("author")
