"""The demo company's messaging: a seed step of ``manage.py seed_demo``.

Six months ago marketing broadcast press-release style news to everyone; since then the
messaging turned conversational — wording for the people who answer customers, by topic
and department — and more and more employees share it, their links driving clicks. There
are also three toolkits (a launch campaign, an answer kit for customer-facing teams, a
new joiner's kit) that people use, and the workflow's every state: drafts, one sent back
with a comment, two waiting for review (one an edit of a live message), one scheduled,
some expired and one withdrawn.

Everything goes through ``content.services`` at its moment in the past (``now=``), so the
audit trail, the statuses and the activity the participation log records are exactly what
real use would have made. Nobody is notified about reviews that happened months ago.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from accounts.demo import DEMO_ACCOUNTS, demo_people
from accounts.models import Department, RoleName, User
from content import services
from content.models import Channel, Message

HISTORY_DAYS = 180
FIRST_TITLE = "Engage launches: our company, answering together"


@dataclass(frozen=True)
class DemoMessage:
    days_ago: int  # when it was approved
    title: str
    body: str
    short: str = ""
    long: str = ""
    topics: tuple[str, ...] = ()
    audience: tuple[str, ...] = ()
    link: str = ""
    lasts_days: int | None = None  # expires this many days after approval
    extra: dict[str, Any] = field(default_factory=dict)


SITE = "https://www.example.com"

# The broadcast era first (everyone, press-release style), then conversational wording.
MESSAGES: tuple[DemoMessage, ...] = (
    DemoMessage(
        178,
        FIRST_TITLE,
        "Today we start something new: **every one of us** can now find approved wording, share our news "
        "and — soon — answer customers in public.\n\nRead the announcement and share it with your network.",
        "We're opening up: everyone at our company can now speak for us, with approved messaging at hand.",
        "Today we launch Engage: approved messaging for everyone, so the whole company can share our news "
        "and answer customers where they are.",
        ("press",),
        link=f"{SITE}/news/engage",
    ),
    DemoMessage(
        170,
        "Record quarter: 40 % more customers than a year ago",
        "We closed the quarter with **40 % more customers** than a year ago, and the highest satisfaction "
        "score in our history.\n\nThe full results are in the investor update.",
        "Our best quarter yet: 40% more customers than last year, and happier ones.",
        "Our best quarter yet: 40 % more customers than a year ago, and the highest satisfaction score in "
        "our history. Thank you to every customer and colleague who made it happen.",
        ("investors", "press"),
        link=f"{SITE}/investors/q2",
    ),
    DemoMessage(
        163,
        "Spring sale: 20 % off annual plans",
        "From today until the end of the month, **annual plans are 20 % off** with the code SPRING20.",
        "20% off annual plans this month with SPRING20. Ends soon!",
        "Spring is here: take 20 % off any annual plan with the code SPRING20 until the end of the month.",
        ("campaigns", "pricing"),
        link=f"{SITE}/pricing",
        lasts_days=30,
    ),
    DemoMessage(
        158,
        "We are hiring: 30 new roles across the company",
        "We are growing. Thirty new roles are open in support, engineering, sales and finance.\n\n"
        "Know someone great? Share the careers page.",
        "We're hiring! 30 open roles in support, engineering, sales and finance.",
        "We're growing: thirty new roles are open across support, engineering, sales and finance. "
        "Come and build it with us.",
        ("careers",),
        link=f"{SITE}/careers",
    ),
    DemoMessage(
        150,
        "New: two-factor sign-in for every account",
        "Every account can now turn on **two-factor sign-in** under *Settings → Security*. It takes two "
        "minutes and keeps your data safe.",
        "Two-factor sign-in is now available for every account. Turn it on in Settings → Security.",
        "Keep your account safe: two-factor sign-in is now available for everyone, under Settings → Security. "
        "It takes two minutes.",
        ("sign-in", "security"),
        link=f"{SITE}/help/two-factor",
    ),
    DemoMessage(
        142,
        "Our annual report is out",
        "The annual report covers our growth, our commitments on privacy and the year ahead.",
        "Our annual report is out: growth, privacy commitments and the year ahead.",
        "",
        ("investors",),
        link=f"{SITE}/investors/annual-report",
    ),
    DemoMessage(
        136,
        "Summer webinar: getting the most out of integrations",
        "Join our product team live on the 14th for a tour of the **new integrations** and a Q&A.",
        "Join our live webinar on integrations, with a Q&A with the product team.",
        "Getting the most out of our integrations: join the product team live on the 14th for a tour and Q&A.",
        ("integrations", "campaigns"),
        link=f"{SITE}/events/integrations-webinar",
        lasts_days=21,
    ),
    DemoMessage(
        128,
        "Our commitment to your privacy",
        "We never sell your data. You can export or delete it at any time from your account settings, and "
        "our privacy team answers within two working days.",
        "We never sell your data, and you can export or delete it any time.",
        "",
        ("privacy",),
        link=f"{SITE}/privacy",
    ),
    # --- The turn: wording for the people who answer customers. -------------------------------
    DemoMessage(
        118,
        "Refunds: how long they take",
        "Refunds reach the original card within **five working days** of our approval. Bank transfers can "
        "take two more days.\n\nIf it has been longer, ask for the order number and we will check it.",
        "Refunds reach your card within 5 working days of approval. Longer? Send us your order number.",
        "Refunds reach the original card within five working days of our approval (bank transfers can take "
        "two more). If it has been longer, send us your order number and we'll look into it straight away.",
        ("billing",),
        ("customer-service", "support"),
    ),
    DemoMessage(
        112,
        "Charged twice? What to say",
        "A double charge is almost always a **pending authorisation** that disappears within three days. "
        "Apologise, explain that, and offer to check the order if it is still there after three days.",
        "Seeing two charges? One is usually a pending hold that drops off within 3 days. We're happy to check.",
        "",
        ("billing",),
        ("customer-service",),
    ),
    DemoMessage(
        106,
        "Where is my order?",
        "Every order has a tracking link in its confirmation email. Deliveries take 2 to 4 working days; ask "
        "for the order number if the tracking has not moved for two days.",
        "Your tracking link is in your confirmation email. Not moved in 2 days? Send us your order number.",
        "",
        ("orders",),
        ("customer-service",),
    ),
    DemoMessage(
        99,
        "Locked out? Resetting a password",
        "Use *Forgot password* on the sign-in page; the link works for an hour. If two-factor is on and the "
        "phone is lost, our support team restores access after a short identity check.",
        "Locked out? Use 'Forgot password' on the sign-in page — the link works for an hour.",
        "",
        ("sign-in",),
        ("support",),
    ),
    DemoMessage(
        92,
        "When something is down: our outage wording",
        "Acknowledge it, point to the **status page**, and promise an update within 30 minutes. Never guess "
        "at causes in public.",
        "We know some of you can't reach us right now. Updates every 30 minutes on our status page.",
        "We're aware that some customers can't reach the service right now and we're working on it. Follow "
        "the status page for updates every 30 minutes.",
        ("outages",),
        ("support", "communications"),
        link="https://status.example.com",
    ),
    DemoMessage(
        84,
        "Webhooks: retries and signatures",
        "Webhooks are signed (HMAC-SHA256) and retried with backoff for about an hour. Point developers to "
        "the docs page on verifying signatures.",
        "Our webhooks are signed and retried for about an hour. Docs on verifying signatures:",
        "",
        ("integrations",),
        ("support", "engineering"),
        link=f"{SITE}/docs/webhooks",
    ),
    DemoMessage(
        77,
        "Answering a feature request",
        "Thank them, tell them it is logged with the product team, and never promise dates. Turn repeated "
        "requests into an insight so product sees them.",
        "Thanks for the idea! We've shared it with our product team.",
        "",
        ("feature-requests",),
        ("customer-service", "support", "product"),
    ),
    DemoMessage(
        70,
        "Enterprise plan: what to say about pricing",
        "Enterprise pricing depends on seats and support level. Offer a call with sales rather than a number "
        "in public.",
        "Our enterprise plans are tailored to your team. Let's find a time to talk:",
        "",
        ("pricing",),
        ("sales",),
        link=f"{SITE}/enterprise",
    ),
    DemoMessage(
        63,
        "Autumn campaign: bring a friend",
        "Refer a friend and you both get **a month free**. The offer runs for six weeks.",
        "Bring a friend: you both get a month free. Six weeks only!",
        "Good things are better shared: refer a friend and you both get a month free. The offer runs for six weeks.",
        ("campaigns",),
        link=f"{SITE}/refer",
        lasts_days=42,
    ),
    DemoMessage(
        56,
        "Reporting a security issue",
        "Thank the reporter, ask them **not** to share details in public, and point them to our security "
        "disclosure page. The security team replies within one working day.",
        "Thanks for reporting this! Please send details privately via our disclosure page:",
        "",
        ("security",),
        link=f"{SITE}/security",
    ),
    DemoMessage(
        49,
        "Deleting your data",
        "Anyone can delete their account and data from *Settings → Privacy*. It takes effect within 30 days "
        "and we confirm by email.",
        "You can delete your account and data any time in Settings → Privacy.",
        "",
        ("privacy",),
        ("customer-service", "legal"),
    ),
    DemoMessage(
        41,
        "Our customer community forum is open",
        "Customers can now help each other — and hear from us — in the new community forum. Colleagues from "
        "every department answer there too.",
        "Our community forum is open: ask, answer, and meet the people who build the product.",
        "Our new community forum is open. Ask questions, share tips, and meet the people behind the product "
        "— colleagues from every department answer there.",
        ("press", "feature-requests"),
        link="https://community.example.com",
    ),
    DemoMessage(
        33,
        "Invoices: where to find them",
        "Invoices are under *Billing → Invoices* and can be downloaded as PDF. Company details can be changed "
        "there before the next invoice.",
        "Your invoices are under Billing → Invoices, ready to download as PDF.",
        "",
        ("billing",),
        ("customer-service", "finance"),
    ),
    DemoMessage(
        26,
        "Returns: free within 30 days",
        "Returns are free within 30 days. Print the label from the order page and drop the parcel off; the "
        "refund follows once it arrives.",
        "Returns are free within 30 days — print the label from your order page.",
        "",
        ("orders", "billing"),
        ("customer-service",),
    ),
    DemoMessage(
        18,
        "API rate limits explained",
        "The API allows 600 requests a minute per key; a 429 answer carries `Retry-After`. Higher limits come "
        "with the enterprise plan.",
        "Our API allows 600 requests/minute per key; 429 responses tell you when to retry.",
        "",
        ("integrations",),
        ("support", "engineering", "sales"),
        link=f"{SITE}/docs/rate-limits",
    ),
    DemoMessage(
        11,
        "We won the customer service award",
        "Our support teams — and everyone who answers customers in the community — won this year's customer "
        "service award. Thank you!",
        "We won this year's customer service award. Thank you to everyone who answers our customers!",
        "Proud moment: our support teams, and every colleague who answers customers in our community, won "
        "this year's customer service award.",
        ("press",),
        link=f"{SITE}/news/award",
    ),
    DemoMessage(
        4,
        "Holiday opening hours",
        "Support answers every day over the holidays, 9:00 to 17:00. The community forum stays open around the clock.",
        "Over the holidays we answer every day, 9:00 to 17:00.",
        "",
        ("orders",),
        lasts_days=30,
    ),
)

CHANNEL_WEIGHTS = (
    (Channel.LINKEDIN, 45),
    (Channel.X, 20),
    (Channel.FACEBOOK, 12),
    (Channel.EMAIL, 12),
    (Channel.INSTAGRAM, 6),
    (Channel.OTHER, 5),
)
BROWSERS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Mobile Safari/537",
    "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0",
)
BOTS = ("LinkedInBot/1.0", "Twitterbot/1.0", "facebookexternalhit/1.1", "Slackbot-LinkExpanding 1.0")


def _moment(now: datetime, days_ago: float, rng: random.Random) -> datetime:
    """A time during working hours ``days_ago`` days before ``now`` (never in the future)."""
    day = timezone.localtime(now - timedelta(days=days_ago))
    at = day.replace(hour=rng.randint(8, 17), minute=rng.randint(0, 59), second=rng.randint(0, 59), microsecond=0)
    return min(at, now - timedelta(minutes=5))


def _pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([value for value, _weight in weighted], weights=[w for _v, w in weighted])[0]


def _fields(spec: DemoMessage, departments: set[str]) -> dict[str, Any]:
    return {
        "title": spec.title,
        "body": spec.body,
        "short_text": spec.short,
        "long_text": spec.long,
        "topics": list(spec.topics),
        "audience": [slug for slug in spec.audience if slug in departments],
        "link_url": spec.link,
    }


class _Story:
    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng = rng
        self.now = now
        named = {account.email: account for account in DEMO_ACCOUNTS}
        people = list(
            demo_people().filter(is_active=True).select_related("department").prefetch_related("roles").order_by("pk")
        )
        self.people = people
        self.curators = [p for p in people if p.has_role(RoleName.CURATOR) and not p.has_role(RoleName.ADMIN)]
        self.reviewers = [p for p in people if p.has_role(RoleName.REVIEWER) and not p.has_role(RoleName.ADMIN)]
        lead = next((p for p in people if p.email in named and RoleName.CURATOR in named[p.email].roles), None)
        self.lead_curator = lead or self.curators[0]
        self.departments = set(Department.objects.values_list("slug", flat=True))
        # Legal has one message taken down three days ago; nobody shares it after that.
        self.withdrawn_title = "Our annual report is out"
        self.withdrawn_at = now - timedelta(days=3)

    def reviewer_for(self, author: User) -> User:
        return self.rng.choice([r for r in self.reviewers if r.pk != author.pk])

    def author(self) -> User:
        return self.lead_curator if self.rng.random() < 0.5 else self.rng.choice(self.curators)

    def approved(self, spec: DemoMessage) -> Message:
        approved_at = _moment(self.now, spec.days_ago, self.rng)
        written = approved_at - timedelta(hours=self.rng.randint(4, 60))
        author = self.author()
        fields = _fields(spec, self.departments)
        if spec.lasts_days is not None:
            fields["expires_at"] = approved_at + timedelta(days=spec.lasts_days)
        sent_back = self.rng.random() < 0.3
        first_draft = dict(fields)
        if sent_back:
            first_draft["body"] = spec.body + "\n\nMore details to follow — we promise it will be quick!"
        message = services.message_create(author=author, fields=first_draft, now=written)  # type: ignore[arg-type]
        services.message_submit(user=author, message_id=message.pk, now=written + timedelta(minutes=20))
        reviewer = self.reviewer_for(author)
        if sent_back:  # sent back once, then fixed
            services.message_reject(
                user=reviewer,
                message_id=message.pk,
                comment=self.rng.choice(
                    (
                        "Shorter, please: the short post should work on its own.",
                        "Please add the link customers need.",
                        "Legal asks us not to promise exact dates here.",
                        "Good — but use the customer's words, not ours.",
                    )
                ),
                now=written + timedelta(hours=2),
            )
            services.message_update(
                user=author,
                message_id=message.pk,
                fields={"body": spec.body},  # the fix: the body as finally approved
                now=written + timedelta(hours=3),
            )
            services.message_submit(user=author, message_id=message.pk, now=written + timedelta(hours=3, minutes=5))
        return services.message_approve(user=reviewer, message_id=message.pk, now=approved_at)


def seed_content(*, rng: random.Random) -> str | None:
    """Approved messaging over 180 days, the workflow's other states, shares, clicks and toolkits."""
    if Message.objects.filter(title=FIRST_TITLE).exists():
        return None
    now = timezone.now()
    story = _Story(rng, now)
    if not story.curators or len(story.reviewers) < 2:
        return None  # the people step has not run
    with transaction.atomic(), services.notifications_paused():
        live = [story.approved(spec) for spec in MESSAGES]
        _other_states(story, live)
        shares, clicks = _shares_and_clicks(story, live)
        toolkits, uses = _toolkits(story, live)
        _withdraw(story, live)
        services.schedule_apply(now=now)  # what expired in the past is marked so, at its time
    return (
        f"{Message.objects.count()} messages ({len(live)} approved over {HISTORY_DAYS} days), {shares} shares, "
        f"{clicks} clicks, {toolkits} toolkits used {uses} times"
    )


