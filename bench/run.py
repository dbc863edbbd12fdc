"""The speed benchmark of QUALITY.md, in one command: ``make bench`` (``python -m bench.run``).

1. Makes its own PostgreSQL database (``engage_bench``, on ``BENCH_DATABASE_URL``'s server)
   and empties its own Redis database (db 13), migrates, and seeds the scale data
   (``bench.seed``: 30,000 people, 100,000 queries) — ``bench.infra``.
2. Starts gunicorn exactly as production: sync workers, 2 x cores + 1, ``DEBUG=0``, a
   generated ``SECRET_KEY``, persistent database connections, Redis as the broker (jobs go
   through the transactional outbox), plain HTTP on loopback (``SECURE_SSL_REDIRECT=0``) and
   ``ENGAGE_BENCH=1``, which mounts the Q1 view (``bench.urls``).
3. Drives it from another process with wrk, on 127.0.0.1 only (``bench.load``): the ceiling B
   (``/healthz``), a reference (Q1 behind the API's authentication), the API paths — claim,
   the department queue (50 a page), publishing an answer, the signed inbound webhook; and,
   for reference, the query page (HTML, signed in). Each is measured in rounds
   interleaved with rounds of Q1, and compared with those.
4. Counts double claims: 32 people claim the same query at the same instant, for 100
   queries; every query must have exactly one winner, in the responses and in the database.
5. The phase engine (``bench.dashboard``): grows the participation log to 1M events with
   ``COPY``, times the rollup job folding them on one worker, backfills 180 days of daily
   snapshots, and measures the executive dashboard API (and, for reference, its HTML page)
   interleaved with Q1; then the same at 10M.
6. Counts the SQL statements of one request of each path (``bench.profile``).
7. Writes ``bench/RESULTS.md`` (``bench.report``); stops the server and drops the database.

About fifteen minutes here; gives up after twenty-four. Options: ``--seconds`` (each round,
default 5), ``--rounds`` (default 3), ``--keep`` (keep the database), ``--port``,
``--skip-10m`` (the phase engine at 1M only), ``--skip-phase`` (no phase engine; its section
of the previous RESULTS.md is carried over and marked so), ``--only claim,queue`` (just those
paths, no phase engine, results printed and written to ``--results`` only if given: a change
measured in a minute). ``--only api`` means every API path; ``--only page`` the query page.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import infra, load, report
from bench.infra import HOST, PYTHON, ROOT, log
from bench.load import Measure, Target, bearer, request_line

DEADLINE_SECONDS = 24 * 60
RESULTS = Path(__file__).with_name("RESULTS.md")


@dataclass(frozen=True)
class Path_:
    """One measured path: its wrk request lines from the fixture, its target, whether it consumes them."""

    label: str
    lines: Callable[[dict[str, Any], int], list[str]]
    target: Target | None = None
    consumes: bool = False


def _floor(fixture: dict[str, Any], rounds: int) -> list[str]:
    claimers = fixture["claimers"]
    return [
        request_line("GET", f"/bench/floor/{pk}/", bearer(claimers[n % len(claimers)]))
        for n, pk in enumerate(fixture["q1_ids"])
    ]


def _queue(fixture: dict[str, Any], rounds: int) -> list[str]:
    path = f"/api/v1/queries/?department={fixture['department']}&status=open&page_size=50"
    return [request_line("GET", path, bearer(t)) for t in fixture["readers"]]


def _claim(fixture: dict[str, Any], rounds: int) -> list[str]:
    claimers = fixture["claimers"]
    return [
        request_line("POST", f"/api/v1/queries/{qid}/claim/", bearer(claimers[n % len(claimers)]))
        for n, qid in enumerate(fixture["claim_ids"])
    ]


ANSWER_BODY = json.dumps({"body": "Thanks for asking! Your **refund** is on its way: five working days."})


def _answer(fixture: dict[str, Any], rounds: int) -> list[str]:
    return [
        request_line("POST", f"/api/v1/queries/{qid}/answers/", bearer(token), ANSWER_BODY)
        for token, qid in fixture["answer_pairs"]
    ]


def _page(fixture: dict[str, Any], rounds: int) -> list[str]:
    """The query page (HTML) as the queue's readers see it, signed in (a session cookie)."""
    cookies, ids = fixture["page"]["cookies"], fixture["page"]["query_ids"]
    return [request_line("GET", f"/queries/{qid}/", {"Cookie": cookies[n % len(cookies)]}) for n, qid in enumerate(ids)]


