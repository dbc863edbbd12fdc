"""The demo's writing: the planned story's rows at their moments in the past, in bulk, with
the participation events the services would have recorded (built by the services' own
constructors in :mod:`engage.participation`) and the notifications the named accounts find today."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.db.models import CharField, F, Max, Value
from django.db.models.functions import Cast, Concat

from accounts.models import RoleName, User
from accounts.notifications import notify
from config.activity import Activity
from config.markdown import render_markdown
from engage import participation, services
from engage.connectors import vault
from engage.demo.data import (
    CHANNELS,
    CONNECTOR_SETTINGS,
    FOLLOW_UPS,
    HISTORY_DAYS,
    INSIGHTS,
    RATING_COMMENTS,
    RATINGS_SEED,
    SECOND_ANSWERS,
    SLACK,
    SLACK_CHANNEL_ID,
    SLACK_EVERY,
)
from engage.demo.simulation import AnswerPlan, QueryPlan, Story
from engage.models import (
    RESPONSE_TARGETS,
    Answer,
    AnswerRating,
    AnswerRevision,
    AnswerStatus,
    Channel,
    ConnectorKind,
    CustomerMessage,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Insight,
    InsightStatus,
    InsightStatusChange,
    Priority,
    Query,
    QueryDraft,
    QueryHandoff,
    QueryNote,
    QueryState,
    RevisionOutcome,
)


def write_channels(now: datetime) -> tuple[list[Channel], Channel]:
    """The story's channels (in ``CHANNELS``' order) and the Slack one, through the service
    (each with its signing secret), made before the story. The connected ones get their
    connector's settings (``CONNECTOR_SETTINGS``: no live connection) written directly, so
    making the demo never looks a host up."""
    made = []
    for spec in (*CHANNELS, SLACK):
        channel, _secret = services.channel_create(slug=spec.slug, name=spec.name, kind=spec.kind)
        update: dict[str, object] = {"created_at": now - timedelta(days=HISTORY_DAYS + 5)}
        if spec.connector != ConnectorKind.WEBHOOK:
            config, credentials = CONNECTOR_SETTINGS[spec.connector]
            update.update(connector=spec.connector, config=config, credentials=vault.seal(credentials))
        Channel.objects.filter(pk=channel.pk).update(**update)
        for field, value in update.items():
            setattr(channel, field, value)
        made.append(channel)
    return made[:-1], made[-1]


def through_connectors(plans: list[QueryPlan], slack: Channel) -> None:
    """Every ``SLACK_EVERY``-th forum query came through Slack; each query's external id is
    the one its connector keeps (a Discourse topic, a Message-ID, a Slack channel and ts)."""
    forum = [p for p in plans if p.channel.slug == "forum"]
    for plan in forum[SLACK_EVERY - 1 :: SLACK_EVERY]:
        plan.channel = slack
    for plan in plans:
        plan.external_id = external_id(plan)


def external_id(plan: QueryPlan) -> str:
    number = int(plan.external_id.rsplit("-", 1)[-1])
    connector = plan.channel.connector
    if connector == ConnectorKind.DISCOURSE:
        return f"topic-{1000 + number}"
    if connector == ConnectorKind.EMAIL:
        return f"<demo.{number:05d}@customers.example.invalid>"
    if connector == ConnectorKind.SLACK:
        return f"{SLACK_CHANNEL_ID}:{plan.received_at.timestamp():.6f}"
    return plan.external_id


def reply_external_id(plan: QueryPlan, received: datetime) -> str:
    """A follow-up's external id, as its connector keeps it."""
    connector = plan.channel.connector
    if connector == ConnectorKind.DISCOURSE:
        return f"{plan.external_id}-post-2"
    if connector == ConnectorKind.EMAIL:
        return plan.external_id.replace("@", ".reply@", 1)
    if connector == ConnectorKind.SLACK:
        return f"{SLACK_CHANNEL_ID}:{received.timestamp():.6f}"
    return f"{plan.external_id}-reply"


