"""The rollups always equal a recount from the raw log: each event counted exactly once,
whatever the order ids commit in, however often the job runs, and when a run dies midway."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from accounts.models import User
from config.activity import ActivityKind
from engage import participation
from engage.models import DailyRollup, ParticipationEvent, PersonDay, RollupProgress
from engage.phase.rollups import SWEEP_INTERVAL, rollups_fold, rollups_fold_batch, rollups_scan_from
from tests.factories import DepartmentFactory, UserFactory
from tests.phase.conftest import fold, record

# Written out from PHASE-MODEL.md ("Participation"), not imported, so the definition is checked too.
PARTICIPATION = {
    "message_shared",
    "query_claimed",
    "answer_published",
    "answer_reviewed",
    "course_completed",
    "insight_submitted",
}
KINDS = [
    "message_published",
    "message_shared",
    "share_link_clicked",
    "query_received",
    "query_claimed",
    "answer_published",
    "answer_reviewed",
    "course_completed",
    "insight_submitted",
    "insight_status_changed",
]


class Killed(Exception):
    """A fold that dies after writing its counts, before its transaction commits."""


def killed_fold(batch_size: int) -> None:
    try:
        with transaction.atomic():
            rollups_fold_batch(batch_size=batch_size)
            raise Killed
    except Killed:
        pass


def rolled_back(work) -> None:
    """Run ``work`` in a transaction that is then rolled back (each example starts empty)."""

    class Rollback(Exception):
        pass

    try:
        with transaction.atomic():
            work()
            raise Rollback
    except Rollback:
        pass


def recount(*, folded_only: bool = False) -> tuple[Counter, Counter]:
    """The rollups, recomputed from scratch from the raw log."""
    zone = timezone.get_default_timezone()
    daily: Counter = Counter()
    people: Counter = Counter()
    events = ParticipationEvent.objects.all()
    if folded_only:
        events = events.filter(folded_at__isnull=False)
    for event in events:
        day = event.occurred_at.astimezone(zone).date()
        daily[(day, event.department_id or 0, event.kind)] += 1
        if event.actor_id is not None and event.kind in PARTICIPATION:
            people[(event.actor_id, day)] += 1
    return daily, people


def rollups() -> tuple[Counter, Counter]:
    daily = Counter({(r.day, r.department_key, r.kind): r.count for r in DailyRollup.objects.all()})
    people = Counter({(p.person_id, p.day): p.events for p in PersonDay.objects.all()})
    return +daily, +people


def assert_rollups_match(*, folded_only: bool = False) -> None:
    assert rollups() == recount(folded_only=folded_only)


def event_row(id_: int, kind: str, actor, department, when: datetime) -> ParticipationEvent:
    return ParticipationEvent(
        id=id_,
        kind=kind,
        actor=actor,
        department=department,
        occurred_at=when,
        object_type="test.object",
        object_id=id_,
        key=f"prop:{id_}",
    )


@pytest.fixture
def cast(db):
    sup, hr = DepartmentFactory(slug="sup"), DepartmentFactory(slug="hr")
    return {
        "departments": [sup, hr, None],
        "people": [UserFactory(department=sup), UserFactory(department=hr), UserFactory(department=None), None],
    }


# --- Plain cases ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_fold_counts_days_departments_kinds_and_active_people():
    sup = DepartmentFactory(slug="sup")
    alice, bob = UserFactory(department=sup), UserFactory(department=sup)
    noon = datetime(2026, 3, 10, 12, tzinfo=UTC)
    record(ActivityKind.QUERY_CLAIMED, alice, noon)
    record(ActivityKind.ANSWER_PUBLISHED, alice, noon + timedelta(hours=1))
    record(ActivityKind.MESSAGE_PUBLISHED, bob, noon)  # broadcast: not participation
    record(ActivityKind.SHARE_LINK_CLICKED, None, noon)  # a visitor
    record(ActivityKind.MESSAGE_SHARED, bob, noon + timedelta(days=1))
    assert rollups_fold() == 5
    daily = {(r.day, r.department_id, r.kind): r.count for r in DailyRollup.objects.all()}
    assert daily == {
        (date(2026, 3, 10), sup.pk, "query_claimed"): 1,
        (date(2026, 3, 10), sup.pk, "answer_published"): 1,
        (date(2026, 3, 10), sup.pk, "message_published"): 1,
        (date(2026, 3, 10), None, "share_link_clicked"): 1,
        (date(2026, 3, 11), sup.pk, "message_shared"): 1,
    }
    days = {(p.person_id, p.day): (p.events, p.department_id) for p in PersonDay.objects.all()}
    assert days == {(alice.pk, date(2026, 3, 10)): (2, sup.pk), (bob.pk, date(2026, 3, 11)): (1, sup.pk)}
    assert not ParticipationEvent.objects.filter(folded_at__isnull=True).exists()


@pytest.mark.django_db
def test_the_day_is_taken_in_the_organisations_time_zone(settings):
    settings.TIME_ZONE = "Asia/Tokyo"
    person = UserFactory()
    record(ActivityKind.QUERY_CLAIMED, person, datetime(2026, 3, 10, 20, tzinfo=UTC))  # 05:00 on 11 March in Tokyo
    fold()
    assert list(DailyRollup.objects.values_list("day", flat=True)) == [date(2026, 3, 11)]
    assert list(PersonDay.objects.values_list("day", flat=True)) == [date(2026, 3, 11)]


@pytest.mark.django_db
def test_running_twice_counts_once_and_a_recorded_duplicate_is_one_event():
    person = UserFactory()
    when = datetime(2026, 3, 10, 12, tzinfo=UTC)
    for _ in range(2):
        participation.record(
            participation.activity(
                kind="query_claimed", occurred_at=when, object_type="t", object_id=1, key="same", actor=person
            )
        )
    assert rollups_fold() == 1
    assert rollups_fold() == 0
    assert DailyRollup.objects.get().count == 1
    assert PersonDay.objects.get().events == 1


@pytest.mark.django_db
def test_a_fold_killed_before_commit_leaves_nothing_and_the_rerun_counts_once():
    person = UserFactory()
    for hour in range(5):
        record(ActivityKind.QUERY_CLAIMED, person, datetime(2026, 3, 10, hour, tzinfo=UTC))
    seen: list[int] = []
    try:
        with transaction.atomic():
            seen.append(rollups_fold_batch(batch_size=3))
            seen.append(DailyRollup.objects.get().count)  # written …
            raise Killed  # … and lost with the transaction
    except Killed:
        pass
    assert seen == [3, 3]
    assert not DailyRollup.objects.exists()
    assert ParticipationEvent.objects.filter(folded_at__isnull=True).count() == 5
    fold()
    assert DailyRollup.objects.get().count == 5
    assert PersonDay.objects.get().events == 5


@pytest.mark.django_db
def test_an_event_with_a_lower_id_arriving_after_a_fold_is_still_counted(cast):
    """A bare id watermark would skip event 5: it commits after event 10 was folded."""
    person = cast["people"][0]
    when = datetime(2026, 3, 10, 12, tzinfo=UTC)
    event_row(10, "query_claimed", person, person.department, when).save()
    fold()
    event_row(5, "query_claimed", person, person.department, when).save()
    fold()
    assert DailyRollup.objects.get().count == 2
    assert_rollups_match()


# --- The scan start, its marks and the sweep -----------------------------------------------------


def unfolded_ids() -> set[int]:
    return set(ParticipationEvent.objects.filter(folded_at__isnull=True).values_list("id", flat=True))


@pytest.mark.django_db
def test_the_scan_start_stays_below_ids_taken_less_than_the_margin_ago(cast):
    person = cast["people"][0]
    when = datetime(2026, 3, 10, 12, tzinfo=UTC)
    for id_ in (1, 2, 3):
        event_row(id_, "query_claimed", person, person.department, when).save()
    for _ in range(3):
        rollups_fold()  # the default margin: every mark is still too young
    assert rollups_scan_from() == 0
    RollupProgress.objects.filter(pk=1).update(marks=[[time.time() - 120, 3]])  # a mark two minutes old
    event_row(4, "query_claimed", person, person.department, when).save()
    assert rollups_fold() == 1
    assert rollups_scan_from() == 3
    assert_rollups_match()


@pytest.mark.django_db
def test_a_run_stopped_by_its_budget_moves_the_scan_start_no_further_than_it_walked(cast):
    """A mark older than the margin names id 10, but a run that folded only up to id 6 must
    not start the next one above 6, or events 7 to 10 would wait for the sweep."""
    person = cast["people"][0]
    when = datetime(2026, 3, 10, 12, tzinfo=UTC)
    for id_ in range(1, 11):
        event_row(id_, "query_claimed", person, person.department, when).save()
    runs = []
    for _ in range(4):
        runs.append(rollups_fold(batch_size=3, time_budget_seconds=0, margin_seconds=0, sweep=False))
        runs.append(rollups_scan_from())
    assert runs == [3, 0, 3, 6, 3, 9, 1, 10]
    assert unfolded_ids() == set()
    assert_rollups_match()


@pytest.mark.django_db
def test_an_event_committed_below_the_scan_start_is_counted_by_the_sweep_once(cast):
    """With no margin, the scan start passes id 10 at once; event 5, committed after that,
    is not on the fast path's way, and the sweep (forced, or when due) counts it once."""
    person = cast["people"][0]
    when = datetime(2026, 3, 10, 12, tzinfo=UTC)
    event_row(10, "query_claimed", person, person.department, when).save()
    assert rollups_fold(margin_seconds=0) == 1
    assert rollups_fold(margin_seconds=0) == 0
    assert rollups_scan_from() == 10
    event_row(5, "query_claimed", person, person.department, when).save()
    event_row(11, "answer_published", person, person.department, when).save()
    assert rollups_fold(margin_seconds=0, sweep=False) == 1  # 11 only
    assert unfolded_ids() == {5}
    assert_rollups_match(folded_only=True)
    assert rollups_fold(margin_seconds=0) == 0  # swept less than SWEEP_INTERVAL ago
    RollupProgress.objects.filter(pk=1).update(swept_at=timezone.now() - SWEEP_INTERVAL)
    assert rollups_fold(margin_seconds=0) == 1  # due: the sweep finds 5
    assert rollups_fold(margin_seconds=0, sweep=True) == 0  # and never again
    assert unfolded_ids() == set()
    assert DailyRollup.objects.get(kind="query_claimed").count == 2
    assert_rollups_match()


