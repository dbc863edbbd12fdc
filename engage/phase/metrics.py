"""The metrics of PHASE-MODEL.md, for a window of W days ending at the end of ``as_of``.

Two layers:

- *sources*: the querysets that select the rows behind each figure (queries counted,
  answers published, people active, certified responders, adopted insights), each bounded
  by the window. The dashboard's drill-down uses the same functions, so a figure and the
  rows it opens onto never disagree.
- :func:`day_facts` runs each source once, grouped by department (a handful of queries
  for the whole organisation), and :func:`measure` turns those facts into a
  :class:`Measure` (value, numerator, denominator) for the organisation or a department.

Event counts and active people come from the rollups (``DailyRollup``, ``PersonDay``),
never from the raw log.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from fractions import Fraction
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.db.models.lookups import LessThan, LessThanOrEqual
from django.utils import timezone

from accounts.models import Department, DepartmentKind, User
from config.activity import ActivityKind
from engage.models import (
    NO_DEPARTMENT_KEY,
    Answer,
    AnswerRating,
    AnswerStatus,
    CloseReason,
    DailyRollup,
    Insight,
    InsightStatus,
    InsightStatusChange,
    PersonDay,
    Query,
)
from engage.phase.definitions import (
    ACTIVE_SHARE_FOR_COVERED_DEPARTMENT,
    ANSWERS_FOR_ANSWERING_DEPARTMENT,
    INSIGHT_ADOPTION_DAYS,
    SATISFIED_SCORES,
)
from training.models import Certification, Privilege
from training.selectors import privilege_holder_ids

LEFT_OUT_REASONS = (CloseReason.SPAM, CloseReason.DUPLICATE)
ADOPTED_STATUSES = (InsightStatus.PLANNED, InsightStatus.SHIPPED)


@dataclass(frozen=True)
class Window:
    """The days ``as_of - days + 1 … as_of`` in settings.TIME_ZONE, as instants ``[start, end)``."""

    as_of: date
    days: int

    @property
    def first_day(self) -> date:
        return self.as_of - timedelta(days=self.days - 1)

    @property
    def start(self) -> datetime:
        return day_start(self.first_day)

    @property
    def end(self) -> datetime:
        return day_start(self.as_of + timedelta(days=1))

    @property
    def at(self) -> datetime:
        """The last instant of ``as_of``: what "at ``as_of``" means for states (membership, validity)."""
        return self.end - timedelta(microseconds=1)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_default_timezone())


# --- Sources: the rows behind the figures -------------------------------------------------------


def queries_counted(window: Window) -> QuerySet[Query]:
    """Queries received in the window, less those closed as spam or duplicate by its end."""
    left_out = Q(close_reason__in=LEFT_OUT_REASONS) & (Q(closed_at__isnull=True) | Q(closed_at__lt=window.end))
    return Query.objects.filter(received_at__gte=window.start, received_at__lt=window.end).exclude(left_out)


def query_answered(window: Window) -> Q:
    """Of :func:`queries_counted`: answered by the end of ``as_of``."""
    return Q(answered_at__lt=window.end)


def first_response_target() -> Coalesce:
    """A query's first response target: ``sla_due_at`` moves to a follow-up's target when a
    follow-up re-opens the query, and the first is kept in ``first_sla_due_at`` then."""
    return Coalesce(F("first_sla_due_at"), F("sla_due_at"))


def query_sla_due(window: Window) -> Q:
    """Of :func:`queries_counted`: answered, or past their (first) response target, by the end of ``as_of``."""
    return Q(answered_at__lt=window.end) | Q(LessThan(first_response_target(), window.end))


def query_sla_met(window: Window) -> Q:
    """Of :func:`queries_counted`: answered (first published answer) within their first response
    target, by the end of ``as_of``."""
    return Q(answered_at__lt=window.end) & Q(LessThanOrEqual(F("answered_at"), first_response_target()))


def answers_published(window: Window) -> QuerySet[Answer]:
    """Answers published in the window; ``author_department`` is the author's department then.

    A query counts once, by its first published answer (turn 1): answers to follow-ups are
    reported beside the metrics (:func:`follow_up_answers`), never counted in them.
    """
    return Answer.objects.filter(
        status=AnswerStatus.PUBLISHED, turn=1, published_at__gte=window.start, published_at__lt=window.end
    )


def follow_up_answers(window: Window) -> QuerySet[Answer]:
    """Answers to customers' follow-ups (turn 2 on) published in the window."""
    return Answer.objects.filter(
        status=AnswerStatus.PUBLISHED, turn__gt=1, published_at__gte=window.start, published_at__lt=window.end
    )


