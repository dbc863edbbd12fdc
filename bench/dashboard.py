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
- ``profile --token T --cookie C``: the SQL statements of one request of each dashboard path;
- ``pages --tokens T1,T2``: sessions (``Cookie`` headers) of those people, and open queries of
  their department, for the query page.
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
    ("page", "executive dashboard page (HTML): `GET /dashboard/`", "/dashboard/"),
)
PAGES = frozenset({"page"})  # signed in with a session cookie, not a bearer token; no target of QUALITY.md


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
    return {"token": services.token_create(user=user).token, "cookie": session_cookie(user)}


def session_cookie(user: Any) -> str:
    """A signed-in browser's ``Cookie`` header for ``user``: a session as ``login`` stores it."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    if settings.SESSION_ENGINE != "django.contrib.sessions.backends.db":
        raise SystemExit(f"bench: sessions are made in the database, not by {settings.SESSION_ENGINE}")
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


def pages(*, tokens: list[str]) -> dict[str, Any]:
    """For the query page: a session for each person holding one of ``tokens`` (the queue's
    readers), and open queries of their department that they may see."""
    from accounts.authentication import token_lookup
    from accounts.models import User
    from engage.models import Query

    found = [token_lookup(token) for token in tokens]
    people = list(User.objects.filter(pk__in=[token.user_id for token in found if token is not None]).order_by("pk"))
    department = people[0].department_id
    ids = list(
        Query.objects.filter(department_id=department, state="open")
        .order_by("sla_due_at")
        .values_list("pk", flat=True)[:200]
    )
    return {"cookies": [session_cookie(person) for person in people], "query_ids": ids}


def profile(*, token: str, cookie: str) -> dict[str, Any]:
    """The SQL of one request of each dashboard path (as ``bench.profile`` counts the others')."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench.profile import _summary

    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {token}")
    result: dict[str, Any] = {}
    for name, label, path in PATHS:
        extra = {"HTTP_COOKIE": cookie} if name in PAGES else {}
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path, **extra)
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
    profiling = steps.add_parser("profile")
    profiling.add_argument("--token", required=True)
    profiling.add_argument("--cookie", required=True)
    steps.add_parser("pages").add_argument("--tokens", required=True, help="comma-separated")
    args = parser.parse_args()
    django.setup()
    if args.step == "grow":
        result = grow(to=args.to)
    elif args.step == "fold":
        result = fold()
    elif args.step == "backfill":
        result = backfill(days=args.days)
    elif args.step == "profile":
        result = profile(token=args.token, cookie=args.cookie)
    elif args.step == "pages":
        result = pages(tokens=args.tokens.split(","))
    else:
        result = executive()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
