"""The demo company's community queries: a seed step of ``manage.py seed_demo``.

Five channels bring a few thousand customer queries over 180 days, more every month. The
story follows the phase model:

- **Authoritarian** (six to four months ago): questions mostly go unanswered; now and then
  the social media team in marketing replies, days later.
- **Inclusive** (from about four months ago): marketing listens and answers most queries
  itself — nothing is routed yet, so every answer is marketing's.
- **Collaborative** (from about twelve weeks ago): routing by topic goes live; Customer
  Service and Tech Support answer their own queries, then Sales, Product, Engineering,
  HR and Finance join; answers come within their response targets, and uncertified
  authors go through review (some answers come back with a comment first).
- **Social** stays out of reach: most people still do not take part, too few departments
  are covered and not enough people are certified — though insights flow back to the
  product team and some were planned or shipped in the last 90 days.

Queries are routed with the real routing rules; stale unanswered ones were closed in the
weekly triage; some were spam or duplicates, some escalated to another department, some
missed their response targets (each flagged once, as the breach job does). Two deliveries
are dead letters an administrator can retry. The named accounts have work waiting: Sam
Support an answer in review, one sent back with a comment and a draft on a lapsed claim;
the reviewer answers to review; Pia Product insights to move.

Rows are written directly at their moment in the past (the services work in the present),
with the participation events the services would have recorded — same kinds, same keys —
so the phase engine counts exactly what real use would have made. Deterministic for a
given seed; a second run adds nothing.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.demo import DEMO_ACCOUNTS, DEMO_DOMAIN, demo_people
from accounts.models import Department, DepartmentKind, RoleName, Topic, User
from config.activity import Activity, ActivityKind
from config.markdown import render_markdown
from engage import participation, services
from engage.models import (
    RESPONSE_TARGETS,
    Answer,
    AnswerRating,
    AnswerRevision,
    AnswerStatus,
    Channel,
    CloseReason,
    CustomerMessage,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Insight,
    InsightStatus,
    InsightStatusChange,
    ParticipationEvent,
    Priority,
    Query,
    QueryDraft,
    QueryNote,
    QueryState,
    RevisionOutcome,
)
from engage.phase.definitions import PARTICIPATION_KINDS
from engage.routing import route

HISTORY_DAYS = 180
ROUTING_LIVE_DAYS_AGO = 84  # before this, nothing was routed: marketing saw (and answered) everything
MARKETING_ANSWERS_FROM_DAYS_AGO = 130
LEASE = timedelta(minutes=15)
TRIAGE_AFTER_DAYS = (4, 10)  # unanswered queries older than this were closed as "no action"


@dataclass(frozen=True)
class DemoChannel:
    slug: str
    name: str
    kind: str
    share: float


CHANNELS = (
    DemoChannel("x", "X (Twitter)", "twitter", 0.34),
    DemoChannel("forum", "Community forum", "forum", 0.30),
    DemoChannel("support-email", "Support email", "email", 0.18),
    DemoChannel("facebook", "Facebook", "facebook", 0.12),
    DemoChannel("linkedin", "LinkedIn", "linkedin", 0.06),
)

# Departments that answer their own queries: since how many days ago, and how many of their
# people do by now (fewer at first).
ANSWERING: dict[str, tuple[int, int]] = {
    "customer-service": (80, 12),
    "support": (76, 11),
    "sales": (72, 6),
    "product": (62, 3),
    "engineering": (58, 3),
    "people": (56, 2),
    "finance": (50, 2),
    "legal": (44, 1),
    "it": (46, 1),
}
MARKETING_TEAM = 7  # the social media team (marketing and communications)

# What customers write, by topic (each mentions its topic's keywords, as real ones do);
# None: nothing any topic routes.
QUESTIONS: dict[str | None, tuple[int, tuple[str, ...]]] = {
    "billing": (
        18,
        (
            "I was charged twice for my subscription this month, can someone help?",
            "Where can I download the invoice for my last payment?",
            "I asked for a refund two weeks ago and nothing yet. How long does a refund take?",
            "My card payment failed but the billing page says paid. Which is it?",
            "Can I get a refund for the unused months of my annual plan?",
        ),
    ),
    "orders": (
        16,
        (
            "My order hasn't arrived and the tracking number doesn't work.",
            "How do I return a damaged item from my order?",
            "Delivery was promised for Tuesday, it's Friday. Any news on shipping?",
            "Can I change the delivery address on an order I placed this morning?",
            "Is there free shipping on a return if the size is wrong?",
        ),
    ),
    "sign-in": (
        12,
        (
            "I'm locked out of my account after the password reset email never came.",
            "Two-factor codes are not accepted anymore, I can't sign in.",
            "Login keeps looping back to the start page on my phone.",
            "How do I turn on two-factor for my whole team?",
        ),
    ),
    "outages": (
        8,
        (
            "Is the app down? Dashboard has been not loading for 20 minutes.",
            "Getting error 500 on every page since this morning.",
            "Is there a status page I can follow during an outage?",
        ),
    ),
    "integrations": (
        7,
        (
            "Your webhook sends the same event three times. Is that expected?",
            "Is there an SDK for Python, or only the REST api?",
            "The Shopify integration stopped syncing orders yesterday.",
        ),
    ),
    "pricing": (
        9,
        (
            "What does the enterprise plan cost for 200 seats?",
            "Do you have a discount for nonprofits or schools?",
            "Can I get a quote for a yearly plan paid by invoice?",
            "Your pricing page and the checkout show different prices.",
        ),
    ),
    "campaigns": (
        6,
        (
            "I entered the giveaway last week, when are winners announced?",
            "The promo code from your newsletter says expired.",
            "How do I sign up for the newsletter?",
        ),
    ),
    "press": (
        2,
        (
            "Journalist here: who can I talk to for an interview about your growth?",
            "Media inquiry about your new community forum, who handles press?",
        ),
    ),
    "feature-requests": (
        6,
        (
            "Feature request: a dark mode for the mobile app, please!",
            "Would love an export of all my data to CSV.",
            "Please add a Slack notification when an order ships.",
            "Is an offline mode on the roadmap?",
        ),
    ),
    "bugs": (
        5,
        (
            "The app crashes every time I upload a large photo.",
            "Found a bug: dates show in the wrong time zone in reports.",
            "Looks like a regression since the last update, the search is empty.",
        ),
    ),
    "careers": (
        4,
        (
            "Are you hiring in Lisbon? I can't find the careers page.",
            "Is the summer internship open to international students?",
            "I applied for a job three weeks ago, is there any news?",
        ),
    ),
    "investors": (
        2,
        (
            "When will the annual report be published?",
            "Investor question: when are the next earnings announced?",
        ),
    ),
    "privacy": (
        3,
        (
            "Please delete my data, I'm leaving. How do I do that under GDPR?",
            "Where is your privacy policy for the mobile app?",
        ),
    ),
    "security": (
        1,
        (
            "I got a phishing email pretending to be you.",
            "I think I found a vulnerability in your login form, who do I tell?",
        ),
    ),
    "leadership": (1, ("Will the CEO speak at the customer conference this year?",)),
    None: (
        10,
        (
            "Love what you've built, thank you!",
            "Hello? Is anybody reading this account?",
            "Quick question: are you open on Sundays?",
            "Your new logo looks great.",
            "Does your app work in Portuguese?",
        ),
    ),
}

OPENINGS = (
    "Hi {name}, thanks for reaching out!",
    "Hello {name}, sorry for the trouble.",
    "Thanks for asking, {name}.",
    "Hi {name} — good question.",
)
ANSWERS: dict[str | None, tuple[str, ...]] = {
    "billing": (
        "I can see the **duplicate charge** and I've refunded it; it reaches your card within five working days.",
        "You'll find every invoice under *Settings → Billing*. I've also sent the last one to your email.",
    ),
    "orders": (
        "I checked your order: it left our warehouse yesterday and the **tracking link** is now active.",
        "Returns are free within 30 days — start one from *Orders → Return an item*.",
    ),
    "sign-in": (
        "I've sent a fresh password reset link; it's valid for one hour. Check the spam folder too.",
        "Two-factor codes depend on your phone's clock: set it to automatic and try again.",
    ),
    "outages": ("We had a short outage in one region; it's fixed now. Updates are always on our status page.",),
    "integrations": (
        "Webhooks are retried until you answer with a 2xx, so the same event can arrive twice: "
        "use its id to skip duplicates.",
    ),
    "pricing": (
        "I've asked a colleague in Sales to send you a quote today. The enterprise plan includes SSO and support.",
    ),
    "campaigns": ("Winners are announced on Friday on our blog, and we'll tell every winner by email.",),
    "press": ("Our communications team will contact you today to set up an interview.",),
    "feature-requests": ("Great idea — I've passed it to our product team as an insight.",),
    "bugs": ("Thanks for the report! Engineering has reproduced it and a fix is on its way.",),
    "careers": ("Every open role is on our careers page, and we answer every application within three weeks.",),
    "investors": ("The annual report is published in March on our investor pages.",),
    "privacy": ("You can delete your account and data yourself under *Settings → Privacy*.",),
    "security": ("Thank you — please send the details to our security team; we'll answer within a day.",),
    "leadership": ("Yes! Our CEO opens the conference on the first morning.",),
    None: ("Happy to help — here is what you need to know.",),
}
# Questions no topic routes get an answer of their own.
GENERIC_ANSWERS = {
    "Love what you've built, thank you!": "Thank you, that made our day! Tell us anytime what we could do better.",
    "Hello? Is anybody reading this account?": "We are! Sorry for the wait — what can we help you with?",
    "Quick question: are you open on Sundays?": "Yes: our support answers every day from 8 to 20, Sundays too.",
    "Your new logo looks great.": "Thank you! Our design team will be delighted to hear it.",
    "Does your app work in Portuguese?": "It does: choose Português under *Settings → Language*.",
}
CLOSINGS = ("", "", "Anything else, just reply here.", "Have a good day!")
REJECTION_COMMENTS = (
    "Please don't promise a date here: say it is being looked at, and link the approved wording.",
    "Too long for a public reply — keep the first two sentences and move the account details to a private message.",
    "Remove the order number from the public answer and ask them to check their direct messages.",
    "Use the approved refund wording: five working days, not 'a few days'.",
)
HANDLE_NAMES = (
    "Ana Souza",
    "Ben Carter",
    "Chiara Rossi",
    "Dev Patel",
    "Elif Demir",
    "Finn Murphy",
    "Grace Liu",
    "Hamid Karimi",
    "Ines Moreau",
    "Jonas Berg",
    "Kofi Mensah",
    "Lucia Gomez",
    "Marta Nowak",
    "Noah Fischer",
    "Olga Ivanova",
    "Pedro Alves",
    "Quinn Taylor",
    "Rania Haddad",
    "Sven Larsen",
    "Tomoko Sato",
)


@dataclass(frozen=True)
class DemoInsight:
    title: str
    description: str
    topic: str
    submitted_days_ago: float
    moves: tuple[tuple[str, float], ...]  # (status, days ago)
    queries: int


INSIGHTS = (
    DemoInsight(
        "Delivery tracking link in the confirmation email",
        "Customers keep asking where their order is: the confirmation email has no tracking link.",
        "orders",
        160,
        ((InsightStatus.UNDER_REVIEW, 155), (InsightStatus.SHIPPED, 128)),
        4,
    ),
    DemoInsight(
        "Dark mode for the mobile app",
        "A steady stream of requests on X and the forum, mostly from people using the app at night.",
        "feature-requests",
        140,
        ((InsightStatus.UNDER_REVIEW, 132), (InsightStatus.PLANNED, 110), (InsightStatus.SHIPPED, 58)),
        5,
    ),
    DemoInsight(
        "Refunds back to the original card automatically",
        "Half of our refund questions are people who were refunded to a card they no longer have.",
        "billing",
        62,
        ((InsightStatus.UNDER_REVIEW, 55), (InsightStatus.PLANNED, 41)),
        6,
    ),
    DemoInsight(
        "Export invoices as CSV",
        "Finance teams of our business customers ask for a CSV of all invoices for their bookkeeping.",
        "billing",
        70,
        ((InsightStatus.UNDER_REVIEW, 64), (InsightStatus.PLANNED, 24)),
        3,
    ),
    DemoInsight(
        "Two-factor with an authenticator app, not only SMS",
        "Travelling customers lose access when SMS codes do not arrive abroad.",
        "sign-in",
        50,
        ((InsightStatus.UNDER_REVIEW, 43),),
        4,
    ),
    DemoInsight(
        "Webhooks: let customers choose the retry schedule",
        "Integrators find our retries too aggressive during their maintenance windows.",
        "integrations",
        40,
        ((InsightStatus.UNDER_REVIEW, 31), (InsightStatus.DECLINED, 12)),
        2,
    ),
    DemoInsight(
        "Per-region status on the status page",
        "During the last outage customers could not tell whether their region was affected.",
        "outages",
        21,
        (),
        3,
    ),
    DemoInsight(
        "A nonprofit discount on annual plans",
        "Charities and schools ask for a discount; competitors offer 30 %.",
        "pricing",
        16,
        ((InsightStatus.UNDER_REVIEW, 7),),
        3,
    ),
    DemoInsight(
        "Large photo uploads crash the app",
        "Several reports this month, all with photos over 20 MB from recent phones.",
        "bugs",
        8,
        (),
        3,
    ),
    DemoInsight(
        "Slack notifications when an order ships",
        "Small shops run their day in Slack and want shipping updates there.",
        "feature-requests",
        3,
        (),
        2,
    ),
)


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


class _Story:
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
        from training.models import Certification

        spans: dict[int, list[tuple[datetime, datetime]]] = {}
        for user_id, issued, expires in Certification.objects.filter(grants="responder").values_list(
            "user_id", "issued_at", "expires_at"
        ):
            spans.setdefault(user_id, []).append((issued, expires))
        return spans

    def certified(self, user: User, at: datetime) -> bool:
        return any(issued <= at < expires for issued, expires in self.certs.get(user.pk, ()))

    def _messages(self) -> list[dict[str, Any]]:
        from content.models import Message

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

    def work(self, plan: QueryPlan) -> None:  # noqa: C901 (predates the limit)
        """What happened to the query after it arrived, up to now."""
        rng, now, received = self.rng, self.now, plan.received_at
        ago = self.days_ago(received)
        roll = rng.random()
        if roll < 0.05 or (0.05 <= roll < 0.08 and ago < ROUTING_LIVE_DAYS_AGO):
            reason = CloseReason.SPAM if roll < 0.05 else CloseReason.DUPLICATE
            at = received + timedelta(hours=rng.uniform(0.2, 8))
            closer = self.closer_for(plan, at)
            if at < now and closer is not None:
                plan.state, plan.close_reason, plan.closed_at, plan.closed_by = QueryState.CLOSED, reason, at, closer
            return

        if plan.department is not None and ago < ROUTING_LIVE_DAYS_AGO - 5 and rng.random() < 0.04:
            self.escalate(plan)

        start = plan.escalated_at or received
        pool = self.answerer_pool(plan, start)
        if not pool or rng.random() > self.answer_probability(plan, start):
            self.triage(plan)
            return
        author = rng.choice(pool)
        target = RESPONSE_TARGETS[Priority(plan.priority)]
        if ago > MARKETING_ANSWERS_FROM_DAYS_AGO:
            delay = timedelta(hours=rng.uniform(10, 110))
        elif ago > ROUTING_LIVE_DAYS_AGO:
            delay = target * (rng.uniform(0.3, 0.95) if rng.random() < 0.4 else rng.uniform(1.1, 4.0))
        else:
            in_time = 0.8 + 0.12 * _ramp(ROUTING_LIVE_DAYS_AGO - ago, 0, ROUTING_LIVE_DAYS_AGO)
            delay = target * (rng.uniform(0.15, 0.85) if rng.random() < in_time else rng.uniform(1.1, 2.5))
        done = start + delay
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

    def notices(self, plans: list[QueryPlan]) -> None:
        """What the named accounts find in their notifications: today's work, not history."""
        from accounts.notifications import notify

        for plan in plans:
            answer = plan.answer
            if answer is None or answer.author != self.sam or plan.received_at < self.now - timedelta(days=1):
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
                reviewers = [r.pk for r in self.reviewers if r.department_id == self.sam.department_id]
                notify(
                    user_ids=[*reviewers, *([self.remy.pk] if self.remy else [])],
                    kind="engage.answer_review",
                    title="An answer awaits review",
                    body=f"{self.sam.name} answered: {plan.text[:200]}",
                    url=f"/queries/{plan.pk}/",
                    dedupe_key=f"answer-review:{answer.pk}:demo",
                )
        latest = Insight.objects.filter(status=InsightStatus.SUBMITTED).order_by("-created_at").first()
        if latest is not None and self.pia is not None:
            notify(
                user_ids=[self.pia.pk],
                kind="engage.insight",
                title=f"New insight: {latest.title}",
                body=latest.description[:280],
                url=f"/insights/{latest.pk}/",
                dedupe_key=f"insight-submitted:{latest.pk}",
            )

    # --- Writing -------------------------------------------------------------------------------------------

    def write(self, plans: list[QueryPlan]) -> list[Activity]:
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
                QueryDraft(
                    query_id=p.pk, author=p.draft[0], body=p.draft[1], message_ids=p.draft[2], updated_at=p.draft[3]
                )
                for p in plans
                if p.draft is not None
            ]
        )
        self.deliveries(answered)
        self.ratings(answered)
        return self.events(plans)

    def ratings(self, answered: list[QueryPlan]) -> None:
        """Customers rate about half the answers that went out, better as the company learns.

        A random source of its own, so the rest of the story draws what it always drew."""
        rng = random.Random(RATINGS_SEED)
        rows = []
        for plan in answered:
            a = plan.answer
            if a is None or a.status != AnswerStatus.PUBLISHED or a.published_at is None or rng.random() > 0.5:
                continue
            rated_at = a.published_at + timedelta(hours=rng.uniform(0.2, 40))
            if rated_at >= self.now:
                continue
            learned = 1 - min(1.0, self.days_ago(a.published_at) / HISTORY_DAYS)  # 0 long ago, 1 today
            happy = rng.random() < 0.55 + 0.3 * learned
            score = rng.choice((4, 5, 5)) if happy else rng.choice((1, 2, 3, 3))
            comment = rng.choice(RATING_COMMENTS[score]) if rng.random() < 0.35 else ""
            rows.append(
                AnswerRating(answer_id=a.pk, score=score, comment=comment, created_at=rated_at, updated_at=rated_at)
            )
        AnswerRating.objects.bulk_create(rows, batch_size=500)
        self.rated = len(rows)

    def deliveries(self, answered: list[QueryPlan]) -> None:
        published = [p for p in answered if p.answer is not None and p.answer.status == AnswerStatus.PUBLISHED]
        recent_forum = [
            p
            for p in published
            if p.channel.slug == "forum" and p.answered_at and 2 < self.days_ago(p.answered_at) < 12
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

    def events(self, plans: list[QueryPlan]) -> list[Activity]:
        made: list[Activity] = []

        def add(kind: str, at: datetime, object_type: str, object_id: int, key: str, **kw: Any) -> None:
            made.append(
                participation.activity(
                    kind=kind, occurred_at=at, object_type=object_type, object_id=object_id, key=key, **kw
                )
            )

        for p in plans:
            assert p.pk
            assert p.routed_at is not None
            add(
                ActivityKind.QUERY_RECEIVED,
                p.received_at,
                "engage.query",
                p.pk,
                f"query_received:{p.pk}",
                data={"channel": p.channel.slug, "priority": p.priority},
            )
            routed_to = p.escalated_from or p.department
            if routed_to is not None:
                add(
                    ActivityKind.QUERY_ROUTED,
                    p.routed_at,
                    "engage.query",
                    p.pk,
                    f"query_routed:{p.pk}",
                    department_id=routed_to.pk,
                    data={"topics": p.topic_ids, "matches": {str(k): v for k, v in p.matches.items()}},
                )
            for holder, at in p.claims:
                add(
                    ActivityKind.QUERY_CLAIMED,
                    at,
                    "engage.query",
                    p.pk,
                    f"query_claimed:{p.pk}:{holder.pk}:{at.isoformat()}",
                    actor=holder,
                )
            if p.escalated_at is not None and p.escalated_from is not None and p.department is not None:
                add(
                    ActivityKind.QUERY_ESCALATED,
                    p.escalated_at,
                    "engage.query",
                    p.pk,
                    f"query_escalated:{p.pk}:{p.escalated_at.isoformat()}",
                    actor=p.escalated_by,
                    data={"from_department_id": p.escalated_from.pk, "to_department_id": p.department.pk},
                )
            a = p.answer
            if a is None:
                continue
            assert a.pk
            for reviewer, at, outcome, submitted in a.reviews:
                add(
                    ActivityKind.ANSWER_REVIEWED,
                    at,
                    "engage.answer",
                    a.pk,
                    f"answer_reviewed:{a.pk}:{submitted.isoformat()}",
                    actor=reviewer,
                    data={"outcome": outcome, "author_id": a.author.pk},
                )
            if a.status == AnswerStatus.PUBLISHED and a.published_at is not None:
                add(
                    ActivityKind.ANSWER_PUBLISHED,
                    a.published_at,
                    "engage.answer",
                    a.pk,
                    f"answer_published:{a.pk}",
                    actor=a.author,
                    department_id=a.author.department_id,
                    data={
                        "query_id": p.pk,
                        "query_department_id": p.department.pk if p.department else None,
                        "messages": sorted(a.message_ids),
                    },
                )
        return made

    # --- Insights ------------------------------------------------------------------------------------------

    def insights(self, plans: list[QueryPlan]) -> tuple[int, list[Activity]]:
        product = [p for p in self.people if p.department and p.department.slug == "product"]
        movers = [self.pia] if self.pia else product[:1]
        made: list[Activity] = []
        count = 0
        for spec in INSIGHTS:
            submitted_at = self.moment(spec.submitted_days_ago)
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
            submitter = answerers[-1] if answerers else self.remy
            if submitter is None:
                continue
            sees_all = submitter.has_role(RoleName.REVIEWER, RoleName.EXECUTIVE)
            visible = [
                p for p in candidates if sees_all or p.department is None or p.department.pk == submitter.department_id
            ]
            if len(visible) < spec.queries:
                continue
            chosen = sorted(self.rng.sample(visible, spec.queries), key=lambda p: p.received_at)
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
                participation.activity(
                    kind=ActivityKind.INSIGHT_SUBMITTED,
                    occurred_at=submitted_at,
                    object_type="engage.insight",
                    object_id=insight.pk,
                    key=f"insight_submitted:{insight.pk}",
                    actor=submitter,
                    data={"query_ids": sorted(p.pk for p in chosen if p.pk)},
                )
            )
            previous: str = InsightStatus.SUBMITTED
            for status, days_ago in spec.moves:
                at = max(self.moment(days_ago), submitted_at + timedelta(hours=1))
                mover = self.rng.choice(movers if days_ago < 60 or not product else product[:4])
                change = InsightStatusChange.objects.create(
                    insight=insight, from_status=previous, to_status=status, changed_by=mover, changed_at=at
                )
                made.append(
                    participation.activity(
                        kind=ActivityKind.INSIGHT_STATUS_CHANGED,
                        occurred_at=at,
                        object_type="engage.insight",
                        object_id=insight.pk,
                        key=f"insight_status_changed:{insight.pk}:{change.pk}",
                        actor=mover,
                        data={"from": previous, "to": status},
                    )
                )
                previous = status
                insight.status_changed_at = at
                if status == InsightStatus.SHIPPED:
                    self.tell_shipped(insight, chosen, at)
            Insight.objects.filter(pk=insight.pk).update(status_changed_at=insight.status_changed_at)
            count += 1
        return count, made

    def tell_shipped(self, insight: Insight, queries: list[QueryPlan], at: datetime) -> None:
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


