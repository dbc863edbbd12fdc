"""The benchmark's steps for the phase engine (QUALITY.md: participation rollups and the
executive dashboard API), run by ``bench.run`` against its database with the server's
settings, one step per process; each prints one line of JSON.

- ``grow --to N``: ``COPY`` events into the participation log until it holds N, by the
  seeded people (their department at the time), in time order over the last 180 days;
- ``fold``: the rollup job (:func:`engage.phase.rollups.rollups_fold`) in this one process,
  one worker and one connection, timed until nothing is left; then ``VACUUM ANALYZE`` of
  the log, as autovacuum would do after so many updates (not timed, so that it does not
  run during the measurements that follow);
- ``backfill --days D``: the daily snapshots of today and the D days before it;
- ``executive``: an executive with a bearer token, for the load generator;
- ``profile --token T``: the SQL statements of one request of each dashboard path.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import django

HISTORY_DAYS = 180
PATHS = (
    ("phase", "executive dashboard: `GET /api/v1/phase/`", "/api/v1/phase/"),
    ("history", "executive dashboard: `GET /api/v1/phase/history/`", "/api/v1/phase/history/"),
)


def grow(*, to: int) -> dict[str, Any]:
    from django.db import connection

    from accounts.models import User
    from bench.rollup_speed import seed_events

    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM engage_participationevent")
        before = cursor.fetchone()[0]
    cast = list(User.objects.filter(department__isnull=False).values_list("id", "department_id"))
    added = max(0, to - before)
    if added:
        seed_events(count=added, cast=cast, days=HISTORY_DAYS)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE engage_participationevent")
    return {"before": before, "added": added, "events": before + added, "seconds": round(time.monotonic() - started, 1)}


def fold() -> dict[str, Any]:
    from django.db import connection

    from bench.rollup_speed import recount_matches, time_fold

    figures = time_fold()
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE engage_participationevent")
        cursor.execute("VACUUM ANALYZE engage_dailyrollup")
        cursor.execute("VACUUM ANALYZE engage_personday")
    figures["vacuum_seconds"] = round(time.monotonic() - started, 1)
    figures["recount"] = recount_matches()
    return figures


def backfill(*, days: int) -> dict[str, Any]:
    from engage.models import PhaseSnapshot
    from engage.phase import services

    started = time.monotonic()
    computed = services.phase_backfill(days=days)
    return {
        "days": computed,
        "snapshots": PhaseSnapshot.objects.count(),
        "seconds": round(time.monotonic() - started, 1),
    }


def executive() -> dict[str, Any]:
    from accounts import services
    from accounts.models import Department, Role, RoleName, User

    user = User.objects.filter(email="executive@bench.engage").first()
    if user is None:
        user = User.objects.create(
            email="executive@bench.engage", name="Bench executive", department=Department.objects.order_by("id").first()
        )
        user.set_unusable_password()
        user.save(update_fields=["password"])
        user.roles.add(Role.objects.get(slug=RoleName.EXECUTIVE))
    return {"token": services.token_create(user=user).token}


def profile(*, token: str) -> dict[str, Any]:
    """The SQL of one request of each dashboard path (as ``bench.profile`` counts the others')."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench.profile import _summary

    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {token}")
    result: dict[str, Any] = {}
    for name, label, path in PATHS:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path)
        statements = [_summary(q["sql"]) for q in captured.captured_queries]
        result[name] = {"label": label, "status": response.status_code, "statements": len(statements),
                        "summary": statements, "bytes": len(response.content)}  # fmt: skip
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    steps = parser.add_subparsers(dest="step", required=True)
    steps.add_parser("grow").add_argument("--to", type=int, required=True)
    steps.add_parser("fold")
    steps.add_parser("backfill").add_argument("--days", type=int, default=HISTORY_DAYS)
    steps.add_parser("executive")
    steps.add_parser("profile").add_argument("--token", required=True)
    args = parser.parse_args()
    django.setup()
    if args.step == "grow":
        result = grow(to=args.to)
    elif args.step == "fold":
        result = fold()
    elif args.step == "backfill":
        result = backfill(days=args.days)
    elif args.step == "profile":
        result = profile(token=args.token)
    else:
        result = executive()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