def write_connector_traces(channels: list[Channel]) -> None:
    """What the connected channels' replies left: the source's id of each reply delivered (a
    Discourse post id, a Message-ID, a Slack ts) and each channel's health."""
    delivered = Delivery.objects.filter(status=DeliveryStatus.DELIVERED, kind=DeliveryKind.ANSWER)
    remote_ids = {
        ConnectorKind.DISCOURSE: Cast(F("id") + 50000, CharField()),
        ConnectorKind.EMAIL: Concat(Value("<engage."), Cast("id", CharField()), Value("@example.invalid>")),
        ConnectorKind.SLACK: Concat(Value("1764000000."), Cast("id", CharField())),
    }
    for channel in channels:
        if channel.connector in remote_ids:
            delivered.filter(channel=channel).update(remote_id=remote_ids[ConnectorKind(channel.connector)])
        last = Query.objects.filter(channel=channel).aggregate(event=Max("received_at"))
        reply = Delivery.objects.filter(channel=channel, status=DeliveryStatus.DELIVERED).aggregate(
            at=Max("delivered_at")
        )
        Channel.objects.filter(pk=channel.pk).update(last_event_at=last["event"], last_reply_at=reply["at"])


def write_queries(story: Story, plans: list[QueryPlan]) -> list[Activity]:
    """The planned queries with their threads, answers, drafts, deliveries and ratings, in bulk;
    returns the participation events they make (recorded by the caller, in one statement)."""
    rows = [
        Query(
            channel=p.channel,
            external_id=p.external_id,
            text=p.text,
            author_handle=p.handle,
            author_name=p.name,
            priority=p.priority,
            department=p.department,
            routed_at=p.routed_at,
            received_at=p.received_at,
            sla_due_at=p.sla_due_at,
            state=p.state,
            claimed_by=p.claimed_by,
            claimed_at=p.claimed_at,
            claimed_until=p.claimed_until,
            answered_at=p.answered_at,
            close_reason=p.close_reason,
            closed_at=p.closed_at,
            closed_by=p.closed_by,
            escalated_at=p.escalated_at,
            escalated_by=p.escalated_by,
            escalated_from=p.escalated_from,
            escalation_note=p.escalation_note,
            sla_breached_at=p.sla_breached_at,
        )
        for p in plans
    ]
    Query.objects.bulk_create(rows, batch_size=500)
    for plan, row in zip(plans, rows, strict=True):
        plan.pk = row.pk
    Query.topics.through.objects.bulk_create(
        [Query.topics.through(query_id=p.pk, topic_id=t) for p in plans for t in p.topic_ids], batch_size=1000
    )
    # Each query's first message on its thread: its own text.
    firsts = [services.first_message(query=row) for row in rows]
    CustomerMessage.objects.bulk_create(firsts, batch_size=500)
    first_of = {message.query_id: message.pk for message in firsts}

    answered = [p for p in plans if p.answer is not None]
    answers = []
    for plan in answered:
        a = plan.answer
        assert a is not None
        answers.append(
            Answer(
                query_id=plan.pk,
                author=a.author,
                author_department_id=a.author.department_id,
                body=a.body,
                body_html=render_markdown(a.body),
                status=a.status,
                created_at=a.created_at,
                submitted_at=a.submitted_at,
                published_at=a.published_at,
                review_comment=a.review_comment,
                reviewed_by=a.reviewed_by,
                reviewed_at=a.reviewed_at,
                in_reply_to_id=first_of[plan.pk] if a.status == AnswerStatus.PUBLISHED else None,
            )
        )
    Answer.objects.bulk_create(answers, batch_size=500)
    for plan, made in zip(answered, answers, strict=True):
        assert plan.answer is not None
        plan.answer.pk = made.pk
    Answer.messages.through.objects.bulk_create(
        [
            Answer.messages.through(answer_id=p.answer.pk, message_id=m)
            for p in answered
            if p.answer is not None
            for m in p.answer.message_ids
        ]
    )
    QueryDraft.objects.bulk_create(
        [
            QueryDraft(query_id=p.pk, author=p.draft[0], body=p.draft[1], message_ids=p.draft[2], updated_at=p.draft[3])
            for p in plans
            if p.draft is not None
        ]
    )
    _deliveries(story, answered)
    _ratings(story, answered)
    return _events(story, plans)


def _ratings(story: Story, answered: list[QueryPlan]) -> None:
    """Customers rate about half the answers that went out, better as the company learns.

    A random source of its own, so the rest of the story draws what it always drew."""
    rng = random.Random(RATINGS_SEED)
    rows = []
    for plan in answered:
        a = plan.answer
        if a is None or a.status != AnswerStatus.PUBLISHED or a.published_at is None or rng.random() > 0.5:
            continue
        rated_at = a.published_at + timedelta(hours=rng.uniform(0.2, 40))
        if rated_at >= story.now:
            continue
        learned = 1 - min(1.0, story.days_ago(a.published_at) / HISTORY_DAYS)  # 0 long ago, 1 today
        happy = rng.random() < 0.55 + 0.3 * learned
        score = rng.choice((4, 5, 5)) if happy else rng.choice((1, 2, 3, 3))
        comment = rng.choice(RATING_COMMENTS[score]) if rng.random() < 0.35 else ""
        rows.append(
            AnswerRating(answer_id=a.pk, score=score, comment=comment, created_at=rated_at, updated_at=rated_at)
        )
    AnswerRating.objects.bulk_create(rows, batch_size=500)
    story.rated = len(rows)


