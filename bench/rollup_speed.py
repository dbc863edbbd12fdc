"""How fast the participation rollups fold, in one command (QUALITY.md: ≥ 40,000 events/s
into the daily rollups on one worker).

``python -m bench.rollup_speed [--events N] [--history N] [--batch-size B] [--keep]``

1. Recreates its own PostgreSQL database (``engage_rollbench``, on loopback), migrates.
2. Seeds people (one password hash) and departments, then ``--history`` events that are
   folded before the clock starts (a log with a past), then ``--events`` new ones, all with
   ``COPY``, in time order as a real log grows, spread over the last 180 days.
3. Times :func:`engage.phase.rollups.rollups_fold` in this one process (one worker, one
   connection, ``synchronous_commit`` as the server has it) until nothing is left.
4. Checks the result: the rollups equal a recount from the raw log, in SQL.

Prints one line of JSON (``--json``) or a short report. :func:`seed_events` is also used by
``bench.run`` to grow the log for the dashboard's 1M and 10M steps.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import infra

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
DATABASE = infra.ROLLUP_DATABASE
TARGET_EVENTS_PER_SECOND = 40_000
OBJECT_IDS = 10**12

# (kind, weight, has an actor): roughly what the demo company's log looks like.
KINDS: tuple[tuple[str, int, bool], ...] = (
    ("query_received", 20, False),
    ("query_routed", 8, False),
    ("query_claimed", 14, True),
    ("answer_published", 13, True),
    ("answer_reviewed", 8, True),
    ("message_published", 3, True),
    ("message_shared", 12, True),
    ("share_link_clicked", 12, False),
    ("toolkit_item_used", 3, True),
    ("course_completed", 3, True),
    ("certification_earned", 1, True),
    ("insight_submitted", 2, True),
    ("insight_status_changed", 1, True),
)


def configure(url: str) -> None:
    """Production settings for this process, against ``url``, before Django starts."""
    infra.configure_here(url)


# --- Seeding ------------------------------------------------------------------------------------------


def seed_people(*, people: int, departments: int = 10) -> list[tuple[int, int]]:
    """Departments and ``people`` people sharing one password hash; returns (person, department)."""
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.models import Department

    now = timezone.now()
    with transaction.atomic():
        made = [
            Department.objects.get_or_create(
                slug=f"rb-{n}",
                defaults={"name": f"Rollbench {n}", "kind": "other", "customer_facing": n < 4},
            )[0].pk
            for n in range(departments)
        ]
        with connection.cursor() as cursor:
            cursor.execute("SELECT coalesce(max(id), 0) FROM accounts_user")
            first = cursor.fetchone()[0] + 1
        password = make_password("rollbench-not-used")  # hashed once for everyone
        cast = [(first + n, made[n % len(made)]) for n in range(people)]
        raw = connection.cursor().cursor  # psycopg's own cursor, for COPY
        columns = "id, password, email, name, department_id, is_active, date_joined, notification_prefs, external_id"
        with raw.copy(f"COPY accounts_user ({columns}) FROM STDIN") as copy:
            for pk, department in cast:
                copy.write_row(
                    (pk, password, f"rb{pk}@rollbench.engage", f"Person {pk}", department, True, now, "{}", "")
                )
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('accounts_user', 'id'), (SELECT max(id) FROM accounts_user))"
            )
    return cast


def _event_lines(
    *,
    count: int,
    first_id: int,
    cast: list[tuple[int, int]],
    start: datetime,
    end: datetime,
    seed: int,
    key_prefix: str,
) -> Iterator[str]:
    rng = random.Random(seed)
    kinds = [k for k, _w, _a in KINDS]
    weights = [w for _k, w, _a in KINDS]
    with_actor = {k: a for k, _w, a in KINDS}
    span = (end - start).total_seconds()
    step = span / max(count, 1)
    chosen = rng.choices(kinds, weights, k=count)
    for n in range(count):
        pk = first_id + n
        kind = chosen[n]
        when = start + timedelta(seconds=n * step + rng.random() * step)
        stamp = when.isoformat()
        if with_actor[kind]:
            person, department = cast[rng.randrange(len(cast))]
            actor, dept = str(person), str(department)
        elif kind == "share_link_clicked":
            actor, dept = "\\N", "\\N"  # a visitor
        else:
            actor, dept = "\\N", str(cast[rng.randrange(len(cast))][1])
        # Objects of their own (far above any row's id), so no check that counts, say, the
        # claim events of a query ever sees these.
        yield (
            f"{pk}\t{kind}\t{stamp}\tbench.object\t{OBJECT_IDS + pk}\t{key_prefix}:{pk}\t{{}}\t{stamp}"
            f"\t{actor}\t{dept}\t\\N\n"
        )


def seed_events(
    *, count: int, cast: list[tuple[int, int]], days: int = 180, seed: int = 20261127, end: datetime | None = None
) -> int:
    """``COPY`` ``count`` unfolded events into the log after the ones there, in time order over
    the ``days`` before ``end`` (default now), by the people of ``cast``. Returns the first id."""
    from django.db import connection, transaction

    end = end or datetime.now(UTC)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM engage_participationevent")
        first = cursor.fetchone()[0] + 1
        # The people and departments exist: no need to queue a foreign-key check per row.
        cursor.execute("SET LOCAL session_replication_role = replica")
        columns = (
            "id, kind, occurred_at, object_type, object_id, key, data, recorded_at, actor_id, department_id, folded_at"
        )
        lines = _event_lines(
            count=count,
            first_id=first,
            cast=cast,
            start=end - timedelta(days=days),
            end=end,
            seed=seed + first,
            key_prefix=f"rb{first}",
        )
        raw = connection.cursor().cursor
        with raw.copy(f"COPY engage_participationevent ({columns}) FROM STDIN") as copy:
            chunk: list[str] = []
            for line in lines:
                chunk.append(line)
                if len(chunk) >= 20_000:
                    copy.write("".join(chunk))
                    chunk = []
            if chunk:
                copy.write("".join(chunk))
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('engage_participationevent', 'id'), "
            "(SELECT max(id) FROM engage_participationevent))"
        )
    return first


def vacuum_analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("CHECKPOINT")


# --- Measuring ----------------------------------------------------------------------------------------


def time_fold(*, batch_size: int | None = None) -> dict[str, Any]:
    """Fold everything there is in this process, timed. Returns events, seconds, events/s."""
    from engage.phase import rollups

    size = batch_size or rollups.DEFAULT_BATCH_SIZE
    started = time.perf_counter()
    folded = rollups.rollups_fold(batch_size=size, time_budget_seconds=3600)  # one run: until a batch is short
    seconds = time.perf_counter() - started
    return {
        "events": folded,
        "seconds": round(seconds, 2),
        "events_per_second": round(folded / seconds) if seconds else 0,
        "batch_size": size,
    }


def recount_matches() -> dict[str, Any]:
    """The rollups against a recount of the whole log in SQL (day in settings.TIME_ZONE)."""
    from django.conf import settings
    from django.db import connection

    from engage.phase.definitions import PARTICIPATION_KINDS

    zone = settings.TIME_ZONE
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM ("
            " SELECT (occurred_at AT TIME ZONE %s)::date AS day, coalesce(department_id, 0) AS dk, kind, count(*) AS n"
            " FROM engage_participationevent GROUP BY 1, 2, 3"
            " EXCEPT SELECT day, department_key, kind, count FROM engage_dailyrollup) AS missing",
            [zone],
        )
        daily_missing = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM ("
            " SELECT day, department_key, kind, count FROM engage_dailyrollup"
            " EXCEPT SELECT (occurred_at AT TIME ZONE %s)::date, coalesce(department_id, 0), kind, count(*)"
            " FROM engage_participationevent GROUP BY 1, 2, 3) AS extra",
            [zone],
        )
        daily_extra = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM ("
            " (SELECT actor_id, (occurred_at AT TIME ZONE %s)::date, count(*) FROM engage_participationevent"
            "  WHERE actor_id IS NOT NULL AND kind = ANY(%s) GROUP BY 1, 2"
            "  EXCEPT SELECT person_id, day, events FROM engage_personday)"
            " UNION ALL"
            " (SELECT person_id, day, events FROM engage_personday"
            "  EXCEPT SELECT actor_id, (occurred_at AT TIME ZONE %s)::date, count(*) FROM engage_participationevent"
            "  WHERE actor_id IS NOT NULL AND kind = ANY(%s) GROUP BY 1, 2)) AS differ",
            [zone, sorted(PARTICIPATION_KINDS), zone, sorted(PARTICIPATION_KINDS)],
        )
        people_differ = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM engage_participationevent WHERE folded_at IS NULL")
        unfolded = cursor.fetchone()[0]
    return {
        "matches": daily_missing == 0 and daily_extra == 0 and people_differ == 0 and unfolded == 0,
        "daily_rows_differing": daily_missing + daily_extra,
        "person_days_differing": people_differ,
        "unfolded": unfolded,
    }


def table_facts() -> dict[str, Any]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_index WHERE indrelid = 'engage_participationevent'::regclass")
        indexes = cursor.fetchone()[0]
        cursor.execute(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'engage_participationevent'"
        )
        updated, hot = cursor.fetchone()
        cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('engage_participationevent'))")
        size = cursor.fetchone()[0]
    return {"indexes": indexes, "updates": updated, "hot_updates": hot, "table_size": size}


def run(*, events: int, history: int, people: int, batch_size: int | None) -> dict[str, Any]:
    started = time.monotonic()
    cast = seed_people(people=people)
    if history:
        seed_events(count=history, cast=cast, end=datetime.now(UTC) - timedelta(days=1))
        vacuum_analyze()
        time_fold(batch_size=batch_size)
    seed_events(count=events, cast=cast)
    vacuum_analyze()
    seeded = time.monotonic() - started
    before = table_facts()
    figures = time_fold(batch_size=batch_size)
    after = table_facts()
    check = recount_matches()
    return {
        **figures,
        "history": history,
        "people": people,
        "seeded_seconds": round(seeded, 1),
        "target": TARGET_EVENTS_PER_SECOND,
        "met": figures["events_per_second"] >= TARGET_EVENTS_PER_SECOND and check["matches"],
        "hot_updates": after["hot_updates"] - before["hot_updates"],
        "updates": after["updates"] - before["updates"],
        "indexes": after["indexes"],
        "table_size": after["table_size"],
        "recount": check,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="The participation rollups' speed (QUALITY.md)")
    parser.add_argument("--events", type=int, default=1_000_000, help="new events to fold, timed (default 1,000,000)")
    parser.add_argument("--history", type=int, default=0, help="events folded before the clock starts (default 0)")
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=None, help="default: the job's own")
    parser.add_argument("--keep", action="store_true", help=f"keep the {DATABASE} database")
    parser.add_argument("--json", action="store_true", help="print one line of JSON")
    args = parser.parse_args()
    url = infra.database_url(DATABASE)
    infra.recreate_database(url)
    configure(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    try:
        result = run(events=args.events, history=args.history, people=args.people, batch_size=args.batch_size)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            infra.drop_database(url)
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"folded {result['events']:,} events in {result['seconds']} s: {result['events_per_second']:,} events/s "
        f"(target {TARGET_EVENTS_PER_SECOND:,}; batch {result['batch_size']:,}; {result['history']:,} events before; "
        f"{result['updates']:,} updates, {result['hot_updates']:,} HOT; {result['indexes']} indexes; "
        f"table {result['table_size']}); recount {'matches' if result['recount']['matches'] else 'DIFFERS'} "
        f"{result['recount']}; seeded in {result['seeded_seconds']} s"
    )


if __name__ == "__main__":
    main()