def _other_states(story: _Story, live: list[Message]) -> None:
    now = story.now
    curator = story.lead_curator
    # A draft someone is still writing, and one sent back with a comment.
    services.message_create(
        author=curator,
        fields={
            "title": "Winter product update (draft)",
            "body": "What's new this winter: *to be written with product*.",
            "topics": ["press"],
        },
        now=now - timedelta(days=2),
    )
    sent_back = services.message_create(
        author=curator,
        fields={
            "title": "Price change for monthly plans",
            "body": "Monthly plans go up by 2 euros from next quarter.",
            "short_text": "Monthly plans change price next quarter.",
            "topics": ["pricing"],
            "audience": ["customer-service", "sales"],
        },
        now=now - timedelta(days=6),
    )
    services.message_submit(user=curator, message_id=sent_back.pk, now=now - timedelta(days=6))
    services.message_reject(
        user=story.reviewer_for(curator),
        message_id=sent_back.pk,
        comment="Finance has not confirmed the amount yet — please wait for their sign-off and say why it changes.",
        now=now - timedelta(days=5),
    )
    # Waiting for review: a new message, and an edit of a live one (which stays live meanwhile).
    waiting = services.message_create(
        author=curator,
        fields={
            "title": "Status page: subscribe to updates",
            "body": "Anyone can subscribe to outage updates by email or RSS on the status page.",
            "short_text": "Get outage updates by email: subscribe on our status page.",
            "topics": ["outages"],
            "link_url": "https://status.example.com",
        },
        now=now - timedelta(hours=20),
    )
    services.message_submit(user=curator, message_id=waiting.pk, now=now - timedelta(hours=19))
    refunds = next(m for m in live if m.title == "Refunds: how long they take")
    services.message_update(
        user=refunds.author,
        message_id=refunds.pk,
        fields={"body": refunds.body.replace("five working days", "three working days")},
        now=now - timedelta(hours=5),
    )
    # Scheduled for next week.
    scheduled = services.message_create(
        author=curator,
        fields={
            "title": "New year, new plans: our pricing for next year",
            "body": "From January, every plan includes the community forum and two-factor sign-in.",
            "short_text": "From January every plan includes the community forum and two-factor sign-in.",
            "topics": ["pricing", "press"],
            "publish_at": now + timedelta(days=7),
            "expires_at": now + timedelta(days=60),
        },
        now=now - timedelta(days=1),
    )
    services.message_submit(user=curator, message_id=scheduled.pk, now=now - timedelta(days=1))
    services.message_approve(user=story.reviewer_for(curator), message_id=scheduled.pk, now=now - timedelta(hours=22))


