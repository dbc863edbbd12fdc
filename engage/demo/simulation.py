"""The demo's simulation: each query's story planned in memory (who answers, when, whether
a reviewer sends it back, escalations, triage, missed targets), nothing written.

One random generator, drawn in a fixed order, so the demo is the same on every machine.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from accounts.demo import DEMO_ACCOUNTS, DEMO_DOMAIN, demo_people
from accounts.models import Department, DepartmentKind, RoleName, Topic, User
from content.models import Message
from engage.demo.data import (
    ANSWERING,
    ANSWERS,
    CHANNELS,
    CLOSINGS,
    GENERIC_ANSWERS,
    HANDLE_NAMES,
    HISTORY_DAYS,
    LEASE,
    MARKETING_ANSWERS_FROM_DAYS_AGO,
    MARKETING_TEAM,
    OPENINGS,
    QUESTIONS,
    REJECTION_COMMENTS,
    ROUTING_LIVE_DAYS_AGO,
    TRIAGE_AFTER_DAYS,
)
from engage.models import (
    RESPONSE_TARGETS,
    AnswerStatus,
    Channel,
    CloseReason,
    ParticipationEvent,
    Priority,
    QueryState,
)
from engage.phase.definitions import PARTICIPATION_KINDS
from engage.routing import route
from training.models import Certification

# --- The plan of one query, made in memory first, written in bulk after -----------------------------


@dataclass
class AnswerPlan:
    author: User
    body: str
    message_ids: list[int]
    status: str
    created_at: datetime
    submitted_at: datetime | None
    published_at: datetime | None = None
    reviewed_by: User | None = None
    reviewed_at: datetime | None = None
    review_comment: str = ""
    # (reviewer, when, outcome, the submission it reviewed)
    reviews: list[tuple[User, datetime, str, datetime]] = field(default_factory=list)
    dead: bool = False
    pk: int = 0  # set once written


@dataclass
class QueryPlan:
    channel: Channel
    external_id: str
    text: str
    handle: str
    name: str
    priority: str
    received_at: datetime
    topic_slug: str | None
    department: Department | None = None
    topic_ids: list[int] = field(default_factory=list)
    matches: dict[int, list[str]] = field(default_factory=dict)
    routed_at: datetime | None = None
    state: str = QueryState.OPEN
    claimed_by: User | None = None
    claimed_at: datetime | None = None
    claimed_until: datetime | None = None
    answered_at: datetime | None = None
    close_reason: str = ""
    closed_at: datetime | None = None
    closed_by: User | None = None
    escalated_at: datetime | None = None
    escalated_by: User | None = None
    escalated_from: Department | None = None
    escalation_note: str = ""
    sla_breached_at: datetime | None = None
    claims: list[tuple[User, datetime]] = field(default_factory=list)
    answer: AnswerPlan | None = None
    draft: tuple[User, str, list[int], datetime] | None = None
    pk: int = 0  # set once written

    @property
    def sla_due_at(self) -> datetime:
        return self.received_at + RESPONSE_TARGETS[Priority(self.priority)]


def _ramp(value: float, low: float, high: float) -> float:
    """0 at ``low``, 1 at ``high``, clamped."""
    if high == low:
        return 1.0
    return min(1.0, max(0.0, (value - low) / (high - low)))


class Story:
    """The company as the story starts (people, departments, topics, certifications, live
    messages) and the plan of what happened to each query since; it writes nothing."""

    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng = rng
        self.now = now
        people = list(
            demo_people().filter(is_active=True).select_related("department").prefetch_related("roles").order_by("pk")
        )
        self.people = people
        self.by_email = {p.email: p for p in people}
        self.departments = {d.slug: d for d in Department.objects.all()}
        self.topics = list(Topic.objects.order_by("created_at", "id"))
        self.topic_by_slug = {t.slug: t for t in self.topics}
        self.sam = self.by_email.get(f"employee@{DEMO_DOMAIN}")
        self.pia = self.by_email.get(f"product@{DEMO_DOMAIN}")
        self.remy = self.by_email.get(f"reviewer@{DEMO_DOMAIN}")
        self.certs = self._certifications()
        self.rated = 0
        self.messages = self._messages()
        recent = set(
            ParticipationEvent.objects.filter(
                occurred_at__gte=now - timedelta(days=30), actor__isnull=False, kind__in=PARTICIPATION_KINDS
            )
            .values_list("actor_id", flat=True)
            .distinct()
        )
        # A couple of reviewers per department do the reviewing, the engaged ones first.
        self.reviewers = []
        for department in self.departments.values():
            held = [
                p
                for p in people
                if p.department_id == department.pk and p.has_role(RoleName.REVIEWER) and not p.has_role(RoleName.ADMIN)
            ]
            held.sort(key=lambda p: (p.pk not in recent and p != self.remy, p.pk))
            self.reviewers += held[:2]
        named = {a.email for a in DEMO_ACCOUNTS}
        # Those who answer are mostly people already taking part (sharing, learning): engaged
        # people do more than one thing.
        self.pools: dict[str, list[User]] = {}
        for slug, (_since, size) in ANSWERING.items():
            self.pools[slug] = self._pool(
                [p for p in people if p.department_id == self._dept_id(slug)], size, recent, named
            )
        marketing = [
            p
            for p in people
            if p.department and p.department.kind == DepartmentKind.MARKETING and not p.has_role(RoleName.CURATOR)
        ]
        self.marketing_team = self._pool(marketing, MARKETING_TEAM, recent, named)
        if self.sam is not None:
            self.pools["support"] = [self.sam, *[p for p in self.pools["support"] if p != self.sam]][
                : ANSWERING["support"][1]
            ]
        self.counter = 0

    def _dept_id(self, slug: str) -> int | None:
        department = self.departments.get(slug)
        return department.pk if department else None

    def _pool(self, members: list[User], size: int, recent: set[int], named: set[str]) -> list[User]:
        members = [p for p in members if p.email not in named]
        engaged = [p for p in members if p.pk in recent]
        others = [p for p in members if p.pk not in recent]
        self.rng.shuffle(engaged)
        self.rng.shuffle(others)
        # Joined long enough ago to have answered over the whole story, first.
        chosen = (engaged + others)[:size]
        return sorted(chosen, key=lambda p: p.date_joined)

    def _certifications(self) -> dict[int, list[tuple[datetime, datetime]]]:
        spans: dict[int, list[tuple[datetime, datetime]]] = {}
        for user_id, issued, expires in Certification.objects.filter(grants="responder").values_list(
            "user_id", "issued_at", "expires_at"
        ):
            spans.setdefault(user_id, []).append((issued, expires))
        return spans

    def certified(self, user: User, at: datetime) -> bool:
        return any(issued <= at < expires for issued, expires in self.certs.get(user.pk, ()))

    def _messages(self) -> list[dict[str, Any]]:
        rows = []
        for message in (
            Message.objects.filter(first_published_at__isnull=False)
            .prefetch_related("topics", "audience")
            .order_by("first_published_at", "id")
        ):
            rows.append(
                {
                    "id": message.pk,
                    "topics": {t.slug for t in message.topics.all()},
                    "audience": {d.pk for d in message.audience.all()},
                    "from": message.first_published_at,
                    "until": message.expires_at,
                    "text": message.body.strip(),
                }
            )
        return rows

    # --- Who, when ---------------------------------------------------------------------------------

    def days_ago(self, at: datetime) -> float:
        return (self.now - at).total_seconds() / 86400

    def moment(self, days_ago: float) -> datetime:
        """A time on the day ``days_ago`` days before now, mostly in waking hours."""
        day = timezone.localtime(self.now - timedelta(days=days_ago)).replace(hour=0, minute=0, second=0, microsecond=0)
        hour = min(23.9, max(0.0, self.rng.gauss(14, 4.5)))
        return day + timedelta(hours=hour, seconds=self.rng.randint(0, 59))

    def answerer_pool(self, plan: QueryPlan, at: datetime) -> list[User]:
        """Who answers this query at ``at`` (people who had joined by then), or nobody."""
        ago = self.days_ago(at)
        department = plan.department
        if department is None or department.kind == DepartmentKind.MARKETING:
            if ago > MARKETING_ANSWERS_FROM_DAYS_AGO:
                pool = self.marketing_team[:2]
            else:
                size = 3 + round(4 * _ramp(MARKETING_ANSWERS_FROM_DAYS_AGO - ago, 0, 60))
                pool = self.marketing_team[:size]
        else:
            since, size = ANSWERING.get(department.slug, (0, 0))
            if ago > since:
                return []
            grown = max(1, math.ceil(size * (0.35 + 0.65 * _ramp(since - ago, 0, since))))
            pool = self.pools.get(department.slug, [])[:grown]
        return [p for p in pool if p.date_joined < at - timedelta(days=2)]

    def answer_probability(self, plan: QueryPlan, at: datetime) -> float:
        ago = self.days_ago(at)
        if ago > MARKETING_ANSWERS_FROM_DAYS_AGO:
            return 0.10
        if ago > ROUTING_LIVE_DAYS_AGO:
            return 0.38 + 0.2 * _ramp(MARKETING_ANSWERS_FROM_DAYS_AGO - ago, 0, 46)
        if plan.department is None or plan.department.kind == DepartmentKind.MARKETING:
            return 0.6
        return 0.66 + 0.2 * _ramp(ROUTING_LIVE_DAYS_AGO - ago, 0, ROUTING_LIVE_DAYS_AGO)

    def reviewer_for(self, author: User, at: datetime) -> User | None:
        local = [r for r in self.reviewers if r.department_id == author.department_id and r.pk != author.pk]
        choices = local or [r for r in self.reviewers if r.pk != author.pk]
        choices = [r for r in choices if r.date_joined < at]
        return self.rng.choice(choices) if choices else None

    def closer_for(self, plan: QueryPlan, at: datetime) -> User | None:
        if plan.department is not None:
            local = [r for r in self.reviewers if r.department_id == plan.department.pk and r.date_joined < at]
            if local:
                return self.rng.choice(local)
        return self.remy or (self.reviewers[0] if self.reviewers else None)

    # --- Queries -----------------------------------------------------------------------------------

    def new_plan(self, channel: Channel, received_at: datetime, topic_slug: str | None, text: str) -> QueryPlan:
        self.counter += 1
        name = self.rng.choice(HANDLE_NAMES)
        handle = "@" + name.split()[0].lower() + str(self.rng.randint(1, 999))
        roll = self.rng.random()
        priority = (
            Priority.URGENT
            if roll < 0.05
            else Priority.HIGH
            if roll < 0.25
            else Priority.LOW
            if roll < 0.35
            else Priority.NORMAL
        )
        return QueryPlan(
            channel=channel,
            external_id=f"demo-{self.counter:05d}",
            text=text,
            handle=handle,
            name=name if self.rng.random() < 0.7 else "",
            priority=priority,
            received_at=received_at,
            topic_slug=topic_slug,
        )

    def route(self, plan: QueryPlan) -> None:
        plan.routed_at = plan.received_at + timedelta(seconds=self.rng.randint(1, 4))
        if self.days_ago(plan.received_at) > ROUTING_LIVE_DAYS_AGO:
            return  # routing was not switched on yet: the query stays with everyone (unrouted)
        result = route(plan.text, self.topics)
        if result.department_id is not None:
            plan.department = next(d for d in self.departments.values() if d.pk == result.department_id)
            plan.topic_ids = list(result.topic_ids)
            plan.matches = {int(k): list(v) for k, v in result.matches.items()}

    def queries(self, channels: list[Channel]) -> list[QueryPlan]:
        topics = list(QUESTIONS)
        weights = [QUESTIONS[t][0] for t in topics]
        channel_weights = [c.share for c in CHANNELS]
        plans: list[QueryPlan] = []
        for day in range(HISTORY_DAYS, -1, -1):
            growth = (HISTORY_DAYS - day) / HISTORY_DAYS
            weekday = timezone.localtime(self.now - timedelta(days=day)).weekday()
            expected = (8 + 18 * growth) * (0.6 if weekday >= 5 else 1.0)
            for _ in range(max(0, round(self.rng.gauss(expected, expected * 0.2)))):
                received = self.moment(day)
                if received > self.now - timedelta(minutes=3):
                    continue
                topic = self.rng.choices(topics, weights)[0]
                text = self.rng.choice(QUESTIONS[topic][1])
                channel = self.rng.choices(channels, channel_weights)[0]
                plan = self.new_plan(channel, received, topic, text)
                self.route(plan)
                self.work(plan)
                plans.append(plan)
        plans.sort(key=lambda p: p.received_at)
        return plans

    def answer_text(self, plan: QueryPlan, author: User, at: datetime) -> tuple[str, list[int]]:
        name = (plan.name or plan.handle).split()[0]
        if plan.text in GENERIC_ANSWERS:
            return f"Hi {name}! {GENERIC_ANSWERS[plan.text]}", []
        parts = [self.rng.choice(OPENINGS).format(name=name), self.rng.choice(ANSWERS[plan.topic_slug])]
        used: list[int] = []
        if plan.topic_slug and self.rng.random() < 0.5:
            live = [
                m
                for m in self.messages
                if plan.topic_slug in m["topics"]
                and m["from"] <= at
                and (m["until"] is None or m["until"] > at)
                and (not m["audience"] or author.department_id in m["audience"])
            ]
            if live:
                message = self.rng.choice(live)
                parts.append(message["text"])
                used.append(message["id"])
        closing = self.rng.choice(CLOSINGS)
        if closing:
            parts.append(closing)
        return "\n\n".join(parts), used

    def work(self, plan: QueryPlan) -> None:
        """What happened to the query after it arrived, up to now."""
        rng, now, received = self.rng, self.now, plan.received_at
        ago = self.days_ago(received)
        roll = rng.random()
        if roll < 0.05 or (0.05 <= roll < 0.08 and ago < ROUTING_LIVE_DAYS_AGO):
            self.close_at_once(plan, CloseReason.SPAM if roll < 0.05 else CloseReason.DUPLICATE)
            return

        if plan.department is not None and ago < ROUTING_LIVE_DAYS_AGO - 5 and rng.random() < 0.04:
            self.escalate(plan)

        start = plan.escalated_at or received
        pool = self.answerer_pool(plan, start)
        if not pool or rng.random() > self.answer_probability(plan, start):
            self.triage(plan)
            return
        author = rng.choice(pool)
        done = start + self.answer_delay(plan, ago)
        claimed = start + (done - start) * rng.uniform(0.3, 0.6)
        writing = min(timedelta(minutes=rng.uniform(3, 30)), (done - claimed) * 0.5)
        submitted = claimed + writing
        if claimed > now:
            self.triage(plan)
            return
        plan.claims.append((author, claimed))
        plan.claimed_by, plan.claimed_at, plan.claimed_until = author, claimed, claimed + LEASE
        body, used = self.answer_text(plan, author, submitted)
        if submitted > now:
            if plan.claimed_until <= now:  # the claim lapsed: the draft waits for its author
                plan.draft = (author, body.split("\n\n")[0], used, claimed + writing / 2)
            return
        plan.claimed_until = None
        answer = AnswerPlan(
            author=author,
            body=body,
            message_ids=used,
            status=AnswerStatus.PENDING_REVIEW,
            created_at=submitted,
            submitted_at=submitted,
        )
        plan.answer = answer
        if self.certified(author, submitted):
            self.publish(plan, submitted)
            return
        self.review(plan, answer, done=done, submitted=submitted)

    def close_at_once(self, plan: QueryPlan, reason: str) -> None:
        """Spam or a duplicate, closed within hours of arriving (when someone could close it)."""
        at = plan.received_at + timedelta(hours=self.rng.uniform(0.2, 8))
        closer = self.closer_for(plan, at)
        if at < self.now and closer is not None:
            plan.state, plan.close_reason, plan.closed_at, plan.closed_by = QueryState.CLOSED, reason, at, closer

    def answer_delay(self, plan: QueryPlan, ago: float) -> timedelta:
        """From arrival (or escalation) to the answer: slow at first, then mostly within target."""
        rng = self.rng
        target = RESPONSE_TARGETS[Priority(plan.priority)]
        if ago > MARKETING_ANSWERS_FROM_DAYS_AGO:
            return timedelta(hours=rng.uniform(10, 110))
        if ago > ROUTING_LIVE_DAYS_AGO:
            return target * (rng.uniform(0.3, 0.95) if rng.random() < 0.4 else rng.uniform(1.1, 4.0))
        in_time = 0.8 + 0.12 * _ramp(ROUTING_LIVE_DAYS_AGO - ago, 0, ROUTING_LIVE_DAYS_AGO)
        return target * (rng.uniform(0.15, 0.85) if rng.random() < in_time else rng.uniform(1.1, 2.5))

    def review(self, plan: QueryPlan, answer: AnswerPlan, *, done: datetime, submitted: datetime) -> None:
        """A submitted answer's review: waiting, sent back and fixed, or approved and published."""
        rng, now = self.rng, self.now
        author = answer.author
        reviewed = max(done, submitted + timedelta(minutes=rng.uniform(8, 40)))
        reviewer = self.reviewer_for(author, reviewed)
        if reviewer is None:
            plan.state = QueryState.PENDING_REVIEW
            return
        # Reviewers have not yet got to most of the answers of the last day.
        if reviewed > now or (submitted > now - timedelta(hours=20) and rng.random() < 0.6):
            plan.state = QueryState.PENDING_REVIEW
            return
        if rng.random() < 0.12:  # sent back with a comment, then fixed and approved
            comment = rng.choice(REJECTION_COMMENTS)
            answer.reviews.append((reviewer, reviewed, "rejected", submitted))
            answer.reviewed_by, answer.reviewed_at, answer.review_comment = reviewer, reviewed, comment
            resubmitted = reviewed + timedelta(minutes=rng.uniform(5, 45))
            if resubmitted > now:
                answer.status = AnswerStatus.DRAFT
                plan.state = QueryState.OPEN
                plan.claimed_at, plan.claimed_until = reviewed, reviewed + LEASE
                return
            answer.submitted_at = resubmitted
            reviewed = resubmitted + timedelta(minutes=rng.uniform(10, 120))
            if reviewed > now:
                plan.state = QueryState.PENDING_REVIEW
                return
        answer.reviews.append((reviewer, reviewed, "approved", answer.submitted_at or submitted))
        answer.reviewed_by, answer.reviewed_at, answer.review_comment = reviewer, reviewed, ""
        self.publish(plan, reviewed)

    def publish(self, plan: QueryPlan, at: datetime) -> None:
        assert plan.answer is not None
        plan.answer.status = AnswerStatus.PUBLISHED
        plan.answer.published_at = at
        plan.state = QueryState.ANSWERED
        plan.answered_at = at
        plan.claimed_until = None

    def escalate(self, plan: QueryPlan) -> None:
        """Routed to the wrong department by its words: the first holder sends it on."""
        assert plan.department is not None
        here = plan.department.slug
        targets = [slug for slug in ("customer-service", "support", "sales", "product") if slug != here]
        target = self.departments.get(self.rng.choice(targets))
        pool = self.answerer_pool(plan, plan.received_at) or [
            r for r in self.reviewers if r.department_id == plan.department.pk
        ]
        at = plan.received_at + timedelta(minutes=self.rng.uniform(10, 90))
        if target is None or not pool or at > self.now:
            return
        holder = self.rng.choice(pool)
        plan.claims.append((holder, at - timedelta(minutes=4)))
        plan.escalated_from, plan.department = plan.department, target
        plan.escalated_at, plan.escalated_by = at, holder
        plan.escalation_note = self.rng.choice(
            (
                "This is about an invoice, not the product.",
                "Customer asks about a delivery — yours, I think.",
                "Pricing question hiding in a support ticket.",
                "Looks like a feature request, over to you.",
            )
        )
        plan.claimed_by = plan.claimed_at = plan.claimed_until = None

    def triage(self, plan: QueryPlan) -> None:
        """Unanswered: closed as "no action" in a weekly triage once stale, else still open."""
        at = plan.received_at + timedelta(days=self.rng.uniform(*TRIAGE_AFTER_DAYS))
        closer = self.closer_for(plan, at)
        if at < self.now and closer is not None:
            plan.state, plan.close_reason, plan.closed_at, plan.closed_by = (
                QueryState.CLOSED,
                CloseReason.NO_ACTION,
                at,
                closer,
            )
            plan.claimed_until = None

    def breaches(self, plans: list[QueryPlan]) -> None:
        for plan in plans:
            due = plan.sla_due_at
            if due > self.now:
                continue
            if plan.answered_at is not None and plan.answered_at <= due:
                continue
            if plan.closed_at is not None and plan.closed_at <= due:
                continue
            plan.sla_breached_at = min(self.now, due + timedelta(seconds=self.rng.randint(20, 300)))

    # --- The named accounts' waiting work ---------------------------------------------------------------

    def named_work(self, channels: dict[str, Channel]) -> list[QueryPlan]:
        """Sam Support's answer in review, one sent back to him, and a draft on a lapsed claim."""
        support = self.departments.get("support")
        if self.sam is None or support is None:
            return []
        now, made = self.now, []
        specs = (
            ("forum", "Two-factor codes are not accepted anymore, I can't sign in.", 3.2, "review"),
            ("x", "I'm locked out of my account after the password reset email never came.", 5.5, "rejected"),
            ("support-email", "Is there an SDK for Python, or only the REST api?", 26, "draft"),
        )
        for slug, text, hours_ago, outcome in specs:
            plan = self.new_plan(channels[slug], now - timedelta(hours=hours_ago), None, text)
            plan.priority = Priority.NORMAL
            self.route(plan)
            plan.topic_slug = "sign-in" if "sign in" in text or "locked out" in text else "integrations"
            claimed = plan.received_at + timedelta(minutes=40)
            plan.claims.append((self.sam, claimed))
            plan.claimed_by, plan.claimed_at, plan.claimed_until = self.sam, claimed, claimed + LEASE
            body, used = self.answer_text(plan, self.sam, claimed)
            if outcome == "draft":
                plan.draft = (self.sam, body.split("\n\n")[0] + "\n\nWe have an official Python SDK: ", used, claimed)
            else:
                submitted = claimed + timedelta(minutes=12)
                plan.answer = AnswerPlan(
                    author=self.sam,
                    body=body,
                    message_ids=used,
                    status=AnswerStatus.PENDING_REVIEW,
                    created_at=submitted,
                    submitted_at=submitted,
                )
                plan.state, plan.claimed_until = QueryState.PENDING_REVIEW, None
                if outcome == "rejected":
                    reviewer = self.remy or self.reviewer_for(self.sam, now)
                    assert reviewer is not None
                    at = submitted + timedelta(minutes=50)
                    plan.answer.status = AnswerStatus.DRAFT
                    plan.answer.reviews.append((reviewer, at, "rejected", submitted))
                    plan.answer.reviewed_by, plan.answer.reviewed_at = reviewer, at
                    plan.answer.review_comment = (
                        "Good start — but never ask for the account email in public. Ask them to send it in a "
                        "direct message, and link the approved wording on password resets."
                    )
                    plan.state, plan.claimed_at, plan.claimed_until = QueryState.OPEN, at, at + LEASE
            made.append(plan)
        return made
