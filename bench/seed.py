"""Seed the benchmark's scale data into its own PostgreSQL database, fast.

``python -m bench.seed --out DIR`` (run by ``bench.run`` with the bench database's
settings): tens of thousands of people sharing ONE precomputed password hash, bearer
tokens for the ones the load generator plays, responders with a valid certification,
and 100,000 queries, written with ``COPY``. What the load generator needs (tokens, ids,
the channel's secret) goes to ``DIR/fixture.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import django

PEOPLE = 30_000
SUPPORT_PEOPLE = 16_000
CLAIMERS = 12_000  # people whose tokens make the claims (at most a few claims each)
RESPONDERS = 3_000  # certified: their answers are published at once
CONTENDERS = 320  # ten groups of 32 claim the same queries at the same moment
READERS = 50  # read the queue
QUERIES = 100_000
SUPPORT_QUERIES = 80_000
SUPPORT_OPEN = 72_000
PRECLAIMED = 30_000  # held by responders, for the answer path
CONTENDED = 100
Q1_SAMPLE = 20_000

TEXTS = (
    "I was charged twice for my subscription this month, can someone help?",
    "My order hasn't arrived and the tracking number doesn't work.",
    "I'm locked out of my account after the password reset email never came.",
    "Is the app down? Dashboard has been not loading for 20 minutes.",
    "Your webhook sends the same event three times. Is that expected?",
    "What does the enterprise plan cost for 200 seats?",
)
PRIORITIES = (("normal", 0.65, 24), ("high", 0.2, 4), ("low", 0.1, 72), ("urgent", 0.05, 1))


def _token(rng: random.Random) -> tuple[str, str]:
    raw = f"{rng.getrandbits(256):064x}"
    return raw, hashlib.sha256(raw.encode()).hexdigest()


def _copy(cursor: Any, table: str, columns: list[str], rows: Any) -> int:
    count = 0
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def seed(out: Path) -> dict[str, Any]:
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.models import Department, Role, RoleName, Topic
    from engage import services
    from training.models import Course

    rng = random.Random(20261127)
    now = timezone.now()
    started = time.monotonic()
    with transaction.atomic():
        Role.objects.bulk_create(
            [Role(slug=slug, name=RoleName(slug).label) for slug in RoleName.values], ignore_conflicts=True
        )
        employee_role = Role.objects.get(slug=RoleName.EMPLOYEE).pk
        departments = [
            Department.objects.create(slug="support", name="Support", kind="customer_service", customer_facing=True)
        ]
        for n in range(1, 10):
            departments.append(
                Department.objects.create(slug=f"dept-{n}", name=f"Department {n}", kind="other", customer_facing=n < 4)
            )
        for department in departments:
            Topic.objects.create(
                slug=f"topic-{department.slug}", name=department.name, keywords=[department.slug], department=department
            )
        channel, secret = services.channel_create(slug="bench", name="Bench channel", kind="forum")
        course = Course.objects.create(
            title="Responding (bench)",
            status="published",
            certification_name="Responder",
            certification_grants="responder",
            certification_valid_days=365,
            published_at=now,
        )

        password = make_password("bench-password-not-used")  # hashed once for everyone
        raw = connection.cursor().cursor  # psycopg's own cursor, for COPY
        users: list[tuple[Any, ...]] = []
        for i in range(1, PEOPLE + 1):
            department = departments[0] if i <= SUPPORT_PEOPLE else departments[1 + i % 9]
            users.append(
                (i, password, None, f"p{i}@bench.engage", f"Person {i}", department.pk, True, now - timedelta(days=400),
                 None, None, "{}", "")
            )  # fmt: skip
        _copy(
            raw,
            "accounts_user",
            ["id", "password", "last_login", "email", "name", "department_id", "is_active", "date_joined",
             "deactivated_at", "erased_at", "notification_prefs", "external_id"],
            users,
        )  # fmt: skip
        _copy(raw, "accounts_user_roles", ["user_id", "role_id"], ((i, employee_role) for i in range(1, PEOPLE + 1)))

        # Support people 1..SUPPORT_PEOPLE play the load: claimers, responders, contenders, readers.
        claimers = list(range(1, CLAIMERS + 1))
        responders = list(range(CLAIMERS + 1, CLAIMERS + RESPONDERS + 1))
        contenders = list(range(CLAIMERS + RESPONDERS + 1, CLAIMERS + RESPONDERS + CONTENDERS + 1))
        readers = list(range(contenders[-1] + 1, contenders[-1] + READERS + 1))
        tokens: dict[int, str] = {}
        token_rows = []
        for user_id in [*claimers, *responders, *contenders, *readers]:
            token, digest = _token(rng)
            tokens[user_id] = token
            token_rows.append((user_id, digest, token[:8], now, now + timedelta(days=30)))
        _copy(raw, "accounts_apitoken", ["user_id", "key_hash", "prefix", "created_at", "expires_at"], token_rows)
        _copy(
            raw,
            "training_certification",
            ["user_id", "course_id", "name", "grants", "issued_at", "expires_at", "renewal"],
            ((user_id, course.pk, "Responder", "responder", now - timedelta(days=10), now + timedelta(days=355), False)
             for user_id in responders),
        )  # fmt: skip

        # 100,000 queries: 80,000 for Support (72,000 open), the rest spread and mostly done.
        priorities = [p for p, _w, _h in PRIORITIES]
        weights = [w for _p, w, _h in PRIORITIES]
        hours = {p: h for p, _w, h in PRIORITIES}
        rows = []
        open_support: list[tuple[datetime, int]] = []
        for i in range(1, QUERIES + 1):
            support = i <= SUPPORT_QUERIES
            department = departments[0] if support else departments[1 + i % 9]
            priority = rng.choices(priorities, weights)[0]
            received = now - timedelta(minutes=rng.uniform(1, 180 * 24 * 60))
            due = received + timedelta(hours=hours[priority])
            is_open = i <= SUPPORT_OPEN if support else rng.random() < 0.15
            state, reason, answered, closed = "open", "", None, None
            if not is_open:
                if rng.random() < 0.8:
                    state, answered = "answered", received + timedelta(hours=rng.uniform(0.2, 30))
                else:
                    state, reason, closed = "closed", rng.choice(("spam", "duplicate", "no_action")), received
            if support and is_open:
                open_support.append((due, i))
            rows.append(
                [i, channel.pk, f"b-{i}", rng.choice(TEXTS), f"@customer{i % 5000}", "", "", None, priority,
                 department.pk, received, received, due, state, None, None, None, answered, reason, closed, None,
                 None, None, None, "", None, 1, ""]
            )  # fmt: skip
        # The queue's head (earliest due) stays free for the list; the middle is claimed; the
        # tail is held by responders, for answers.
        open_support.sort()
        tail = [i for _due, i in open_support[-PRECLAIMED:]]
        middle = [i for _due, i in open_support[len(open_support) // 10 : -PRECLAIMED]]
        rng.shuffle(middle)
        contended, claim_ids = middle[:CONTENDED], middle[CONTENDED:]
        holders = {}
        for n, query_id in enumerate(tail):
            holders[query_id] = responders[n % len(responders)]
            row = rows[query_id - 1]
            row[14], row[15], row[16] = holders[query_id], now, now + timedelta(hours=3)
        _copy(
            raw,
            "engage_query",
            ["id", "channel_id", "external_id", "text", "author_handle", "author_name", "url", "sender_created_at",
             "priority", "department_id", "routed_at", "received_at", "sla_due_at", "state", "claimed_by_id",
             "claimed_at", "claimed_until", "answered_at", "close_reason", "closed_at", "closed_by_id",
             "escalated_at", "escalated_by_id", "escalated_from_id", "escalation_note", "sla_breached_at", "turn",
             "latest_external_id"],
            rows,
        )  # fmt: skip
        # Each query's thread starts with its own text (as the conversations migration made them).
        _copy(
            raw,
            "engage_customermessage",
            ["query_id", "channel_id", "external_id", "text", "author_handle", "author_name", "url",
             "sender_created_at", "received_at", "turn"],
            ((r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[11], 1) for r in rows),
        )  # fmt: skip
        with connection.cursor() as cursor:
            for table in ("accounts_user", "engage_query"):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")  # noqa: S608 (fixed names)

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    answer_pairs = [(tokens[holders[q]], q) for q in tail]
    rng.shuffle(answer_pairs)
    fixture = {
        "seconds": round(time.monotonic() - started, 1),
        "people": PEOPLE,
        "queries": QUERIES,
        "department": "support",
        "channel": {"slug": channel.slug, "secret": secret},
        "claimers": [tokens[u] for u in claimers],
        "claim_ids": claim_ids,
        "answer_pairs": answer_pairs,
        "contenders": [tokens[u] for u in contenders],
        "contended_ids": contended,
        "readers": [tokens[u] for u in readers],
        "q1_ids": rng.sample(range(1, QUERIES + 1), Q1_SAMPLE),
    }
    (out / "fixture.json").write_text(json.dumps(fixture))
    return fixture


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    django.setup()
    fixture = seed(args.out)
    print(f"seeded {fixture['people']} people and {fixture['queries']} queries in {fixture['seconds']} s")


if __name__ == "__main__":
    main()