def _withdraw(story: _Story, live: list[Message]) -> None:
    """Legal asked to take one down (after the history of its shares is written)."""
    withdrawn = next(m for m in live if m.title == story.withdrawn_title)
    services.message_withdraw(
        user=story.reviewer_for(withdrawn.author),
        message_id=withdrawn.pk,
        comment="Legal: superseded by the corrected report.",
        now=story.withdrawn_at,
    )


def _live_at(story: _Story, message: Message, at: datetime) -> bool:
    if message.title == story.withdrawn_title and at >= story.withdrawn_at:
        return False
    went_live = message.first_published_at or message.approved_at
    if went_live is None or went_live > at:
        return False
    return message.expires_at is None or message.expires_at > at


def _meant_for(message: Message, person: User, audiences: dict[int, set[int]]) -> bool:
    audience = audiences.get(message.pk)
    return not audience or person.department_id in audience


def _shares_and_clicks(story: _Story, live: list[Message]) -> tuple[int, int]:
    """Sharing grows from marketing's few to a third of the company; links drive clicks."""
    now, rng = story.now, story.rng
    audiences: dict[int, set[int]] = {}
    for message in live:
        audiences[message.pk] = set(message.audience.values_list("id", flat=True))
    early = [p for p in story.people if p.department and p.department.kind == "marketing"]
    everyone = [p for p in story.people if p.department is not None]
    rng.shuffle(everyone)
    sharers_by_end = everyone[: len(everyone) // 3]
    shares = clicks = 0
    for days_ago in range(HISTORY_DAYS, 0, -1):
        progress = (HISTORY_DAYS - days_ago) / HISTORY_DAYS  # 0 at the start, 1 today
        pool = early + sharers_by_end[: int(len(sharers_by_end) * progress)]
        for _ in range(int(rng.expovariate(1 / (1 + 4 * progress)))):
            at = _moment(now, days_ago, rng)
            person = rng.choice(pool)
            if person.date_joined > at:
                continue
            candidates = [m for m in live if _live_at(story, m, at) and _meant_for(m, person, audiences)]
            if not candidates:
                continue
            message = rng.choice(candidates)
            share = services.share_create(
                user=person, message_id=message.pk, channel=_pick(rng, CHANNEL_WEIGHTS), now=at
            )
            shares += 1
            for _visit in range(int(rng.expovariate(1 / 2.5))):
                when = min(at + timedelta(hours=rng.expovariate(1 / 20)), now - timedelta(minutes=1))
                agent = rng.choice(BOTS) if rng.random() < 0.15 else rng.choice(BROWSERS)
                followed = services.share_follow(
                    code=share.code,
                    address=f"198.51.100.{rng.randint(1, 254)}",
                    user_agent=agent,
                    now=when,
                )
                clicks += bool(followed and followed.counted)
    return shares, clicks


def _toolkits(story: _Story, live: list[Message]) -> tuple[int, int]:
    from training.models import Course, CourseStatus

    now, rng = story.now, story.rng
    curator = story.lead_curator
    by_title = {m.title: m for m in live}
    courses = {c.title: c for c in Course.objects.filter(status=CourseStatus.PUBLISHED)}
    kits: list[tuple[dict[str, Any], list[dict[str, Any]], int]] = [
        (
            {
                "title": "Answer kit: billing and orders",
                "description": "The wording customer service uses most, and the course that lets you answer "
                "without review.",
                "audience": ["customer-service", "support"],
            },
            [
                {"kind": "message", "message": "Refunds: how long they take"},
                {"kind": "message", "message": "Charged twice? What to say"},
                {"kind": "message", "message": "Where is my order?"},
                {"kind": "course", "course": "Responding to the community"},
                {
                    "kind": "file",
                    "name": "tone-of-voice.md",
                    "text": "# Tone of voice\n\n- Warm, brief, specific.\n- Thank people for reporting problems.\n",
                },
            ],
            100,
        ),
        (
            {
                "title": "Autumn campaign: bring a friend",
                "description": "Everything for the referral campaign: the posts, the landing page, the visuals.",
                "campaign": "autumn-referral",
            },
            [
                {"kind": "message", "message": "Autumn campaign: bring a friend"},
                {"kind": "link", "url": f"{SITE}/refer", "title": "Landing page"},
                {
                    "kind": "file",
                    "name": "referral-posts.txt",
                    "text": "Three ready-made posts for the referral campaign.\n",
                },
            ],
            60,
        ),
        (
            {
                "title": "New joiner's social media kit",
                "description": "Start here: our policy, how to share, and what to say about us.",
            },
            [
                {"kind": "course", "course": "Social media policy"},
                {"kind": "message", "message": FIRST_TITLE},
                {"kind": "message", "message": "We are hiring: 30 new roles across the company"},
                {"kind": "link", "url": f"{SITE}/brand", "title": "Brand guidelines"},
            ],
            150,
        ),
    ]
    uses = 0
    made = 0
    for fields, items, days_ago in kits:
        made_at = now - timedelta(days=days_ago)
        fields = {**fields, "audience": [s for s in fields.get("audience", []) if s in story.departments]}
        toolkit = services.toolkit_create(author=curator, fields=fields, now=made_at)  # type: ignore[arg-type]
        for item in items:
            kind = item["kind"]
            if kind == "message" and item["message"] in by_title:
                services.toolkit_item_add(
                    user=curator, toolkit_id=toolkit.pk, kind=kind, message_id=by_title[item["message"]].pk, now=made_at
                )
            elif kind == "course":
                course = next((c for title, c in courses.items() if title.startswith(item["course"])), None)
                if course is not None:
                    services.toolkit_item_add(
                        user=curator, toolkit_id=toolkit.pk, kind=kind, course_id=course.pk, now=made_at
                    )
            elif kind == "link":
                services.toolkit_item_add(
                    user=curator, toolkit_id=toolkit.pk, kind=kind, url=item["url"], title=item["title"], now=made_at
                )
            elif kind == "file":
                upload = SimpleUploadedFile(item["name"], item["text"].encode())
                services.toolkit_item_add(user=curator, toolkit_id=toolkit.pk, kind=kind, upload=upload, now=made_at)
        services.toolkit_submit(user=curator, toolkit_id=toolkit.pk, now=made_at + timedelta(hours=1))
        services.toolkit_approve(
            user=story.reviewer_for(curator), toolkit_id=toolkit.pk, now=made_at + timedelta(hours=6)
        )
        made += 1
        audience = set(toolkit.audience.values_list("id", flat=True))
        readers = [p for p in story.people if not audience or p.department_id in audience]
        item_ids = list(toolkit.items.values_list("id", flat=True))
        for _ in range(min(len(readers), rng.randint(40, 90))):
            person = rng.choice(readers)
            at = _moment(now, rng.uniform(0.5, days_ago - 1), rng)
            if person.date_joined > at:
                continue
            try:
                services.toolkit_item_use(user=person, toolkit_id=toolkit.pk, item_id=rng.choice(item_ids), now=at)
            except Http404:  # that item (a message) was not live for them then
                continue
            uses += 1
    return made, uses
