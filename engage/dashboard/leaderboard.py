"""The leaderboard: points for what helps the company answer well, not for raw volume.

Points, over a window of days ending today (the page says the same, from POINTS):

==============================  ======  ======================================================
what                            points  counted from
==============================  ======  ======================================================
answer published                10      answers published in the window (each one was accepted:
                                        approved by a reviewer, or written by a certified responder)
... within its response target  +5      the query's target, the moment the answer went out
... rated 4 or 5 by a customer  +4      the customer's rating (engage.ratings) of an answer
                                        published in the window, as it stands now
answer approved as reviewer     3       answers published in the window that you approved
insight submitted               2       insights you submitted in the window
insight adopted                 20      your insights moved to planned or shipped in the window
course completed                8       courses you passed for the first time in the window
certification earned            12      certifications issued to you in the window
day taking part                 1       days with any participation (rollups): sharing fifty
                                        messages on one day earns one point, like sharing one
==============================  ======  ======================================================

Nothing counts shares, claims or clicks one by one. Boards: everyone (executives aside),
one per department (executives aside), and the executives' own. People who opted out are
on no board; they still see their own points. Whatever the number of people, a board costs
a fixed number of queries (one grouped query per source).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import Avg, Case, Count, Exists, F, OuterRef, Q, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Department, RoleName, User
from engage.models import (
    Answer,
    AnswerRating,
    AnswerStatus,
    Insight,
    InsightStatus,
    InsightStatusChange,
    LeaderboardOptOut,
    PersonDay,
)
from engage.phase.definitions import SATISFIED_SCORES
from engage.phase.metrics import Window
from training.models import Certification, Enrollment

POINTS: dict[str, int] = {
    "answers": 10,
    "on_time": 5,
    "rated_well": 4,
    "approvals": 3,
    "insights_submitted": 2,
    "insights_adopted": 20,
    "courses": 8,
    "certifications": 12,
    "active_days": 1,
}
POINT_LABELS: dict[str, str] = {
    "answers": "Answer published (accepted in review or by a certified responder)",
    "on_time": "… within its response target (bonus)",
    "rated_well": "… rated 4 or 5 by the customer (bonus)",
    "approvals": "Answer you approved as a reviewer",
    "insights_submitted": "Insight submitted",
    "insights_adopted": "Your insight planned or shipped",
    "courses": "Course completed",
    "certifications": "Certification earned",
    "active_days": "Day taking part (any participation; volume on the day earns nothing more)",
}
WINDOW_CHOICES = (7, 30, 90)
WINDOW_DEFAULT = 30
BOARD_SIZE = 25
EVERYONE = "everyone"
EXECUTIVES = "executives"


@dataclass
class Score:
    user_id: int
    name: str
    department_id: int | None
    department_name: str
    executive: bool
    opted_out: bool
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def points(self) -> int:
        return sum(POINTS[key] * n for key, n in self.counts.items())

    def breakdown(self) -> list[tuple[str, int, int]]:
        """``(label, count, points)`` of each source with something in it."""
        return [(POINT_LABELS[key], n, POINTS[key] * n) for key, n in self.counts.items() if n]


@dataclass
class Board:
    board: str
    window_days: int
    first_day: date
    last_day: date
    rows: list[tuple[int, Score]]  # (rank, score), best first, at most BOARD_SIZE
    total: int  # people on this board with points
    me: tuple[int, Score] | None  # the viewer's place on it (None: not on it)
    my_score: Score | None  # the viewer's points, on a board or not


def window_days_of(value: Any) -> int:
    if value in (None, ""):
        return WINDOW_DEFAULT
    choices = f"{', '.join(str(d) for d in WINDOW_CHOICES[:-1])} or {WINDOW_CHOICES[-1]} days"
    try:
        days = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"Choose the period of the leaderboard: the last {choices}.") from None
    if days not in WINDOW_CHOICES:
        raise ValueError(f"Choose the period of the leaderboard: the last {choices} ({days} is not one of them).")
    return days


def _grouped(rows: Any) -> dict[int, int]:
    return {row["who"]: int(row["n"]) for row in rows if row["who"] is not None}


def point_counts(*, window: Window) -> dict[str, dict[int, int]]:
    """Per source, ``{person id: count}`` in the window: one grouped query per source."""
    published = Answer.objects.filter(
        status=AnswerStatus.PUBLISHED, published_at__gte=window.start, published_at__lt=window.end
    ).order_by()
    # On time against the turn's target: the first for a first answer, the latest follow-up's otherwise.
    target = Case(
        When(turn=1, then=Coalesce("query__first_sla_due_at", "query__sla_due_at")), default=F("query__sla_due_at")
    )
    answers = published.values(who=F("author_id")).annotate(
        n=Count("id"), on_time=Count("id", filter=Q(published_at__lte=target))
    )
    answer_rows = list(answers)
    counts: dict[str, dict[int, int]] = {
        "answers": {row["who"]: int(row["n"]) for row in answer_rows},
        "on_time": {row["who"]: int(row["on_time"]) for row in answer_rows},
        "rated_well": _grouped(
            AnswerRating.objects.filter(answer__in=published, score__in=SATISFIED_SCORES)
            .order_by()
            .values(who=F("answer__author_id"))
            .annotate(n=Count("id"))
        ),
        "approvals": _grouped(
            published.filter(reviewed_by__isnull=False).values(who=F("reviewed_by_id")).annotate(n=Count("id"))
        ),
        "insights_submitted": _grouped(
            Insight.objects.filter(created_at__gte=window.start, created_at__lt=window.end)
            .order_by()
            .values(who=F("submitted_by_id"))
            .annotate(n=Count("id"))
        ),
        "insights_adopted": _grouped(
            InsightStatusChange.objects.filter(
                changed_at__gte=window.start,
                changed_at__lt=window.end,
                to_status__in=(InsightStatus.PLANNED, InsightStatus.SHIPPED),
            )
            .order_by()
            .values(who=F("insight__submitted_by_id"))
            .annotate(n=Count("insight_id", distinct=True))
        ),
        "courses": _grouped(
            Enrollment.objects.filter(completed_at__gte=window.start, completed_at__lt=window.end)
            .order_by()
            .values(who=F("user_id"))
            .annotate(n=Count("id"))
        ),
        "certifications": _grouped(
            Certification.objects.filter(issued_at__gte=window.start, issued_at__lt=window.end)
            .order_by()
            .values(who=F("user_id"))
            .annotate(n=Count("id"))
        ),
        "active_days": _grouped(
            PersonDay.objects.filter(day__gte=window.first_day, day__lte=window.as_of)
            .order_by()
            .values(who=F("person_id"))
            .annotate(n=Count("id"))
        ),
    }
    return counts


def leaderboard(*, viewer: User, board: str = EVERYONE, days: int = WINDOW_DEFAULT, today: date | None = None) -> Board:
    """A board (``everyone``, ``executives`` or a department's slug) over the last ``days`` days.

    ValueError for an unknown board.
    """
    today = today or timezone.localdate()
    window = Window(as_of=today, days=days)
    department: Department | None = None
    if board not in (EVERYONE, EXECUTIVES):
        department = Department.objects.filter(slug=board).first()
        if department is None:
            raise ValueError(f"There is no leaderboard “{board}”; choose everyone, the executives or a department.")
    counts = point_counts(window=window)
    scored_ids = {person for per_source in counts.values() for person in per_source}
    scored_ids.add(viewer.pk)
    executive_role = User.roles.through.objects.filter(user_id=OuterRef("pk"), role_id=RoleName.EXECUTIVE)
    people = (
        User.objects.filter(is_active=True, erased_at__isnull=True)
        .annotate(
            executive=Exists(executive_role),
            opted_out=Exists(LeaderboardOptOut.objects.filter(user_id=OuterRef("pk"))),
        )
        .values_list("pk", "name", "email", "department_id", "department__name", "executive", "opted_out")
    )
    if department is not None:
        people = people.filter(Q(department=department) | Q(pk=viewer.pk))
    scores: dict[int, Score] = {}
    for pk, name, email, department_id, department_name, executive, opted_out in people:
        if pk not in scored_ids:
            continue
        scores[pk] = Score(
            user_id=pk,
            name=name or email.split("@")[0],
            department_id=department_id,
            department_name=department_name or "",
            executive=bool(executive),
            opted_out=bool(opted_out),
            counts={key: per_source.get(pk, 0) for key, per_source in counts.items()},
        )

    def on_board(score: Score) -> bool:
        if score.opted_out or score.points <= 0:
            return False
        if board == EXECUTIVES:
            return score.executive
        if score.executive:
            return False
        return department is None or score.department_id == department.pk

    ranked = sorted((s for s in scores.values() if on_board(s)), key=lambda s: (-s.points, s.name.lower(), s.user_id))
    places: list[tuple[int, Score]] = []
    previous_points: int | None = None
    rank = 0
    for position, score in enumerate(ranked, start=1):
        if score.points != previous_points:
            rank = position
            previous_points = score.points
        places.append((rank, score))
    me = next((place for place in places if place[1].user_id == viewer.pk), None)
    return Board(
        board=board,
        window_days=days,
        first_day=window.first_day,
        last_day=today,
        rows=places[:BOARD_SIZE],
        total=len(places),
        me=me,
        my_score=scores.get(viewer.pk),
    )


@dataclass(frozen=True)
class MyRatings:
    """The viewer's own figures from customers: ratings of their answers published in the window."""

    rated: int
    satisfied: int
    average: float | None

    @property
    def share(self) -> float | None:
        return self.satisfied / self.rated if self.rated else None


def my_ratings(*, user: User, days: int = WINDOW_DEFAULT, today: date | None = None) -> MyRatings:
    window = Window(as_of=today or timezone.localdate(), days=days)
    row = AnswerRating.objects.filter(
        answer__author=user,
        answer__status=AnswerStatus.PUBLISHED,
        answer__published_at__gte=window.start,
        answer__published_at__lt=window.end,
    ).aggregate(rated=Count("id"), satisfied=Count("id", filter=Q(score__in=SATISFIED_SCORES)), average=Avg("score"))
    average = row["average"]
    return MyRatings(
        rated=row["rated"], satisfied=row["satisfied"], average=round(float(average), 1) if average else None
    )


def board_choices() -> list[tuple[str, str]]:
    departments = Department.objects.order_by("name").values_list("slug", "name")
    return [(EVERYONE, "Everyone"), (EXECUTIVES, "Executives"), *departments]


def points_table() -> list[tuple[str, int]]:
    return [(POINT_LABELS[key], value) for key, value in POINTS.items()]


def opted_out(*, user: User) -> bool:
    return LeaderboardOptOut.objects.filter(user=user).exists()