def _deliveries(story: Story, answered: list[QueryPlan]) -> None:
    published = [p for p in answered if p.answer is not None and p.answer.status == AnswerStatus.PUBLISHED]
    recent_forum = [
        p for p in published if p.channel.slug == "forum" and p.answered_at and 2 < story.days_ago(p.answered_at) < 12
    ]
    for plan in recent_forum[:1] + recent_forum[-1:]:
        assert plan.answer is not None
        plan.answer.dead = True
    rows = []
    for plan in published:
        a = plan.answer
        assert a is not None
        assert a.published_at is not None
        assert plan.pk
        payload = {
            "query_external_id": plan.external_id,
            "thread_id": plan.external_id,
            "in_reply_to": plan.external_id,
            "answer_id": a.pk,
            "body": a.body,
            "body_html": render_markdown(a.body),
            "author": {"name": a.author.name},
            "published_at": a.published_at.isoformat(),
        }
        if a.dead:
            dead_at = a.published_at + timedelta(minutes=63, seconds=40)
            rows.append(
                Delivery(
                    kind=DeliveryKind.ANSWER,
                    channel=plan.channel,
                    query_id=plan.pk,
                    answer_id=a.pk,
                    payload=payload,
                    status=DeliveryStatus.DEAD,
                    attempts=services.DELIVERY_MAX_ATTEMPTS,
                    next_attempt_at=dead_at,
                    last_error="HTTP 503",
                    last_status_code=503,
                    target="https://forum.example.com/hooks/engage",
                    created_at=a.published_at,
                    dead_at=dead_at,
                )
            )
        else:
            at = a.published_at + timedelta(seconds=1)
            rows.append(
                Delivery(
                    kind=DeliveryKind.ANSWER,
                    channel=plan.channel,
                    query_id=plan.pk,
                    answer_id=a.pk,
                    payload=payload,
                    status=DeliveryStatus.DELIVERED,
                    attempts=1,
                    next_attempt_at=a.published_at,
                    target="local",
                    created_at=a.published_at,
                    delivered_at=at,
                )
            )
    Delivery.objects.bulk_create(rows, batch_size=500)


def _events(story: Story, plans: list[QueryPlan]) -> list[Activity]:
    """The participation events the services would have recorded for the planned queries."""
    made: list[Activity] = []
    for p in plans:
        assert p.pk
        assert p.routed_at is not None
        made.append(
            participation.query_received(
                query_id=p.pk, received_at=p.received_at, channel_slug=p.channel.slug, priority=p.priority
            )
        )
        routed_to = p.escalated_from or p.department
        if routed_to is not None:
            made.append(
                participation.query_routed(
                    query_id=p.pk,
                    routed_at=p.routed_at,
                    department_id=routed_to.pk,
                    topic_ids=p.topic_ids,
                    matches=p.matches,
                )
            )
        made += [participation.query_claimed(query_id=p.pk, holder=holder, claimed_at=at) for holder, at in p.claims]
        if p.escalated_at is not None and p.escalated_from is not None and p.department is not None:
            made.append(
                participation.query_escalated(
                    query_id=p.pk,
                    by=p.escalated_by,
                    escalated_at=p.escalated_at,
                    from_department_id=p.escalated_from.pk,
                    to_department_id=p.department.pk,
                )
            )
        a = p.answer
        if a is None:
            continue
        assert a.pk
        for reviewer, at, outcome, submitted in a.reviews:
            made.append(
                participation.answer_reviewed(
                    answer_id=a.pk,
                    reviewer=reviewer,
                    reviewed_at=at,
                    outcome=outcome,
                    author_id=a.author.pk,
                    submitted_at=submitted,
                )
            )
        if a.status == AnswerStatus.PUBLISHED and a.published_at is not None:
            made.append(
                participation.answer_published(
                    answer_id=a.pk,
                    author=a.author,
                    author_department_id=a.author.department_id,
                    published_at=a.published_at,
                    query_id=p.pk,
                    query_department_id=p.department.pk if p.department else None,
                    message_ids=a.message_ids,
                )
            )
    return made