def _webhook(fixture: dict[str, Any], rounds: int) -> list[str]:
    return load.webhook_lines(fixture, count=15_000 * (rounds + 1), prefix="delivery")


PATHS: dict[str, Path_] = {
    "b": Path_("B: `/healthz`", lambda _f, _r: [request_line("GET", "/healthz")]),
    "floor": Path_("authenticated floor: Q1 behind the API's token authentication", _floor),
    "claim": Path_("claim a query", _claim, Target(ratio=0.6, p99_ratio=2), consumes=True),
    "queue": Path_("department queue, 50 a page", _queue, Target(ratio=0.5)),
    "answer": Path_("publish an answer", _answer, Target(ratio=0.5, p99_ratio=2), consumes=True),
    "webhook": Path_("inbound webhook (signed)", _webhook, Target(ratio=0.6), consumes=True),
    # Not an API path and no target of QUALITY.md: a reference beside Q1 (issue 11's "pages").
    "page": Path_("query page (HTML, signed in): `GET /queries/<id>/`", _page),
}
API = ("b", "floor", "claim", "queue", "answer", "webhook")
ORDER = ("b", "floor", "queue", "page", "claim", "answer", "webhook")  # measured in this order


def chosen_paths(only: str | None) -> list[str]:
    if not only:
        return list(ORDER)
    wanted = {name for part in only.split(",") for name in (API if part == "api" else (part.strip(),))}
    unknown = wanted - PATHS.keys()
    if unknown:
        raise SystemExit(f"bench: no such path {', '.join(sorted(unknown))}; the paths: {', '.join(ORDER)}, api")
    return [name for name in ORDER if name in wanted]


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="The speed benchmark of QUALITY.md")
    parser.add_argument("--seconds", type=int, default=5, help="each round of a measurement (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per path, each after a round of Q1 (default 3)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--keep", action="store_true", help="keep the engage_bench database afterwards")
    parser.add_argument("--results", type=Path, default=None, help=f"where to write (default {RESULTS.name})")
    parser.add_argument("--skip-10m", action="store_true", help="the phase engine at 1M events only, not 10M")
    parser.add_argument("--skip-phase", action="store_true", help="no phase engine; carry its previous figures over")
    parser.add_argument("--only", help=f"comma-separated paths ({', '.join(ORDER)}; 'api': the API paths); no phase")
    return parser.parse_args()


