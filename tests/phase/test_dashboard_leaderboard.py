"""The leaderboard: points for published answers, adopted insights and training over raw
volume; boards by department and for executives; opting out; a fixed query count."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import DepartmentKind, RoleName
from accounts.services import user_export
from config.activity import ActivityKind
from engage.dashboard import leaderboard as boards
from engage.dashboard import services
from engage.models import Answer, InsightStatus, LeaderboardOptOut
from tests.phase.conftest import answer, at, certify, department, fold, insight, person, query, record
from training.models import Course, Enrollment

pytestmark = pytest.mark.django_db

BOARD = "/dashboard/leaderboard/"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def support(db):
    return department("support")


@pytest.fixture
def finance(db):
    return department("finance", kind=DepartmentKind.FINANCE, customer_facing=False)


def test_published_answers_insights_and_training_outscore_raw_volume(support, finance, today):
    yesterday = today - timedelta(days=1)
    writer = person(support, name="Wendy Writer")
    sharer = person(support, name="Sid Sharer")
    learner = person(finance, name="Lena Learner")
    reviewer = person(support, name="Rita Reviewer", roles=[RoleName.REVIEWER])
    thinker = person(finance, name="Theo Thinker")

    on_time = query(support, at(yesterday, 9), answered=at(yesterday, 10), due_hours=24)
    late = query(support, at(yesterday - timedelta(days=3), 9), answered=at(yesterday, 11), due_hours=24)
    answer(on_time, writer, at(yesterday, 10))
    late_answer = answer(late, writer, at(yesterday, 11))
    Answer.objects.filter(pk=late_answer.pk).update(reviewed_by=reviewer, reviewed_at=at(yesterday, 11))
    for minute in range(40):  # forty shares in one day: volume
        record(ActivityKind.MESSAGE_SHARED, sharer, at(yesterday, 12, minute))
    course = Course.objects.create(title="Answering in public")
    Enrollment.objects.create(user=learner, course=course, completed_at=at(yesterday, 14))
    certify(learner, at(yesterday, 14), at(yesterday + timedelta(days=365), 14))
    source = query(support, at(yesterday, 8))
    insight(thinker, [("submitted", at(yesterday, 15)), (InsightStatus.PLANNED, at(yesterday, 16))], from_query=source)
    record(ActivityKind.INSIGHT_SUBMITTED, thinker, at(yesterday, 15))
    fold()

    board = boards.leaderboard(viewer=writer, days=30, today=today)
    scores = {score.name: score for _rank, score in board.rows}
    # Two published answers (10 each), one within its target (+5), one day taking part (+1).
    assert scores["Wendy Writer"].points == 10 + 10 + 5 + 1
    # An adopted insight (20) and its submission (2), one day taking part.
    assert scores["Theo Thinker"].points == 20 + 2 + 1
    # A course (8) and a certification (12); completing a course was not in the log here.
    assert scores["Lena Learner"].points == 8 + 12
    assert scores["Rita Reviewer"].points == 3
    # Forty shares on one day are one day taking part.
    assert scores["Sid Sharer"].points == 1
    assert [score.name for _rank, score in board.rows] == [
        "Wendy Writer",
        "Theo Thinker",
        "Lena Learner",
        "Rita Reviewer",
        "Sid Sharer",
    ]
    assert board.me is not None
    assert board.me[0] == 1
    assert {label: points for label, _n, points in scores["Wendy Writer"].breakdown()}[
        boards.POINT_LABELS["on_time"]
    ] == 5


def test_the_window_leaves_older_work_out(support, today):
    writer = person(support, name="Old Timer")
    long_ago = today - timedelta(days=45)
    q = query(support, at(long_ago, 9), answered=at(long_ago, 10))
    answer(q, writer, at(long_ago, 10))
    fold()
    assert boards.leaderboard(viewer=writer, days=30, today=today).rows == []
    ninety = boards.leaderboard(viewer=writer, days=90, today=today)
    assert [(rank, score.points) for rank, score in ninety.rows] == [(1, 10 + 5 + 1)]


def test_ties_share_a_rank(support, today):
    yesterday = today - timedelta(days=1)
    first, second, third = (person(support, name=n) for n in ("Ann", "Ben", "Cy"))
    for who in (first, second):
        q = query(support, at(yesterday, 9), answered=at(yesterday, 10))
        answer(q, who, at(yesterday, 10))
    record(ActivityKind.MESSAGE_SHARED, third, at(yesterday, 9))
    fold()
    board = boards.leaderboard(viewer=third, today=today)
    assert [(rank, score.name) for rank, score in board.rows] == [(1, "Ann"), (1, "Ben"), (3, "Cy")]


def test_boards_by_department_and_executives_on_their_own(support, finance, today):
    yesterday = today - timedelta(days=1)
    agent = person(support, name="Agent A")
    accountant = person(finance, name="Accountant B")
    boss = person(finance, name="Boss C", roles=[RoleName.EXECUTIVE])
    for who in (agent, accountant, boss):
        record(ActivityKind.MESSAGE_SHARED, who, at(yesterday, 9))
    fold()

    def names(board: str) -> list[str]:
        return [score.name for _rank, score in boards.leaderboard(viewer=agent, board=board, today=today).rows]

    assert names("everyone") == ["Accountant B", "Agent A"]
    assert names("support") == ["Agent A"]
    assert names("finance") == ["Accountant B"]
    assert names("executives") == ["Boss C"]
    with pytest.raises(ValueError, match=r"^There is no leaderboard “nowhere”; choose everyone, the executives or a"):
        boards.leaderboard(viewer=agent, board="nowhere")


def test_a_person_who_opts_out_is_on_no_board_but_sees_their_own_points(support, today):
    yesterday = today - timedelta(days=1)
    shy = person(support, name="Shy Sam")
    other = person(support, name="Open Olga")
    q = query(support, at(yesterday, 9), answered=at(yesterday, 10))
    answer(q, shy, at(yesterday, 10))
    record(ActivityKind.MESSAGE_SHARED, other, at(yesterday, 9))
    fold()

    client = client_for(shy)
    assert "Shy Sam" in client.get(BOARD).content.decode()
    response = client.post(f"{BOARD}leave/", {"board": "support", "days": "30"})
    assert response.status_code == 302
    assert response["Location"] == f"{BOARD}?board=support&days=30"
    client.post(f"{BOARD}leave/")  # twice is harmless
    assert LeaderboardOptOut.objects.filter(user=shy).count() == 1

    board = boards.leaderboard(viewer=shy, today=today)
    assert [score.name for _rank, score in board.rows] == ["Open Olga"]
    assert board.me is None
    assert board.my_score is not None
    assert board.my_score.points == 16
    page = client_for(other).get(BOARD).content.decode()
    assert "Shy Sam" not in page
    own = client.get(BOARD).content.decode()
    assert "You are off the leaderboard" in own
    assert "<strong>16</strong> points" in own
    assert user_export(user=shy)["leaderboard"]["opted_out_at"] is not None

    client.post(f"{BOARD}join/")
    assert not LeaderboardOptOut.objects.filter(user=shy).exists()
    assert "Shy Sam" in [score.name for _rank, score in boards.leaderboard(viewer=other, today=today).rows]


def test_opting_out_is_a_post_for_a_signed_in_person(support):
    shy = person(support)
    assert client_for(shy).get(f"{BOARD}leave/").status_code == 405
    assert Client().post(f"{BOARD}leave/").status_code == 302  # to the sign-in page
    assert not LeaderboardOptOut.objects.exists()
    services.leaderboard_opt_in(user=shy)  # opting in when already in is harmless
    assert not LeaderboardOptOut.objects.exists()


def test_the_page_checks_its_input(support):
    client = client_for(person(support))
    assert client.get(BOARD, {"days": "12"}).status_code == 400
    assert client.get(BOARD, {"board": "nowhere"}).status_code == 400
    assert client.get(BOARD, {"board": "support", "days": "90"}).status_code == 200


def test_a_board_costs_the_same_whatever_the_number_of_people(support, today, django_assert_max_num_queries):
    yesterday = today - timedelta(days=1)

    def add_people(n: int) -> None:
        for i in range(n):
            who = person(support, name=f"Person {i}")
            q = query(support, at(yesterday, 9), answered=at(yesterday, 10))
            answer(q, who, at(yesterday, 10))
            record(ActivityKind.COURSE_COMPLETED, who, at(yesterday, 11))
        fold()

    viewer = person(support, name="Viewer")
    add_people(2)
    with django_assert_max_num_queries(12) as few:
        boards.leaderboard(viewer=viewer, today=today)
    add_people(25)
    with django_assert_max_num_queries(len(few.captured_queries)):
        board = boards.leaderboard(viewer=viewer, today=today)
    assert board.total == 27
    assert len(board.rows) == boards.BOARD_SIZE