def ratings_counted(window: Window) -> QuerySet[AnswerRating]:
    """Customers' ratings of the answers published in the window, given by its end (each
    with its current score: a rating changed later counts as changed)."""
    return AnswerRating.objects.filter(
        answer__status=AnswerStatus.PUBLISHED,
        answer__published_at__gte=window.start,
        answer__published_at__lt=window.end,
        created_at__lt=window.end,
    )


def rating_satisfied() -> Q:
    """Of :func:`ratings_counted`: rated 4 or 5."""
    return Q(score__in=SATISFIED_SCORES)


def people_active_at(window: Window) -> QuerySet[User]:
    """People who had joined and were not deactivated at the end of ``as_of``."""
    at = window.at
    return User.objects.filter(date_joined__lte=at).filter(
        Q(deactivated_at__gt=at) | Q(deactivated_at__isnull=True, is_active=True)
    )


def participants(window: Window) -> QuerySet[User]:
    """Of :func:`people_active_at`: those with at least one participation in the window (rollups)."""
    days = PersonDay.objects.filter(day__gte=window.first_day, day__lte=window.as_of).values("person_id")
    return people_active_at(window).filter(pk__in=days)


def responder_certifications(window: Window) -> QuerySet[Certification]:
    """Responder certifications valid at the end of ``as_of``."""
    at = window.at
    return Certification.objects.filter(grants=Privilege.RESPONDER, issued_at__lte=at, expires_at__gt=at)


def certified_responders(window: Window) -> QuerySet[User]:
    """Of :func:`people_active_at`: holders of a responder certification valid at the end of ``as_of``."""
    holders = privilege_holder_ids(privilege=Privilege.RESPONDER, at=window.at)
    return people_active_at(window).filter(pk__in=holders)


def insight_adoptions(window: Window) -> QuerySet[InsightStatusChange]:
    """The status changes that made insights adopted: each insight's latest change by the end of
    ``as_of``, to planned or shipped, made within the 90 days before it, for insights drawn
    from community queries."""
    since = window.end - timedelta(days=INSIGHT_ADOPTION_DAYS)
    latest = (
        InsightStatusChange.objects.filter(insight_id=OuterRef("insight_id"), changed_at__lt=window.end)
        .order_by("-changed_at", "-id")
        .values("id")[:1]
    )
    return (
        InsightStatusChange.objects.filter(
            changed_at__gte=since, changed_at__lt=window.end, to_status__in=ADOPTED_STATUSES
        )
        .filter(id=Subquery(latest))
        .filter(Exists(Insight.queries.through.objects.filter(insight_id=OuterRef("insight_id"))))
    )


def messages_published(window: Window) -> QuerySet[DailyRollup]:
    """Rollup rows of messages published (the broadcast voice) in the window."""
    return DailyRollup.objects.filter(
        kind=ActivityKind.MESSAGE_PUBLISHED, day__gte=window.first_day, day__lte=window.as_of
    )


# --- Facts of one day, grouped by department ------------------------------------------------------


@dataclass(frozen=True)
class DepartmentInfo:
    id: int
    slug: str
    name: str
    kind: str
    customer_facing: bool

    @property
    def answering_candidate(self) -> bool:
        """Customer-facing and not marketing: counts for ``answering_departments``."""
        return self.customer_facing and self.kind != DepartmentKind.MARKETING

    def as_dict(self) -> dict[str, Any]:
        return {"slug": self.slug, "name": self.name, "kind": self.kind, "customer_facing": self.customer_facing}


@dataclass
class QueryCounts:
    received: int = 0
    answered: int = 0
    sla_due: int = 0
    sla_met: int = 0


@dataclass
class DayFacts:
    """Everything the metrics of one day need, keyed by department id (None: no department)."""

    window: Window
    departments: list[DepartmentInfo]
    queries: dict[int | None, QueryCounts] = field(default_factory=dict)
    answers: dict[int | None, int] = field(default_factory=dict)
    messages: dict[int | None, int] = field(default_factory=dict)
    people: dict[int | None, int] = field(default_factory=dict)
    active: dict[int | None, int] = field(default_factory=dict)
    certified: dict[int | None, int] = field(default_factory=dict)
    insights: dict[int | None, int] = field(default_factory=dict)
    rated: dict[int | None, int] = field(default_factory=dict)  # by the answer's author's department
    satisfied: dict[int | None, int] = field(default_factory=dict)

    @property
    def answering_candidates(self) -> list[DepartmentInfo]:
        return [d for d in self.departments if d.answering_candidate]

    @property
    def customer_facing_ids(self) -> set[int]:
        return {d.id for d in self.departments if d.customer_facing}

    @property
    def marketing_ids(self) -> set[int]:
        return {d.id for d in self.departments if d.kind == DepartmentKind.MARKETING}