FOLLOW_UPS = (
    "Thanks, that helped, but now I get a different error when I try again.",
    "It still has not arrived. Is there any news?",
    "Could you send the link again? It does not open for me.",
    "One more question: does the same apply to my second account?",
)
SECOND_ANSWERS = (
    "Thanks for coming back to us. That second error means the first step went through: "
    "sign out and in once, and it clears.",
    "Sorry for the wait. We have checked again and it is on its way; you will get the tracking link by email today.",
    "Of course: here it is again, and it works from a phone too.",
    "Yes, the same applies to every account you hold with us.",
)


def _outcome_of(answer: AnswerPlan) -> str:
    if answer.status == AnswerStatus.PUBLISHED:
        return RevisionOutcome.APPROVED if answer.reviewed_by else RevisionOutcome.PUBLISHED
    if answer.status == AnswerStatus.WITHDRAWN:
        return RevisionOutcome.WITHDRAWN
    return RevisionOutcome.REJECTED if answer.status == AnswerStatus.DRAFT else RevisionOutcome.PENDING


def _conversations(story: _Story, plans: list[QueryPlan]) -> list[Activity]:
    """Threads in the demo: follow-ups answered in a second turn, two re-opened queries
    waiting in the queue, internal notes with mentions, and every submitted answer's
    revision with its review decision. Deterministic, and it draws nothing from the
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
    return made


def _follow_up(story: _Story, plan: QueryPlan, n: int, *, reopen: bool) -> list[Activity]:
    assert plan.answer is not None
    assert plan.answered_at is not None
    received = min(plan.answered_at + timedelta(hours=3 + 2 * n), story.now - timedelta(minutes=20))
    message = CustomerMessage.objects.create(
        query_id=plan.pk, channel=plan.channel, external_id=f"{plan.external_id}-reply", text=FOLLOW_UPS[n % 4],
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
        participation.activity(
            kind=ActivityKind.ANSWER_PUBLISHED, occurred_at=published, object_type="engage.answer",
            object_id=answer.pk, key=f"answer_published:{answer.pk}", actor=author,
            department_id=author.department_id,
            data={"query_id": plan.pk, "query_department_id": query.department_id, "messages": []},
        )
    ]  # fmt: skip


def _notes(story: _Story, plans: list[QueryPlan], reopened: list[QueryPlan]) -> list[Activity]:
    """Colleagues' notes: Remy points Sam at the comment on his returned answer; on each
    re-opened query its first answerer asks a colleague of the same department to take it."""
    from accounts.notifications import notify

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


def _channels(now: datetime) -> list[Channel]:
    made = []
    for spec in CHANNELS:
        channel, _secret = services.channel_create(slug=spec.slug, name=spec.name, kind=spec.kind)
        Channel.objects.filter(pk=channel.pk).update(created_at=now - timedelta(days=HISTORY_DAYS + 5))
        made.append(channel)
    return made


RATINGS_SEED = 13
RATING_COMMENTS = {
    1: ["This did not answer my question.", "Still waiting for a real fix."],
    2: ["A bit generic.", "Took a while, and I had to ask again."],
    3: ["Helpful, but slow.", "OK. A link to the steps would have helped."],
    4: ["Thanks, that sorted it.", "Clear and quick."],
    5: ["Spot on, thank you!", "Fast and friendly. Great support.", "Exactly what I needed."],
}


def seed_engage(*, rng: random.Random) -> str | None:
    """Channels, six months of queries, answers, reviews, insights and their participation events."""
    if Channel.objects.filter(slug=CHANNELS[0].slug).exists():
        return None
    if not demo_people().filter(email=f"employee@{DEMO_DOMAIN}").exists():
        return None  # the people step has not run
    now = timezone.now()
    with transaction.atomic():
        story = _Story(rng, now)
        channels = _channels(now)
        plans = story.queries(channels)
        plans += story.named_work({c.slug: c for c in channels})
        story.breaches(plans)
        activities = story.write(plans)
        insights, insight_events = story.insights(plans)
        activities += _conversations(story, plans)
        participation.record_many([*activities, *insight_events])
        story.notices(plans)
    answered = sum(1 for p in plans if p.state == QueryState.ANSWERED)
    departments = len({p.answer.author.department_id for p in plans if p.answer and p.answer.published_at})
    late = sum(1 for p in plans if p.sla_breached_at)
    return (
        f"{len(channels)} channels, {len(plans)} queries over {HISTORY_DAYS} days ({answered} answered by "
        f"{departments} departments, {late} past their response target), {insights} insights, "
        f"{len(activities) + len(insight_events)} participation events, {story.rated} customer ratings"
    )
