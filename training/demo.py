"""The demo company's training: a seed step of ``manage.py seed_demo``.

- "Responding to the community" grants the *responder* certification (365 days). A pilot
  group took it well over a year ago, so some of their certificates expired in the last
  180 days, some were renewed (in time, or after a lapse) and a few are about to expire;
  since then more and more people of the customer-facing departments passed it, about
  half of them by now — short of the 60 % the Social phase asks for.
- "Social media policy" is required for everyone, due within 14 days; most did it on
  time, some late, and some are overdue.
- "Writing for social" (marketing and communications) has a few completions, and
  "Handling a crisis in public" is a curator's draft.

Attempts go through ``training.services.attempt_submit`` at their moment in the past, so
certifications, renewals and the activity the participation log records are exactly what
real use would have made. Expiries that fell in the past are announced by the expiry job.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.demo import DEMO_ACCOUNTS, DEMO_DOMAIN, demo_people
from accounts.models import RoleName, User
from training import selectors, services
from training.models import Course, Enrollment, Question

RESPONDER_TITLE = "Responding to the community"

RESPONDER_COURSE: dict[str, Any] = {
    "title": RESPONDER_TITLE,
    "description": (
        "How we answer customers in public: listen first, answer with approved messaging, "
        "know when to take it private. Passing earns the **responder** certification: your "
        "answers are published without waiting for review."
    ),
    "pass_mark": "0.8",
    "certification": {"name": "Responder", "grants": "responder", "valid_days": 365},
    "modules": [
        {
            "title": "Listening before answering",
            "lessons": [
                {
                    "title": "Read the whole thread",
                    "body": (
                        "Before you answer, read the **whole** thread and the customer's earlier "
                        "messages. Most public frustration comes from feeling unheard.\n\n"
                        "- Acknowledge the problem in your first sentence.\n"
                        "- Use the customer's own words for their problem.\n"
                        "- Never argue about facts in public."
                    ),
                },
                {
                    "title": "Tone",
                    "body": (
                        "Be warm, brief and specific. Thank people for reporting problems: "
                        "a complaint in public is a customer who still cares.\n\n"
                        "> Good: *Thanks for flagging this, Ana — I can see the duplicate charge "
                        "and I'm refunding it now.*"
                    ),
                },
            ],
            "questions": [
                {
                    "text": "A customer posts an angry message about a late delivery. What comes first?",
                    "choices": [
                        "Explain the delivery terms",
                        "Acknowledge the problem and apologise for the delay",
                        "Ask them to calm down",
                        "Wait for a manager",
                    ],
                    "correct": [1],
                },
                {
                    "text": "Which of these belong in a good public answer?",
                    "choices": [
                        "The customer's own words for the problem",
                        "An internal ticket number only staff understand",
                        "A concrete next step",
                        "Blame on another department",
                    ],
                    "correct": [0, 2],
                },
            ],
        },
        {
            "title": "Answering with approved messaging",
            "lessons": [
                {
                    "title": "Use what is approved",
                    "body": (
                        "Approved messages and toolkits hold wording that legal and marketing have "
                        "already checked. Link them, quote them, adapt the greeting — do not invent "
                        "prices, dates or promises.\n\n"
                        "If nothing approved fits, say what you know, and flag the gap as an insight."
                    ),
                }
            ],
            "questions": [
                {
                    "text": "A customer asks when a feature ships. Nothing approved gives a date. You…",
                    "choices": [
                        "Give your best guess",
                        "Say it is not scheduled yet, and submit an insight",
                        "Ignore the question",
                    ],
                    "correct": [1],
                },
                {
                    "text": "What may you share publicly?",
                    "choices": [
                        "Approved messages",
                        "The internal roadmap",
                        "Public documentation",
                        "A colleague's phone number",
                    ],
                    "correct": [0, 2],
                },
            ],
        },
        {
            "title": "Taking it private, and knowing your limits",
            "lessons": [
                {
                    "title": "Personal data never in public",
                    "body": (
                        "Order numbers, addresses, account details: move to a private channel "
                        "before anyone shares them, and say so publicly so others see the answer."
                    ),
                },
                {
                    "title": "Escalate",
                    "body": (
                        "Security reports, legal threats and press questions go to their department: "
                        "escalate the query."
                    ),
                },
            ],
            "questions": [
                {
                    "text": "A customer posts their full address in a reply. You…",
                    "choices": [
                        "Answer quickly so the thread ends",
                        "Ask them to remove it and continue in a private message",
                        "Copy it into your answer to confirm it",
                    ],
                    "correct": [1],
                },
                {
                    "text": "Which queries do you escalate rather than answer yourself?",
                    "choices": [
                        "A journalist asking for comment",
                        "A question about opening hours",
                        "A report of a security vulnerability",
                        "Thanks for a quick fix",
                    ],
                    "correct": [0, 2],
                },
            ],
        },
    ],
}

POLICY_COURSE: dict[str, Any] = {
    "title": "Social media policy",
    "description": "What every employee needs to know before speaking for the company online. Required for everyone.",
    "pass_mark": "0.75",
    "required": True,
    "due_days": 14,
    "modules": [
        {
            "title": "The policy in five minutes",
            "lessons": [
                {
                    "title": "Speaking for the company",
                    "body": (
                        "1. Say who you are and that you work here.\n"
                        "2. Share approved messaging freely — it is there to be shared.\n"
                        "3. Keep confidential things confidential: roadmaps, numbers, colleagues' data.\n"
                        "4. Disagree politely, or not at all.\n"
                        "5. When in doubt, ask a curator."
                    ),
                }
            ],
            "questions": [
                {
                    "text": "Sharing an approved message on your own profile is…",
                    "choices": ["Encouraged", "Forbidden", "Allowed only for marketing"],
                    "correct": [0],
                },
                {
                    "text": "Which are confidential?",
                    "choices": [
                        "Unreleased quarterly numbers",
                        "Our public pricing page",
                        "A colleague's home address",
                    ],
                    "correct": [0, 2],
                },
                {
                    "text": "Posting about work, you…",
                    "choices": ["Hide that you work here", "Say that you work here"],
                    "correct": [1],
                },
                {
                    "text": "Not sure whether something may be said? Ask…",
                    "choices": ["Nobody", "A curator", "The customer"],
                    "correct": [1],
                },
            ],
        }
    ],
}

WRITING_COURSE: dict[str, Any] = {
    "title": "Writing for social",
    "description": "Short, human, useful: writing posts people share.",
    "pass_mark": "0.67",
    "audience": ["marketing", "communications"],
    "modules": [
        {
            "title": "Short and human",
            "lessons": [
                {
                    "title": "One idea per post",
                    "body": "Lead with the benefit, keep one idea per post, and end with a link or a question.",
                }
            ],
            "questions": [
                {"text": "How many ideas per post?", "choices": ["One", "As many as fit"], "correct": [0]},
                {
                    "text": "A good ending is…",
                    "choices": ["A link", "A question", "A disclaimer"],
                    "correct": [0, 1],
                },
                {"text": "Lead with…", "choices": ["The benefit", "The company history"], "correct": [0]},
            ],
        }
    ],
}

CRISIS_DRAFT: dict[str, Any] = {
    "title": "Handling a crisis in public",
    "description": "Draft: what to do in the first hour of an outage or a public complaint going viral.",
    "pass_mark": "0.8",
    "audience": ["marketing", "communications", "support", "customer-service"],
    "modules": [
        {
            "title": "The first hour",
            "lessons": [{"title": "Acknowledge fast", "body": "Say you know, say when you will say more."}],
            "questions": [
                {
                    "text": "In the first hour you…",
                    "choices": ["Acknowledge and give a time for the next update", "Stay silent until fixed"],
                    "correct": [0],
                }
            ],
        }
    ],
}

CUSTOMER_FACING_PASS_SHARE = 0.5
OTHER_PASS_SHARE = 0.08
PILOT_SIZE = 24


def _at(days_ago: float, now: datetime, rng: random.Random) -> datetime:
    """A working-hours moment ``days_ago`` days before ``now``."""
    day = timezone.localdate(now) - timedelta(days=int(days_ago))
    moment = timezone.make_aware(datetime.combine(day, time(rng.randint(8, 17), rng.randint(0, 59))))
    return min(moment, now - timedelta(hours=1))


def _answers(questions: list[Question], rng: random.Random, *, wrong: int) -> list[list[int]]:
    answers = [list(q.correct) for q in questions]
    for index in rng.sample(range(len(questions)), k=min(wrong, len(questions))):
        choices = len(questions[index].choices)
        answers[index] = [next(i for i in range(choices) if [i] != questions[index].correct)]
    return answers


class _Taker:
    """Takes a course for people at given moments, failing now and then as people do."""

    def __init__(self, course: Course, rng: random.Random) -> None:
        self.course = course
        self.rng = rng
        self.questions = selectors.course_questions(course=course)
        self.passes = 0

    def take(self, person: User, moment: datetime, *, fail_first: bool = False) -> None:
        # Nobody takes a course before they joined.
        moment = max(moment, person.date_joined + timedelta(days=self.rng.randint(2, 10)))
        if moment >= timezone.now():
            return
        if fail_first:
            wrong = max(2, len(self.questions) // 2)
            services.attempt_submit(
                user=person,
                course_id=self.course.pk,
                answers=_answers(self.questions, self.rng, wrong=wrong),
                now=moment - timedelta(days=self.rng.randint(1, 4)),
            )
        wrong = 1 if len(self.questions) >= 5 and self.rng.random() < 0.3 else 0
        result = services.attempt_submit(
            user=person,
            course_id=self.course.pk,
            answers=_answers(self.questions, self.rng, wrong=wrong),
            now=moment,
        )
        self.passes += int(result.attempt.passed)


def seed_training(*, rng: random.Random) -> str | None:
    """Courses, completions, certifications (valid, renewed, expired) and assignments."""
    if Course.objects.filter(title=RESPONDER_TITLE).exists():
        return None
    curator = User.objects.filter(email=next(a.email for a in DEMO_ACCOUNTS if RoleName.CURATOR in a.roles)).first()
    if curator is None:
        return None  # the people step has not run
    now = timezone.now()
    people = list(demo_people().filter(is_active=True).select_related("department").order_by("pk"))

    with transaction.atomic():
        facing, renewed, expired = _seed_responder(curator, people, now, rng)
        on_time, late, overdue = _seed_policy(curator, people, now, rng)
        _seed_writing(curator, people, now, rng)
        # Expiries that fell in the past are announced now, each at its own moment.
        announced = services.certifications_expire(now=now)

    holders = selectors.privilege_holder_ids(privilege="responder", at=now).count()
    return (
        f"4 courses; {holders} valid responders of {facing} customer-facing people "
        f"({renewed} renewals, {expired} lapses, {announced} expiries announced); social media policy "
        f"{on_time} on time, {late} late, {overdue} overdue"
    )


def _seed_responder(curator: User, people: list[User], now: datetime, rng: random.Random) -> tuple[int, int, int]:
    """The responder course: a pilot long ago, then a steady climb. Returns how many people
    face customers, and the renewals and lapses among the pilot."""
    named = {account.email for account in DEMO_ACCOUNTS}
    published = now - timedelta(days=560)
    responder = services.course_create(author=curator, audience=[], **RESPONDER_COURSE)
    services.course_publish(user=curator, course_id=responder.pk, now=published)
    taker = _Taker(responder, rng)
    facing = [p for p in people if p.department and p.department.customer_facing and p.email not in named]
    others = [p for p in people if p.department and not p.department.customer_facing and p.email not in named]
    rng.shuffle(facing)
    rng.shuffle(others)

    veterans = [p for p in facing if p.date_joined < published]
    pilot = veterans[:PILOT_SIZE]
    rest = [p for p in facing if p not in pilot]
    renewed, expired = _seed_pilot(taker, pilot, now, rng)

    climbing = rest[: int(len(facing) * CUSTOMER_FACING_PASS_SHARE) - len(pilot) // 2]
    for person in climbing:
        # More and more people each month: most passes are recent.
        taker.take(person, _at(rng.triangular(1, 175, 15), now, rng), fail_first=rng.random() < 0.3)
    for person in others[: int(len(others) * OTHER_PASS_SHARE)]:
        taker.take(person, _at(rng.triangular(1, 175, 40), now, rng), fail_first=rng.random() < 0.2)
    # Some tried and have not passed yet.
    for person in rest[len(climbing) : len(climbing) + 12]:
        moment = _at(rng.randint(2, 60), now, rng)
        services.attempt_submit(
            user=person,
            course_id=responder.pk,
            answers=_answers(taker.questions, rng, wrong=3),
            now=moment,
        )
    return len(facing), renewed, expired


def _seed_pilot(taker: _Taker, pilot: list[User], now: datetime, rng: random.Random) -> tuple[int, int]:
    """The pilot's certifications, a year or more old: renewed, lapsed and renewed, or lapsed."""
    expired = renewed = 0
    for n, person in enumerate(pilot):
        if n < 4:  # certified just under a year ago: expiring within the month
            taker.take(person, _at(rng.randint(338, 360), now, rng))
            continue
        first = _at(rng.randint(380, 540), now, rng)
        taker.take(person, first, fail_first=rng.random() < 0.3)
        expiry = first + timedelta(days=365)
        fate = rng.random()
        if fate < 0.35:  # renewed in time
            taker.take(person, expiry - timedelta(days=rng.randint(2, 25)))
            renewed += 1
        elif fate < 0.6 and expiry + timedelta(days=10) < now:  # lapsed, then renewed
            lapse_end = min(expiry + timedelta(days=rng.randint(5, 40)), now - timedelta(days=1))
            taker.take(person, lapse_end)
            renewed += 1
            expired += 1
        else:
            expired += 1  # lapsed and not renewed (yet)
    return renewed, expired