def _grouped(rows: Any, key: str, value: str) -> dict[int | None, int]:
    return {row[key]: int(row[value] or 0) for row in rows}


def day_facts(*, as_of: date, window_days: int) -> DayFacts:
    """Run every source once for the day, grouped by department."""
    window = Window(as_of=as_of, days=window_days)
    departments = [
        DepartmentInfo(id=d.pk, slug=d.slug, name=d.name, kind=d.kind, customer_facing=d.customer_facing)
        for d in Department.objects.order_by("name", "id").only("id", "slug", "name", "kind", "customer_facing")
    ]
    facts = DayFacts(window=window, departments=departments)

    query_rows = (
        queries_counted(window)
        .order_by()
        .values("department_id")
        .annotate(
            received=Count("id"),
            answered=Count("id", filter=query_answered(window)),
            sla_due=Count("id", filter=query_sla_due(window)),
            sla_met=Count("id", filter=query_sla_met(window)),
        )
    )
    for row in query_rows:
        facts.queries[row["department_id"]] = QueryCounts(
            received=row["received"], answered=row["answered"], sla_due=row["sla_due"], sla_met=row["sla_met"]
        )

    facts.answers = _grouped(
        answers_published(window).order_by().values("author_department_id").annotate(n=Count("id")),
        "author_department_id",
        "n",
    )
    message_rows = messages_published(window).order_by().values("department_key").annotate(n=Sum("count"))
    facts.messages = {
        (row["department_key"] if row["department_key"] != NO_DEPARTMENT_KEY else None): int(row["n"] or 0)
        for row in message_rows
    }
    facts.people = _grouped(
        people_active_at(window).order_by().values("department_id").annotate(n=Count("id")), "department_id", "n"
    )
    facts.active = _grouped(
        participants(window).order_by().values("department_id").annotate(n=Count("id")), "department_id", "n"
    )
    facts.certified = _grouped(
        certified_responders(window).order_by().values("department_id").annotate(n=Count("id")),
        "department_id",
        "n",
    )
    adoption_rows = (
        insight_adoptions(window)
        .order_by()
        .annotate(dept=Coalesce("insight__submitted_by__department_id", 0))
        .values("dept")
        .annotate(n=Count("insight_id", distinct=True))
    )
    facts.insights = {(row["dept"] or None): int(row["n"]) for row in adoption_rows}
    rating_rows = (
        ratings_counted(window)
        .order_by()
        .values("answer__author_department_id")
        .annotate(rated=Count("id"), satisfied=Count("id", filter=rating_satisfied()))
    )
    for rated in rating_rows:
        facts.rated[rated["answer__author_department_id"]] = int(rated["rated"])
        facts.satisfied[rated["answer__author_department_id"]] = int(rated["satisfied"])
    return facts


# --- Measures ---------------------------------------------------------------------------------


@dataclass
class Measure:
    """A metric's figure: ``value`` is None (undefined) when the denominator is zero."""

    key: str
    numerator: float | int
    denominator: float | int | None  # None: a count, not a ratio
    value: float | int | None
    exact: Fraction | None = None  # the exact ratio or count, for comparing with thresholds
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def defined(self) -> bool:
        return self.value is not None


def ratio(key: str, numerator: int, denominator: int, **detail: Any) -> Measure:
    if denominator == 0:
        return Measure(key=key, numerator=numerator, denominator=denominator, value=None, detail=detail)
    exact = Fraction(numerator, denominator)
    return Measure(
        key=key, numerator=numerator, denominator=denominator, value=round(float(exact), 4), exact=exact, detail=detail
    )


def count(key: str, value: int, *, denominator: int | None = None, **detail: Any) -> Measure:
    """A count; undefined only if it has a denominator (what it counts among) that is zero."""
    if denominator == 0:
        return Measure(key=key, numerator=value, denominator=denominator, value=None, detail=detail)
    return Measure(key=key, numerator=value, denominator=denominator, value=value, exact=Fraction(value), detail=detail)