def write_insights(story: Story, plans: list[QueryPlan]) -> tuple[int, list[Activity]]:
    product = [p for p in story.people if p.department and p.department.slug == "product"]
    movers = [story.pia] if story.pia else product[:1]
    made: list[Activity] = []
    count = 0
    for spec in INSIGHTS:
        submitted_at = story.moment(spec.submitted_days_ago)
        candidates = [
            p
            for p in plans
            if p.topic_slug == spec.topic and p.received_at < submitted_at - timedelta(hours=2) and p.pk
        ][-spec.queries * 8 :]
        # Submitted by someone who answered such a query, from queries they can see.
        answerers = [
            p.answer.author
            for p in candidates
            if p.answer is not None and p.answer.published_at and p.answer.published_at < submitted_at
        ]
        submitter = answerers[-1] if answerers else story.remy
        if submitter is None:
            continue
        sees_all = submitter.has_role(RoleName.REVIEWER, RoleName.EXECUTIVE)
        visible = [
            p for p in candidates if sees_all or p.department is None or p.department.pk == submitter.department_id
        ]
        if len(visible) < spec.queries:
            continue
        chosen = sorted(story.rng.sample(visible, spec.queries), key=lambda p: p.received_at)
        if submitter is None or not movers:
            continue
        insight = Insight.objects.create(
            title=spec.title,
            description=spec.description,
            status=spec.moves[-1][0] if spec.moves else InsightStatus.SUBMITTED,
            submitted_by=submitter,
            department_id=submitter.department_id,
            created_at=submitted_at,
            status_changed_at=submitted_at,
        )
        insight.queries.set([p.pk for p in chosen])
        InsightStatusChange.objects.create(
            insight=insight,
            from_status="",
            to_status=InsightStatus.SUBMITTED,
            changed_by=submitter,
            changed_at=submitted_at,
        )
        made.append(
            participation.insight_submitted(
                insight_id=insight.pk, by=submitter, submitted_at=submitted_at, query_ids=[p.pk for p in chosen if p.pk]
            )
        )
        previous: str = InsightStatus.SUBMITTED
        for status, days_ago in spec.moves:
            at = max(story.moment(days_ago), submitted_at + timedelta(hours=1))
            mover = story.rng.choice(movers if days_ago < 60 or not product else product[:4])
            change = InsightStatusChange.objects.create(
                insight=insight, from_status=previous, to_status=status, changed_by=mover, changed_at=at
            )
            made.append(
                participation.insight_status_changed(
                    insight_id=insight.pk,
                    change_id=change.pk,
                    by=mover,
                    changed_at=at,
                    from_status=previous,
                    to_status=status,
                )
            )
            previous = status
            insight.status_changed_at = at
            if status == InsightStatus.SHIPPED:
                _tell_shipped(story, insight, chosen, at)
        Insight.objects.filter(pk=insight.pk).update(status_changed_at=insight.status_changed_at)
        count += 1
    return count, made


def _tell_shipped(story: Story, insight: Insight, queries: list[QueryPlan], at: datetime) -> None:
    Delivery.objects.bulk_create(
        [
            Delivery(
                kind=DeliveryKind.INSIGHT_SHIPPED,
                channel=p.channel,
                query_id=p.pk,
                insight=insight,
                payload={
                    "event": "insight_shipped",
                    "query_external_id": p.external_id,
                    "insight_id": insight.pk,
                    "title": insight.title,
                    "body": f"Thanks for your question: what you told us is now shipped — {insight.title}.",
                    "published_at": at.isoformat(),
                },
                status=DeliveryStatus.DELIVERED,
                attempts=1,
                next_attempt_at=at,
                target="local",
                created_at=at,
                delivered_at=at + timedelta(seconds=1),
            )
            for p in queries
        ]
    )