def _seed_policy(curator: User, people: list[User], now: datetime, rng: random.Random) -> tuple[int, int, int]:
    """The required policy: assigned to everyone 120 days ago (and to joiners since). Returns
    how many completed it on time, late, and how many are overdue."""
    sam = next((p for p in people if p.email == f"employee@{DEMO_DOMAIN}"), None)
    policy_start = now - timedelta(days=120)
    policy = services.course_create(author=curator, audience=[], **{**POLICY_COURSE, "required": False})
    services.course_publish(user=curator, course_id=policy.pk, now=policy_start)
    Course.objects.filter(pk=policy.pk).update(required=True)
    policy.refresh_from_db()
    enrollments = []
    for person in people:
        assigned = max(policy_start, person.date_joined)
        enrollments.append(
            Enrollment(
                user=person,
                course=policy,
                created_at=assigned,
                assigned_at=assigned,
                due_on=timezone.localdate(assigned) + timedelta(days=14),
                required=True,
            )
        )
    Enrollment.objects.bulk_create(enrollments)
    policy_taker = _Taker(policy, rng)
    on_time = late = overdue = 0
    for enrollment in enrollments:
        person = enrollment.user
        assigned_at = enrollment.assigned_at
        assert assigned_at is not None
        if person == sam:
            overdue += 1  # the demo employee has it waiting, overdue
            continue
        fate = rng.random()
        if fate < 0.72:
            moment = assigned_at + timedelta(days=rng.uniform(0.2, 13))
            on_time += 1
        elif fate < 0.86:
            moment = assigned_at + timedelta(days=rng.uniform(16, 70))
            late += 1
        else:
            overdue += 1
            continue
        if moment >= now:
            continue
        policy_taker.take(person, moment, fail_first=rng.random() < 0.1)
    _mark_overdue(policy, now)
    return on_time, late, overdue


def _mark_overdue(policy: Course, now: datetime) -> None:
    """What the overdue job did at the time for those still open past their due day."""
    today = timezone.localdate(now)
    for enrollment in Enrollment.objects.filter(course=policy, completed_at__isnull=True, due_on__lt=today):
        assert enrollment.due_on is not None
        marked = timezone.make_aware(datetime.combine(enrollment.due_on + timedelta(days=1), time(9, 25)))
        Enrollment.objects.filter(pk=enrollment.pk).update(overdue_at=marked, overdue_reminded_at=marked)


def _seed_writing(curator: User, people: list[User], now: datetime, rng: random.Random) -> None:
    """A smaller course for marketing, and a curator's draft."""
    writing = services.course_create(author=curator, **WRITING_COURSE)
    services.course_publish(user=curator, course_id=writing.pk, now=now - timedelta(days=90))
    writing_taker = _Taker(writing, rng)
    writers = [p for p in people if p.department and p.department.slug in WRITING_COURSE["audience"]]
    for person in rng.sample(writers, k=min(len(writers), 18)):
        writing_taker.take(person, _at(rng.randint(1, 88), now, rng))
    services.course_create(author=curator, **CRISIS_DRAFT)
