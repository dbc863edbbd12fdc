"""Count the SQL statements of one request of each benchmarked path.

``python -m bench.profile --fixture DIR/fixture.json`` (run by ``bench.run`` after the load,
with the bench database's settings): one request each through Django's test client,
statements captured with ``CaptureQueriesContext``; prints JSON.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path
from typing import Any

import django


def _summary(sql: str) -> str:
    sql = sql.strip()
    verb = sql.split(None, 1)[0].upper() if sql else "?"
    if verb in ("SAVEPOINT", "RELEASE", "ROLLBACK"):
        return verb
    match = re.search(r'(?:FROM|INTO|UPDATE)\s+"([a-z_]+)"', sql)
    table = match.group(1) if match else "?"
    joins = re.findall(r'JOIN\s+"([a-z_]+)"', sql)
    lock = " FOR UPDATE" if "FOR UPDATE" in sql.upper() else ""
    return f"{verb} {table}" + (f" (+{', '.join(joins)})" if joins else "") + lock


def profile(fixture: dict[str, Any], paths: set[str] | None = None) -> dict[str, Any]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from engage import signing
    from engage.models import Query

    client = Client(HTTP_HOST="127.0.0.1")
    now = timezone.now()
    reader = fixture["readers"][0]
    free = (
        Query.objects.filter(department__slug=fixture["department"], state="open", claimed_by__isnull=True)
        .order_by("-sla_due_at")
        .values_list("pk", flat=True)
        .first()
    )
    held = set(
        Query.objects.filter(
            pk__in=[qid for _token, qid in fixture["answer_pairs"]], state="open", claimed_until__gt=now
        ).values_list("pk", flat=True)
    )
    token, answerable = next((t, q) for t, q in fixture["answer_pairs"] if q in held)
    slug, secret = fixture["channel"]["slug"], fixture["channel"]["secret"]
    body = json.dumps(
        {"external_id": f"profile-{time.time()}", "text": "Where is my order?", "author": {"handle": "@p"}}
    ).encode()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {reader}"}
    requests = {
        "b": ("B: `/healthz`", lambda: client.get("/healthz")),
        "q1": ("Q1: one row by id", lambda: client.get(f"/bench/q1/{fixture['q1_ids'][0]}/")),
        "floor": (
            "authenticated floor",
            lambda: client.get(f"/bench/floor/{fixture['q1_ids'][0]}/", **auth),
        ),
        "claim": ("claim a query", lambda: client.post(f"/api/v1/queries/{free}/claim/", **auth)),
        "queue": (
            "department queue, 50 a page",
            lambda: client.get(f"/api/v1/queries/?department={fixture['department']}&status=open&page_size=50", **auth),
        ),
        "answer": (
            "publish an answer",
            lambda: client.post(
                f"/api/v1/queries/{answerable}/answers/",
                data=json.dumps({"body": "Thanks! Your **refund** is on its way."}),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {token}",
            ),
        ),
        "page": (
            "query page (HTML, signed in)",
            lambda: client.get(
                f"/queries/{fixture['page']['query_ids'][0]}/", HTTP_COOKIE=fixture["page"]["cookies"][0]
            ),
        ),
        "webhook": (
            "inbound webhook (signed)",
            lambda: client.post(
                f"/api/v1/channels/{slug}/webhook/",
                data=body,
                content_type="application/json",
                **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in signing.sign(secret, body).items()},
            ),
        ),
    }
    result: dict[str, Any] = {}
    for name, (label, call) in requests.items():
        if (paths is not None and name not in paths) or (name == "page" and "page" not in fixture):
            continue
        with CaptureQueriesContext(connection) as captured:
            response = call()
        statements = [_summary(q["sql"]) for q in captured.captured_queries]
        result[name] = {
            "label": label,
            "status": response.status_code,
            "statements": len(statements),
            "summary": statements,
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fixture", required=True, type=Path)
    parser.add_argument("--paths", help="comma-separated names (default: all)")
    args = parser.parse_args()
    django.setup()
    paths = set(args.paths.split(",")) if args.paths else None
    print(json.dumps(profile(json.loads(args.fixture.read_text()), paths)))


if __name__ == "__main__":
    main()