def write_notices(story: Story, plans: list[QueryPlan]) -> None:
    """What the named accounts find in their notifications: today's work, not history."""
    for plan in plans:
        answer = plan.answer
        if answer is None or answer.author != story.sam or plan.received_at < story.now - timedelta(days=1):
            continue
        if answer.status == AnswerStatus.DRAFT:
            notify(
                user_ids=[answer.author.pk],
                kind="engage.answer_reviewed",
                title="Your answer came back with a comment",
                body=answer.review_comment,
                url=f"/queries/{plan.pk}/",
                dedupe_key=f"answer-rejected:{answer.pk}:demo",
            )
        elif answer.status == AnswerStatus.PENDING_REVIEW:
            reviewers = [r.pk for r in story.reviewers if r.department_id == story.sam.department_id]
            notify(
                user_ids=[*reviewers, *([story.remy.pk] if story.remy else [])],
                kind="engage.answer_review",
                title="An answer awaits review",
                body=f"{story.sam.name} answered: {plan.text[:200]}",
                url=f"/queries/{plan.pk}/",
                dedupe_key=f"answer-review:{answer.pk}:demo",
            )
    latest = Insight.objects.filter(status=InsightStatus.SUBMITTED).order_by("-created_at").first()
    if latest is not None and story.pia is not None:
        notify(
            user_ids=[story.pia.pk],
            kind="engage.insight",
            title=f"New insight: {latest.title}",
            body=latest.description[:280],
            url=f"/insights/{latest.pk}/",
            dedupe_key=f"insight-submitted:{latest.pk}",
        )


def _outcome_of(answer: AnswerPlan) -> str:
    if answer.status == AnswerStatus.PUBLISHED:
        return RevisionOutcome.APPROVED if answer.reviewed_by else RevisionOutcome.PUBLISHED
    if answer.status == AnswerStatus.WITHDRAWN:
        return RevisionOutcome.WITHDRAWN
    return RevisionOutcome.REJECTED if answer.status == AnswerStatus.DRAFT else RevisionOutcome.PENDING


def write_conversations(story: Story, plans: list[QueryPlan]) -> list[Activity]:
    """Threads in the demo: follow-ups answered in a second turn, two re-opened queries
    waiting in the queue, internal notes with mentions, a few hand-offs, and every submitted
    answer's revision with its review decision. Deterministic, and it draws nothing from the
    story's random numbers (the rest of the demo stays as it was)."""
    revisions = [
        AnswerRevision(
            answer_id=a.pk,
            number=1,
            author=a.author,
            body=a.body,
            body_html=render_markdown(a.body),
            message_ids=list(a.message_ids),
            submitted_at=a.submitted_at,
            comment=a.review_comment,
            outcome=_outcome_of(a),
            reviewed_by=a.reviewed_by,
            reviewed_at=a.reviewed_at,
        )
        for p in plans
        if (a := p.answer) is not None and a.pk and a.submitted_at is not None
    ]
    AnswerRevision.objects.bulk_create(revisions, batch_size=500)
    answered = [
        p
        for p in plans
        if p.answer is not None
        and p.answer.status == AnswerStatus.PUBLISHED
        and p.answered_at is not None
        and p.department is not None
        and p.close_reason == ""
    ]
    older = [p for p in answered if 3 < story.days_ago(p.answered_at or story.now) < 40][::29][:8]
    recent = [p for p in answered if 0.2 < story.days_ago(p.answered_at or story.now) < 1.5][:2]
    made: list[Activity] = []
    for n, plan in enumerate(older + recent):
        made += _follow_up(story, plan, n, reopen=plan in recent)
    made += _notes(story, plans, recent)
    made += _handoffs(story, [p for p in answered if 2 < story.days_ago(p.answered_at or story.now) < 30])
    return made


HANDOFF_NOTES = (
    "You answered the last one like this: yours?",
    "I'm off at three; you have the order history open already.",
    "This needs someone who knows the returns process.",
)


def _handoffs(story: Story, answered: list[QueryPlan]) -> list[Activity]:
    """Hand-offs in the history: on a few answered queries a colleague of the answerer's
    department claimed first and handed the claim over with a note, and the answerer then
    answered. The colleague's claim is a fact of its own (its event); the hand-off is not a
    participation event (engage.handoff), as the service records none."""
    made: list[Activity] = []
    for plan in answered[::37][: len(HANDOFF_NOTES)]:
        assert plan.answer is not None
        assert plan.answered_at is not None
        to = plan.answer.author
        giver = next((p for p in story.people if p.department_id == to.department_id and p.pk != to.pk), None)
        if giver is None:
            continue
        at = plan.answered_at - timedelta(minutes=40)
        made.append(participation.query_claimed(query_id=plan.pk, holder=giver, claimed_at=at - timedelta(minutes=15)))
        QueryHandoff.objects.create(
            query_id=plan.pk, from_user=giver, to_user=to, by_user=giver,
            note=HANDOFF_NOTES[len(made) - 1], created_at=at,
        )  # fmt: skip
    return made