# --- The property --------------------------------------------------------------------------------

event_spec = st.tuples(
    st.sampled_from(KINDS),
    st.integers(min_value=0, max_value=3),  # actor index (3: none)
    st.integers(min_value=0, max_value=2),  # department index (2: none)
    st.integers(min_value=0, max_value=4 * 24 * 60),  # minutes after the start
)
step = st.one_of(
    st.tuples(st.just("insert"), st.lists(event_spec, min_size=1, max_size=8)),
    st.tuples(st.just("fold"), st.integers(min_value=1, max_value=6)),
    st.tuples(st.just("killed"), st.integers(min_value=1, max_value=6)),
    st.tuples(st.just("duplicate"), st.integers(min_value=0, max_value=1000)),
    # A whole run with no margin: the scan start passes every id it saw, so events inserted
    # later with lower ids are left to a sweep (True: this run sweeps first).
    st.tuples(st.just("run"), st.booleans()),
)


@pytest.mark.django_db
@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=st.lists(step, min_size=1, max_size=12),
    order=st.randoms(use_true_random=False),
    tz=st.sampled_from(["UTC", "America/New_York", "Asia/Kolkata"]),
)
def test_rollups_always_equal_a_recount_from_the_raw_log(cast, settings, steps, order, tz):
    settings.TIME_ZONE = tz
    start = datetime(2026, 3, 1, 22, tzinfo=UTC)
    ids = list(range(1, 1 + 8 * len(steps)))
    order.shuffle(ids)  # ids arrive (commit) in any order
    inserted: list[int] = []

    def run() -> None:
        for action, arg in steps:
            if action == "insert":
                rows = []
                for kind, actor, dept, minutes in arg:
                    id_ = ids.pop()
                    when = start + timedelta(minutes=minutes)
                    rows.append(event_row(id_, kind, cast["people"][actor], cast["departments"][dept], when))
                    inserted.append(id_)
                ParticipationEvent.objects.bulk_create(rows)
            elif action == "fold":
                rollups_fold_batch(batch_size=arg)
            elif action == "killed":
                killed_fold(arg)
            elif action == "run":
                rollups_fold(batch_size=3, margin_seconds=0, sweep=arg)
            elif action == "duplicate" and inserted:
                original = ParticipationEvent.objects.get(pk=inserted[arg % len(inserted)])
                participation.record(
                    participation.activity(
                        kind=original.kind,
                        occurred_at=original.occurred_at,
                        object_type=original.object_type,
                        object_id=original.object_id,
                        key=original.key,
                    )
                )
            # At every moment: the rollups hold exactly the events marked folded.
            assert_rollups_match(folded_only=True)
        rollups_fold(sweep=True)
        assert_rollups_match()
        assert not ParticipationEvent.objects.filter(folded_at__isnull=True).exists()

    rolled_back(run)