def evenness(key: str, per_department: dict[str, int]) -> Measure:
    """Normalised Shannon entropy of answers across the departments that published any."""
    counts = [n for n in per_department.values() if n > 0]
    if len(counts) < 2:
        return Measure(key=key, numerator=0.0, denominator=0.0, value=None, detail={"answers": per_department})
    total = sum(counts)
    entropy = -sum((n / total) * math.log(n / total) for n in counts)
    maximum = math.log(len(counts))
    value = entropy / maximum
    return Measure(
        key=key,
        numerator=round(entropy, 4),
        denominator=round(maximum, 4),
        value=round(value, 4),
        exact=Fraction(value),
        detail={"answers": per_department},
    )


def organisation_measures(facts: DayFacts) -> dict[str, Measure]:
    queries = QueryCounts()
    for counts in facts.queries.values():
        queries.received += counts.received
        queries.answered += counts.answered
        queries.sla_due += counts.sla_due
        queries.sla_met += counts.sla_met
    answers_total = sum(facts.answers.values())
    messages_total = sum(facts.messages.values())
    candidates = facts.answering_candidates
    answering = [d for d in candidates if facts.answers.get(d.id, 0) >= ANSWERS_FOR_ANSWERING_DEPARTMENT]
    candidate_detail = [
        {"slug": d.slug, "name": d.name, "answers": facts.answers.get(d.id, 0)}
        for d in sorted(candidates, key=lambda d: (-facts.answers.get(d.id, 0), d.name))
    ]
    marketing = facts.marketing_ids
    non_marketing = sum(n for dept, n in facts.answers.items() if dept not in marketing)
    staffed = [d for d in facts.departments if facts.people.get(d.id, 0) > 0]
    covered = [
        d
        for d in staffed
        if Fraction(facts.active.get(d.id, 0), facts.people[d.id]) >= Fraction(str(ACTIVE_SHARE_FOR_COVERED_DEPARTMENT))
    ]
    coverage_detail = [
        {"slug": d.slug, "name": d.name, "active": facts.active.get(d.id, 0), "people": facts.people[d.id]}
        for d in staffed
    ]
    customer_facing = facts.customer_facing_ids
    by_slug = {d.id: d.slug for d in facts.departments}
    return {
        "response_rate": ratio("response_rate", queries.answered, queries.received),
        "two_way_ratio": ratio(
            "two_way_ratio",
            answers_total,
            answers_total + messages_total,
            answers=answers_total,
            messages=messages_total,
        ),
        "sla_attainment": ratio("sla_attainment", queries.sla_met, queries.sla_due),
        "answering_departments": count(
            "answering_departments", len(answering), denominator=len(candidates), departments=candidate_detail
        ),
        "customer_facing_coverage": ratio(
            "customer_facing_coverage", len(answering), len(candidates), departments=candidate_detail
        ),
        "non_marketing_answer_share": ratio("non_marketing_answer_share", non_marketing, answers_total),
        "active_employee_ratio": ratio("active_employee_ratio", sum(facts.active.values()), sum(facts.people.values())),
        "department_coverage": ratio("department_coverage", len(covered), len(staffed), departments=coverage_detail),
        "certified_ratio": ratio(
            "certified_ratio",
            sum(n for dept, n in facts.certified.items() if dept in customer_facing),
            sum(n for dept, n in facts.people.items() if dept in customer_facing),
        ),
        "insights_adopted": count("insights_adopted", sum(facts.insights.values())),
        "contribution_evenness": evenness(
            "contribution_evenness",
            {by_slug[dept]: n for dept, n in facts.answers.items() if dept is not None and dept in by_slug},
        ),
        "customer_satisfaction": ratio(
            "customer_satisfaction", sum(facts.satisfied.values()), sum(facts.rated.values())
        ),
    }


def department_measures(facts: DayFacts, department: DepartmentInfo) -> dict[str, Measure]:
    """The metrics restricted to one department; those that cannot apply are left out."""
    dept = department.id
    queries = facts.queries.get(dept, QueryCounts())
    answers = facts.answers.get(dept, 0)
    messages = facts.messages.get(dept, 0)
    people = facts.people.get(dept, 0)
    return {
        "response_rate": ratio("response_rate", queries.answered, queries.received),
        "two_way_ratio": ratio("two_way_ratio", answers, answers + messages, answers=answers, messages=messages),
        "sla_attainment": ratio("sla_attainment", queries.sla_met, queries.sla_due),
        "active_employee_ratio": ratio("active_employee_ratio", facts.active.get(dept, 0), people),
        "certified_ratio": ratio("certified_ratio", facts.certified.get(dept, 0), people),
        "insights_adopted": count("insights_adopted", facts.insights.get(dept, 0)),
        "customer_satisfaction": ratio("customer_satisfaction", facts.satisfied.get(dept, 0), facts.rated.get(dept, 0)),
    }
