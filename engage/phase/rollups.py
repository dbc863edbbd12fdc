"""Folding the participation log into daily rollups, each event exactly once.

A batch is one transaction that

1. *claims* up to ``batch_size`` unfolded events and marks them folded in one statement
   (``UPDATE … SET folded_at WHERE id IN (SELECT … WHERE folded_at IS NULL … FOR UPDATE
   SKIP LOCKED) RETURNING …``): concurrent folders never take the same rows, and an event
   committed late with a lower id is simply still unfolded — there is no id watermark;
2. aggregates the claimed events in Python (day in settings.TIME_ZONE, department, kind;
   person and day for participation kinds);
3. adds the counts with ``INSERT … ON CONFLICT DO UPDATE SET count = count + excluded.count``.

The mark and the counts commit together or not at all, so a job run twice, run
concurrently, or killed and rerun counts every event once. SQLite (the embedded default)
runs the same statements without ``FOR UPDATE SKIP LOCKED``: it has a single writer, and
the claiming ``UPDATE`` takes the write lock.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from engage.models import NO_DEPARTMENT_KEY, DailyRollup, ParticipationEvent, PersonDay
from engage.phase.definitions import PARTICIPATION_KINDS

DEFAULT_BATCH_SIZE = 5000  # measured: 2,000 → 16k events/s, 5,000 → 22k, 10,000 → 22k (2 cores, PostgreSQL)
DEFAULT_TIME_BUDGET_SECONDS = 10.0
_VALUES_PER_STATEMENT = 500  # rows per INSERT (well within SQLite's parameter limit)


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _claim_sql() -> str:
    table = _q(ParticipationEvent._meta.db_table)
    lock = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    # Identifiers come from model metadata, quoted; every value is a parameter.
    return (
        f"UPDATE {table} SET {_q('folded_at')} = %s "  # noqa: S608
        f"WHERE {_q('id')} IN (SELECT {_q('id')} FROM {table} WHERE {_q('folded_at')} IS NULL "
        f"ORDER BY {_q('id')} LIMIT %s{lock}) "
        f"RETURNING {_q('kind')}, {_q('actor_id')}, {_q('department_id')}, {_q('occurred_at')}"
    )


def _aware(value: Any) -> datetime:
    if isinstance(value, str):  # SQLite hands back text, stored in UTC
        value = datetime.fromisoformat(value)
    if timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    return value


def _upsert(
    *,
    table: str,
    columns: Sequence[tuple[str, str]],
    conflict: Sequence[str],
    add: str,
    rows: list[tuple[Any, ...]],
) -> None:
    """``INSERT … ON CONFLICT (conflict) DO UPDATE SET add = add + excluded.add``.

    ``columns`` are ``(name, PostgreSQL type)``. PostgreSQL gets one statement over
    ``unnest`` of one array per column (much cheaper to plan than thousands of
    placeholders); SQLite gets multi-row ``VALUES`` in chunks, with the same upsert clause.
    """
    if not rows:
        return
    quoted_table = _q(table)
    column_sql = ", ".join(_q(name) for name, _type in columns)
    tail = (
        f" ON CONFLICT ({', '.join(_q(c) for c in conflict)}) DO UPDATE SET "
        f"{_q(add)} = {quoted_table}.{_q(add)} + excluded.{_q(add)}"
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            arrays = ", ".join(f"%s::{sql_type}[]" for _name, sql_type in columns)
            cursor.execute(
                f"INSERT INTO {quoted_table} ({column_sql}) SELECT * FROM unnest({arrays}){tail}",  # noqa: S608
                [list(values) for values in zip(*rows, strict=True)],
            )
            return
        placeholder = "(" + ", ".join(["%s"] * len(columns)) + ")"
        for start in range(0, len(rows), _VALUES_PER_STATEMENT):
            chunk = rows[start : start + _VALUES_PER_STATEMENT]
            params = [value for row in chunk for value in row]
            cursor.execute(
                f"INSERT INTO {quoted_table} ({column_sql}) VALUES {', '.join([placeholder] * len(chunk))}{tail}",  # noqa: S608
                params,
            )


def aggregate(
    events: Iterable[tuple[str, int | None, int | None, datetime]],
) -> tuple[Counter[tuple[date, int | None, str]], dict[tuple[int, date], tuple[int | None, int]]]:
    """Daily counts per (day, department, kind), and participation per (person, day).

    Each event is ``(kind, actor_id, department_id, occurred_at)``; the day is taken in
    settings.TIME_ZONE. A person-day keeps the department of its first event in the batch.
    """
    zone = timezone.get_default_timezone()
    daily: Counter[tuple[date, int | None, str]] = Counter()
    people: dict[tuple[int, date], tuple[int | None, int]] = {}
    for kind, actor_id, department_id, occurred_at in events:
        day = _aware(occurred_at).astimezone(zone).date()
        daily[(day, department_id, kind)] += 1
        if actor_id is not None and kind in PARTICIPATION_KINDS:
            held = people.get((actor_id, day))
            people[(actor_id, day)] = (department_id, 1) if held is None else (held[0], held[1] + 1)
    return daily, people


def rollups_fold_batch(*, batch_size: int = DEFAULT_BATCH_SIZE) -> int:
    """Fold one batch of unfolded events, atomically. Returns how many were folded."""
    adapt_day = connection.ops.adapt_datefield_value
    with transaction.atomic():
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(_claim_sql(), [now, batch_size])
            claimed = cursor.fetchall()
        if not claimed:
            return 0
        daily, people = aggregate(claimed)
        _upsert(
            table=DailyRollup._meta.db_table,
            columns=(
                ("day", "date"),
                ("department_key", "bigint"),
                ("department_id", "bigint"),
                ("kind", "text"),
                ("count", "bigint"),
            ),
            conflict=("day", "department_key", "kind"),
            add="count",
            rows=[
                (adapt_day(day), department_id or NO_DEPARTMENT_KEY, department_id, kind, count)
                for (day, department_id, kind), count in sorted(daily.items(), key=_rollup_order)
            ],
        )
        _upsert(
            table=PersonDay._meta.db_table,
            columns=(("person_id", "bigint"), ("day", "date"), ("department_id", "bigint"), ("events", "integer")),
            conflict=("person_id", "day"),
            add="events",
            rows=[
                (person_id, adapt_day(day), department_id, count)
                for (person_id, day), (department_id, count) in sorted(people.items())
            ],
        )
    return len(claimed)


def _rollup_order(item: tuple[tuple[date, int | None, str], int]) -> tuple[date, int, str]:
    # One order for every folder, so concurrent upserts take row locks in the same order.
    (day, department_id, kind), _count = item
    return day, department_id or NO_DEPARTMENT_KEY, kind


def rollups_fold(
    *, batch_size: int = DEFAULT_BATCH_SIZE, time_budget_seconds: float = DEFAULT_TIME_BUDGET_SECONDS
) -> int:
    """Fold batches until nothing is left or the time budget is used. Returns events folded."""
    deadline = time.monotonic() + time_budget_seconds
    total = 0
    while True:
        folded = rollups_fold_batch(batch_size=batch_size)
        total += folded
        if folded < batch_size or time.monotonic() >= deadline:
            return total