def main() -> None:
    args = arguments()
    started = time.monotonic()
    deadline = infra.Deadline(DEADLINE_SECONDS)
    if shutil.which("wrk") is None:
        raise SystemExit("bench: wrk is needed (apt-get install -y wrk; make bench installs it)")
    names = chosen_paths(args.only)
    with_phase = not (args.only or args.skip_phase)
    results = args.results or (None if args.only else RESULTS)

    db_url, redis_url = infra.database_url(infra.BENCH_DATABASE), infra.redis_url()
    env = infra.server_env(db_url, redis_url)
    sys.path.insert(0, str(ROOT))
    work = Path(tempfile.mkdtemp(prefix="engage-bench-"))

    log(f"database {infra.BENCH_DATABASE}, Redis db {redis_url.rsplit('/', 1)[-1]}: recreating")
    infra.recreate_database(db_url)
    infra.flush_redis(redis_url)
    infra.run([PYTHON, "manage.py", "migrate", "--noinput"], env, timeout=300)
    # The pages name their static files through the manifest, as in production.
    infra.run([PYTHON, "manage.py", "collectstatic", "--noinput"], env, timeout=300)
    log("migrated; seeding")
    infra.run([PYTHON, "-m", "bench.seed", "--out", str(work)], env, timeout=400)
    fixture = json.loads((work / "fixture.json").read_text())
    log(f"seeded in {fixture['seconds']} s")
    infra.settle_database(db_url)
    log("vacuumed and analyzed")
    if "page" in names:
        pages = infra.run(
            [PYTHON, "-m", "bench.dashboard", "pages", "--tokens", ",".join(fixture["readers"])], env, timeout=120
        )
        fixture["page"] = json.loads(pages)
        (work / "fixture.json").write_text(json.dumps(fixture))

    workers = 2 * (os.cpu_count() or 1) + 1
    server = infra.start_server(env, args.port, workers)
    log(f"gunicorn up on {HOST}:{args.port} with {workers} sync workers")
    rows: list[Measure] = []
    q1_rows: list[Measure] = []
    claims: dict[str, Any] | None = None
    phase: dict[str, Any] | None = None
    try:
        q1_lines = [request_line("GET", f"/bench/q1/{pk}/") for pk in fixture["q1_ids"]]
        common = {"q1_lines": q1_lines, "port": args.port, "seconds": args.seconds, "rounds": args.rounds,
                  "work": work, "cpu": lambda: infra.cpu_seconds(server.pid)}  # fmt: skip
        for name in names:
            deadline.check(name)
            path = PATHS[name]
            measured, q1 = load.measure(
                name, path.label, path.lines(fixture, args.rounds), target=path.target, consumes=path.consumes,
                **common,
            )  # fmt: skip
            rows.append(measured)
            q1_rows.append(q1)
        if "claim" in names:
            deadline.check("double claims")
            contention = load.contend(fixture, port=args.port)
            log(f"double claims: {contention}")
            claims = {"contention": contention}
        if with_phase:
            steps = load.PHASE_STEPS[:1] if args.skip_10m else load.PHASE_STEPS
            phase = load.phase_engine(env=env, steps=steps, common=common, deadline=deadline)
            q1_rows += [q1 for step in phase["steps"] for _m, q1 in step["measured"].values()]
    finally:
        infra.stop_server(server)
        log("server stopped")

    if claims is not None:
        claims["database"] = load.double_claims_in_database(db_url, fixture["contended_ids"])
        claims["throughput"] = load.double_claims_in_database(db_url, fixture["claim_ids"])
        log(f"in the database: {claims['database']}, over the claim path: {claims['throughput']}")
    deadline.check("counting SQL")
    profiled = infra.run(
        [PYTHON, "-m", "bench.profile", "--fixture", str(work / "fixture.json"), "--paths", ",".join(["q1", *names])],
        env,
        timeout=120,
    )
    sql = json.loads(profiled)
    phase_lines = None
    if phase is not None:
        sql.update(phase["sql"])
        phase_lines = report.phase_section(phase)
    elif args.skip_phase and RESULTS.exists():
        phase_lines = report.carried_phase_section(RESULTS.read_text())
    text = report.results_text(
        info=infra.machine(), workers=workers, fixture=fixture, rows=rows, q1_all=load.q1_overall(q1_rows),
        claims=claims, sql=sql, seconds=args.seconds, rounds=args.rounds, notes=report.NOTES,
        took=time.monotonic() - started, phase_lines=phase_lines,
    )  # fmt: skip
    if args.keep:
        log(f"kept the database and the load files in {work}")
    else:
        infra.drop_database(db_url)
        infra.flush_redis(redis_url)
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(env["ENGAGE_VAR_DIR"], ignore_errors=True)
    if results is None:
        print(text.split("\n## SQL per request", 1)[0])
        for detail in sql.values():
            print(f"- {detail['label']} ({detail['statements']}): " + "; ".join(detail["summary"]))
    else:
        results.write_text(text)
        log(f"wrote {results} in {(time.monotonic() - started) / 60:.1f} minutes")
    if report.double_claims(claims):
        raise SystemExit("bench: DOUBLE CLAIMS")


if __name__ == "__main__":
    main()