def _follow_up(story: Story, plan: QueryPlan, n: int, *, reopen: bool) -> list[Activity]:
    assert plan.answer is not None
    assert plan.answered_at is not None
    received = min(plan.answered_at + timedelta(hours=3 + 2 * n), story.now - timedelta(minutes=20))
    message = CustomerMessage.objects.create(
        query_id=plan.pk, channel=plan.channel, external_id=reply_external_id(plan, received), text=FOLLOW_UPS[n % 4],
        author_handle=plan.handle, author_name=plan.name, received_at=received, turn=2,
    )  # fmt: skip
    query = Query.objects.get(pk=plan.pk)
    query.latest_message, query.latest_external_id, query.turn = message, message.external_id, 2
    query.first_sla_due_at, query.reopened_at = query.sla_due_at, received
    query.sla_due_at = received + RESPONSE_TARGETS[Priority(query.priority)]
    query.sla_breached_at = None  # as a re-opening does: the new turn is watched afresh
    if reopen:
        query.state, query.claimed_by, query.claimed_at, query.claimed_until = QueryState.OPEN, None, None, None
        query.save()
        return []
    author = plan.answer.author
    published = received + timedelta(hours=1 + n % 5, minutes=7 * n)
    body = SECOND_ANSWERS[n % 4]
    answer = Answer.objects.create(
        query=query, author=author, author_department_id=author.department_id, body=body,
        body_html=render_markdown(body), status=AnswerStatus.PUBLISHED, created_at=published,
        submitted_at=published, published_at=published, turn=2, in_reply_to=message,
    )  # fmt: skip
    AnswerRevision.objects.create(
        answer=answer, number=1, author=author, body=body, body_html=answer.body_html, submitted_at=published,
        outcome=RevisionOutcome.PUBLISHED,
    )  # fmt: skip
    query.save()
    payload = {
        "query_external_id": plan.external_id, "thread_id": plan.external_id, "in_reply_to": message.external_id,
        "answer_id": answer.pk, "body": body, "body_html": answer.body_html, "author": {"name": author.name},
        "published_at": published.isoformat(),
    }  # fmt: skip
    Delivery.objects.create(
        kind=DeliveryKind.ANSWER, channel=plan.channel, query=query, answer=answer, payload=payload,
        status=DeliveryStatus.DELIVERED, attempts=1, next_attempt_at=published, target="local",
        created_at=published, delivered_at=published + timedelta(seconds=1),
    )  # fmt: skip
    return [
        participation.answer_published(
            answer_id=answer.pk, author=author, author_department_id=author.department_id, published_at=published,
            query_id=plan.pk, query_department_id=query.department_id, message_ids=[],
        )
    ]  # fmt: skip


def _notes(story: Story, plans: list[QueryPlan], reopened: list[QueryPlan]) -> list[Activity]:
    """Colleagues' notes: Remy points Sam at the comment on his returned answer; on each
    re-opened query its first answerer asks a colleague of the same department to take it."""

    def note(plan: QueryPlan, author: User, body: str, mentions: list[User], at: datetime) -> None:
        made = QueryNote.objects.create(
            query_id=plan.pk, author=author, body=body, body_html=render_markdown(body), created_at=at
        )
        made.mentions.set(mentions)
        notify(
            user_ids=[m.pk for m in mentions],
            kind="engage.note_mention",
            title=f"{author.name} mentioned you in a note",
            body=body[:280],
            url=f"/queries/{plan.pk}/#note-{made.pk}",
            dedupe_key=f"note-mention:{made.pk}",
        )

    returned = next((p for p in plans if p.answer is not None and p.answer.status == AnswerStatus.DRAFT), None)
    if returned is not None and story.sam is not None and story.remy is not None and returned.answer is not None:
        at = (returned.answer.reviewed_at or story.now) + timedelta(minutes=2)
        handle = story.sam.email.split("@")[0]
        note(returned, story.remy, f"@{handle} see my comment above: the account email goes in a direct message, "
             "never in the public thread.", [story.sam], at)  # fmt: skip
    for plan in reopened:
        assert plan.answer is not None
        author = plan.answer.author
        colleague = next(
            (p for p in story.people if p.department_id == author.department_id and p.pk != author.pk), None
        )
        if colleague is None:
            continue
        handle = colleague.email.split("@")[0]
        note(plan, author, f"The customer wrote again. @{handle}, you know this one best: could you take it?",
             [colleague], story.now - timedelta(minutes=10))  # fmt: skip
    return []