# --- Real concurrency (PostgreSQL) ---------------------------------------------------------------


@contextmanager
def _claim_held_open(person: User, when: datetime) -> Iterator[None]:
    """Another connection records a claim (so takes the lower id) and holds its transaction
    open for the block; it commits when the block ends."""
    inserted, may_commit = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            with transaction.atomic():
                record(ActivityKind.QUERY_CLAIMED, person, when)
                inserted.set()
                assert may_commit.wait(timeout=30)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    assert inserted.wait(timeout=30)
    try:
        yield
    finally:
        may_commit.set()
        thread.join(timeout=30)
    assert not errors


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_events_committed_out_of_id_order_are_each_counted_once():
    """Connection A takes the lower id but commits after connection B and after a fold."""
    person = UserFactory()
    when = datetime(2026, 3, 10, 12, tzinfo=UTC)
    with _claim_held_open(person, when):  # A
        record(ActivityKind.ANSWER_PUBLISHED, person, when)  # B: a higher id, committed first
        assert ParticipationEvent.objects.count() == 1  # A's row is not visible yet
        assert fold() == 1
    low, _high = sorted(ParticipationEvent.objects.values_list("id", flat=True))
    assert ParticipationEvent.objects.get(pk=low).kind == "query_claimed"  # the late one has the lower id
    assert fold() == 1
    assert_rollups_match()
    assert PersonDay.objects.get().events == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_transaction_open_past_the_scan_start_is_counted_by_the_sweep():
    """With no margin, runs move the scan start past the id a slow writer holds; once it
    commits, its event is not on the fast path's way, and the sweep counts it once."""
    person = UserFactory()
    when = datetime(2026, 3, 10, 12, tzinfo=UTC)
    with _claim_held_open(person, when):  # the slow writer
        record(ActivityKind.ANSWER_PUBLISHED, person, when)  # a higher id, committed first
        assert rollups_fold(margin_seconds=0) == 1
        assert rollups_fold(margin_seconds=0) == 0
        high = ParticipationEvent.objects.get().pk
        assert rollups_scan_from() == high
    assert unfolded_ids() == {high - 1}
    assert rollups_fold(margin_seconds=0, sweep=False) == 0
    assert rollups_fold(sweep=True) == 1
    assert rollups_fold(sweep=True) == 0
    assert_rollups_match()
    assert PersonDay.objects.get().events == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_folders_and_writers_count_every_event_once():
    departments = [DepartmentFactory(slug=f"d{i}") for i in range(3)]
    people = [UserFactory(department=departments[i % 3]) for i in range(6)]
    start = datetime(2026, 3, 1, tzinfo=UTC)

    def activities(offset: int, count: int):
        for n in range(offset, offset + count):
            person = people[n % len(people)]
            yield participation.activity(
                kind=KINDS[n % len(KINDS)],
                occurred_at=start + timedelta(minutes=7 * n),
                object_type="t",
                object_id=n,
                key=f"load:{n}",
                actor=person,
            )

    participation.record_many(activities(0, 3000))
    barrier = threading.Barrier(5)
    folded: list[int] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def folder() -> None:
        try:
            barrier.wait(timeout=30)
            total = 0
            for _ in range(40):
                total += rollups_fold(batch_size=97, time_budget_seconds=0.5)
            with lock:
                folded.append(total)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    def writer() -> None:
        try:
            barrier.wait(timeout=30)
            for chunk in range(10):
                participation.record_many(activities(3000 + chunk * 100, 100))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=folder) for _ in range(4)] + [threading.Thread(target=writer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    rest = fold()
    assert sum(folded) + rest == 4000  # each event folded by exactly one run
    assert_rollups_match()


@pytest.mark.django_db
def test_the_lag_is_the_age_of_the_oldest_event_still_to_fold(cast):
    from engage.phase.selectors import rollups_lag_seconds

    person = cast["people"][0]
    when = datetime(2026, 3, 10, 12, tzinfo=UTC)
    assert rollups_lag_seconds() == 0.0
    event = event_row(1, "query_claimed", person, person.department, when)
    event.recorded_at = timezone.now() - timedelta(seconds=90)
    event.save()
    assert 90 <= rollups_lag_seconds() < 120
    fold()
    assert rollups_lag_seconds() == 0.0
