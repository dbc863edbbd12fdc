"""Folding the participation log into daily rollups, each event exactly once.

**Exactly once.** A batch is one transaction that *claims* unfolded events by marking them
(``UPDATE … SET folded_at … WHERE … folded_at IS NULL … RETURNING``) and adds them to the
rollups (``INSERT … ON CONFLICT DO UPDATE SET count = count + excluded.count``). The mark
and the counts commit together or not at all, so a job run twice, run concurrently, or
killed and rerun counts every event once, and an event committed late with a lower id is
simply still unfolded: what is folded is what is marked, never "everything below an id".
On PostgreSQL the whole batch is one statement (the claim in a CTE, grouped and upserted
in SQL: rows never travel to Python), and folders take turns batch by batch under a
transaction-level advisory lock. SQLite (the embedded default) has a single writer; it
claims with the same ``UPDATE … RETURNING`` and groups in Python.

**Fast.** Marking an event is a HOT update (heap-only: no index entry is written) because
no index of the log mentions ``folded_at`` and the table keeps half of each page free
(fillfactor 50, migration 0005). So there is no index of unfolded events either: a run
finds its work by walking the primary key upwards from a *scan start*
(:class:`~engage.models.RollupProgress`), taking the first ``batch_size`` unfolded events
after its own last one, batch after batch.

**Nothing left behind.** The scan start only moves up to ids that were already taken
``margin_seconds`` before the run began: at the end of every run the highest id then
visible is noted with the time (a *mark*); a later run that starts at least the margin
after a mark may move the scan start up to that id, once it has walked past everything
above the old start. Every event below the new start had its id by the mark's time, so it
was either committed before that run began — and that run, walking in id order, claimed
it or found it folded — or it belongs to a transaction that stayed open longer than the
margin. Those rare late events are found by the *sweep*: every ``SWEEP_INTERVAL`` (and
when asked, e.g. by the daily snapshot) a run looks through the whole log below the scan
start for events still unfolded. Every event is therefore counted exactly once; within one
job interval of its commit, or within the sweep interval if its transaction was open for
longer than the margin.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from engage.models import NO_DEPARTMENT_KEY, DailyRollup, ParticipationEvent, PersonDay, RollupProgress
from engage.phase.definitions import PARTICIPATION_KINDS

# Measured with bench/rollup_speed.py (2 cores, PostgreSQL 15, synchronous_commit on).
DEFAULT_BATCH_SIZE = 20_000
DEFAULT_TIME_BUDGET_SECONDS = 10.0
MARGIN_SECONDS = 60.0  # a transaction open longer than this between taking an id and committing waits for the sweep
SWEEP_INTERVAL = timedelta(minutes=5)
_MARKS_KEPT = 50
_LOCK_KEY = 0x656E_6761_6765_01  # pg_advisory_xact_lock: one folding batch at a time
_VALUES_PER_STATEMENT = 500  # rows per INSERT on SQLite (well within its parameter limit)


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _now() -> datetime:
    """The database's clock on PostgreSQL (one clock for every worker), this process's otherwise."""
    if _postgres():
        with connection.cursor() as cursor:
            cursor.execute("SELECT clock_timestamp()")
            now: datetime = cursor.fetchone()[0]
            return now
    return timezone.now()


def _take_turn() -> None:
    if _postgres():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])


# --- Claiming ----------------------------------------------------------------------------------------


def _claim_where(*, sweep: bool) -> str:
    """Which unfolded events a batch takes: after ``%(after)s`` in id order (the fast path),
    or, sweeping, any up to ``%(upto)s`` (no order, so a sequential scan will do)."""
    table = _q(ParticipationEvent._meta.db_table)
    pk, folded = _q("id"), _q("folded_at")
    if sweep:
        pick = f"SELECT {pk} FROM {table} WHERE {pk} <= %(upto)s AND {folded} IS NULL LIMIT %(limit)s"  # noqa: S608
    else:
        pick = (
            f"SELECT {pk} FROM {table} WHERE {pk} > %(after)s AND {folded} IS NULL "  # noqa: S608
            f"ORDER BY {pk} LIMIT %(limit)s"
        )
    # ``folded_at IS NULL`` again on the row itself: re-checked on the newest version if the
    # row changed meanwhile, so no event is ever claimed twice, lock or no lock.
    members = f"= ANY(ARRAY({pick}))" if _postgres() else f"IN ({pick})"
    return f"{pk} {members} AND {folded} IS NULL"


def _fold_postgres(*, where: str, params: dict[str, Any]) -> tuple[int, int | None]:
    """Claim, group and upsert in one statement. Returns (events folded, highest id)."""
    events = _q(ParticipationEvent._meta.db_table)
    daily, people = _q(DailyRollup._meta.db_table), _q(PersonDay._meta.db_table)
    sql = f"""
        WITH claimed AS (
            UPDATE {events} SET folded_at = %(now)s WHERE {where}
            RETURNING id, kind, actor_id, department_id, occurred_at,
                      (occurred_at AT TIME ZONE %(zone)s)::date AS day
        ),
        daily AS (
            INSERT INTO {daily} (day, department_key, department_id, kind, count)
            SELECT day, coalesce(department_id, %(none)s), department_id, kind, count(*)
            FROM claimed GROUP BY day, department_id, kind ORDER BY 1, 2, 4
            ON CONFLICT (day, department_key, kind) DO UPDATE SET count = {daily}.count + excluded.count
        ),
        people AS (
            INSERT INTO {people} (person_id, day, department_id, events)
            SELECT actor_id, day, (array_agg(department_id ORDER BY occurred_at, id))[1], count(*)
            FROM claimed WHERE actor_id IS NOT NULL AND kind = ANY(%(participation)s)
            GROUP BY actor_id, day ORDER BY 1, 2
            ON CONFLICT (person_id, day) DO UPDATE SET events = {people}.events + excluded.events
        )
        SELECT count(*), max(id) FROM claimed
    """  # noqa: S608 (identifiers from model metadata, quoted; every value is a parameter)
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                **params,
                "zone": str(timezone.get_default_timezone()),
                "none": NO_DEPARTMENT_KEY,
                "participation": sorted(PARTICIPATION_KINDS),
            },
        )
        count, highest = cursor.fetchone()
    return int(count), highest


def _aware(value: Any) -> datetime:
    if isinstance(value, str):  # SQLite hands back text, stored in UTC
        value = datetime.fromisoformat(value)
    if timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    aware: datetime = value
    return aware


def aggregate(
    events: Iterable[tuple[int, str, int | None, int | None, Any]],
) -> tuple[Counter[tuple[date, int | None, str]], dict[tuple[int, date], tuple[int | None, int]]]:
    """Daily counts per (day, department, kind), and participation per (person, day).

    Each event is ``(id, kind, actor_id, department_id, occurred_at)``; the day is taken in
    settings.TIME_ZONE. A person-day takes the department of its earliest event (by time,
    then id), as the PostgreSQL statement does.
    """
    zone = timezone.get_default_timezone()
    daily: Counter[tuple[date, int | None, str]] = Counter()
    first: dict[tuple[int, date], tuple[datetime, int, int | None]] = {}
    counts: Counter[tuple[int, date]] = Counter()
    for pk, kind, actor_id, department_id, occurred_at in events:
        when = _aware(occurred_at)
        day = when.astimezone(zone).date()
        daily[(day, department_id, kind)] += 1
        if actor_id is not None and kind in PARTICIPATION_KINDS:
            counts[(actor_id, day)] += 1
            held = first.get((actor_id, day))
            if held is None or (when, pk) < held[:2]:
                first[(actor_id, day)] = (when, pk, department_id)
    return daily, {key: (first[key][2], count) for key, count in counts.items()}


def _upsert(
    *, table: str, columns: Sequence[str], conflict: Sequence[str], add: str, rows: list[tuple[Any, ...]]
) -> None:
    """``INSERT … VALUES … ON CONFLICT (conflict) DO UPDATE SET add = add + excluded.add`` (SQLite)."""
    quoted = _q(table)
    column_sql = ", ".join(_q(name) for name in columns)
    tail = (
        f" ON CONFLICT ({', '.join(_q(c) for c in conflict)}) DO UPDATE SET "
        f"{_q(add)} = {quoted}.{_q(add)} + excluded.{_q(add)}"
    )
    placeholder = "(" + ", ".join(["%s"] * len(columns)) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _VALUES_PER_STATEMENT):
            chunk = rows[start : start + _VALUES_PER_STATEMENT]
            cursor.execute(
                f"INSERT INTO {quoted} ({column_sql}) VALUES {', '.join([placeholder] * len(chunk))}{tail}",  # noqa: S608
                [value for row in chunk for value in row],
            )


def _fold_python(*, where: str, params: dict[str, Any]) -> tuple[int, int | None]:
    table = _q(ParticipationEvent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {_q('folded_at')} = %(now)s WHERE {where} "  # noqa: S608
            f"RETURNING {_q('id')}, {_q('kind')}, {_q('actor_id')}, {_q('department_id')}, {_q('occurred_at')}",
            params,
        )
        claimed = cursor.fetchall()
    if not claimed:
        return 0, None
    daily, people = aggregate(claimed)
    adapt_day = connection.ops.adapt_datefield_value
    _upsert(
        table=DailyRollup._meta.db_table,
        columns=("day", "department_key", "department_id", "kind", "count"),
        conflict=("day", "department_key", "kind"),
        add="count",
        rows=[
            (adapt_day(day), department_id or NO_DEPARTMENT_KEY, department_id, kind, count)
            for (day, department_id, kind), count in sorted(
                daily.items(), key=lambda item: (item[0][0], item[0][1] or NO_DEPARTMENT_KEY, item[0][2])
            )
        ],
    )
    _upsert(
        table=PersonDay._meta.db_table,
        columns=("person_id", "day", "department_id", "events"),
        conflict=("person_id", "day"),
        add="events",
        rows=[
            (person_id, adapt_day(day), department_id, count)
            for (person_id, day), (department_id, count) in sorted(people.items())
        ],
    )
    return len(claimed), max(row[0] for row in claimed)


def _fold(*, batch_size: int, after: int = 0, upto: int | None = None) -> tuple[int, int | None]:
    """One batch, atomically: after ``after`` in id order, or (``upto``) a sweep below it."""
    with transaction.atomic():
        _take_turn()
        sweep = upto is not None
        params: dict[str, Any] = {
            "now": connection.ops.adapt_datetimefield_value(timezone.now()),
            "after": after,
            "upto": upto if sweep else 0,
            "limit": batch_size,
        }
        where = _claim_where(sweep=sweep)
        if _postgres():
            return _fold_postgres(where=where, params=params)
        return _fold_python(where=where, params=params)


def rollups_fold_batch(*, batch_size: int = DEFAULT_BATCH_SIZE, after: int | None = None) -> int:
    """Fold one batch: the first ``batch_size`` unfolded events above ``after`` (default: the
    scan start). Atomic. Returns how many were folded."""
    if after is None:
        after = _progress().scan_from
    return _fold(batch_size=batch_size, after=after)[0]


# --- Runs: the scan start, marks and the sweep ----------------------------------------------------------


def _progress() -> RollupProgress:
    progress = RollupProgress.objects.filter(pk=1).first()
    if progress is None:
        progress, _ = RollupProgress.objects.get_or_create(pk=1)
    return progress


def _highest_id() -> int:
    table = _q(ParticipationEvent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT max({_q('id')}) FROM {table}")  # noqa: S608
        return int(cursor.fetchone()[0] or 0)


@dataclass
class _Run:
    started: datetime
    scan_from: int
    swept: bool = False
    finished: bool = False  # the last batch was short: nothing above the cursor was left
    cursor: int = 0


def _usable_mark(marks: list[list[float]], *, started: datetime, margin_seconds: float) -> int | None:
    """The highest id of the newest mark made at least ``margin_seconds`` before ``started``."""
    limit = started.timestamp() - margin_seconds
    usable = [int(highest) for at, highest in marks if at <= limit]
    return max(usable) if usable else None


def _finish(run: _Run, *, margin_seconds: float) -> None:
    """Move the scan start as far as is safe, note a mark, and when the run swept."""
    with transaction.atomic():
        _take_turn()
        progress = RollupProgress.objects.select_for_update().get(pk=1)
        mark = _usable_mark(progress.marks, started=run.started, margin_seconds=margin_seconds)
        if mark is not None:
            candidate = mark if run.finished else min(mark, run.cursor)
            progress.scan_from = max(progress.scan_from, candidate)
        highest = _highest_id()  # first the id, then the time: every id up to it was taken by then
        now = _now().timestamp()
        marks = sorted([*progress.marks, [now, highest]])
        # Keep every mark still too young to use, and the newest one old enough.
        old_enough = [m for m in marks if m[0] <= now - margin_seconds]
        progress.marks = (old_enough[-1:] + [m for m in marks if m[0] > now - margin_seconds])[-_MARKS_KEPT:]
        if run.swept:
            progress.swept_at = run.started
        progress.save()


def rollups_fold(
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    time_budget_seconds: float = DEFAULT_TIME_BUDGET_SECONDS,
    margin_seconds: float = MARGIN_SECONDS,
    sweep: bool | None = None,
) -> int:
    """Fold batches until nothing is left or the time budget is used. Returns events folded.

    ``sweep``: look through the whole log below the scan start too (None: when the last
    sweep is older than ``SWEEP_INTERVAL``; the daily snapshot asks for one).
    """
    deadline = time.monotonic() + time_budget_seconds
    progress = _progress()
    run = _Run(started=_now(), scan_from=progress.scan_from)
    run.cursor = run.scan_from
    if sweep is None:
        sweep = progress.swept_at is None or progress.swept_at <= run.started - SWEEP_INTERVAL
    total = 0
    if sweep and run.scan_from > 0:
        while True:
            folded, _highest = _fold(batch_size=batch_size, upto=run.scan_from)
            total += folded
            if folded < batch_size:
                run.swept = True
                break
            if time.monotonic() >= deadline:
                break
    run.swept = run.swept or (sweep and run.scan_from == 0)
    while True:
        folded, highest = _fold(batch_size=batch_size, after=run.cursor)
        total += folded
        if highest is not None:
            run.cursor = max(run.cursor, highest)
        if folded < batch_size:
            run.finished = True
            break
        if time.monotonic() >= deadline:
            break
    _finish(run, margin_seconds=margin_seconds)
    return total


def rollups_scan_from() -> int:
    """Where the next run starts looking (events at or below it are folded, or wait for the sweep)."""
    return _progress().scan_from
