"""Load and its statistics: wrk request files, rounds interleaved with Q1, medians, double claims.

``measure`` is the unit of the benchmark: a warm-up, then ``rounds`` times Q1 for ``seconds``
followed by the path for ``seconds``; a path's ratio is to the Q1 of its own rounds (the
machine is shared and its load drifts).
"""

from __future__ import annotations

import http.client
import json
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.infra import HOST, PYTHON, Deadline, log, run

WARMUP_SECONDS = 3
CONNECTIONS = 16
CONTENDING = 32


@dataclass
class Target:
    ratio: float | None = None  # requests/s at least this times Q1's
    p99_ratio: float | None = None  # p99 at most this times Q1's p99


@dataclass
class Measure:
    name: str
    label: str
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    statuses: dict[str, int]
    errors: dict[str, int]
    target: Target = field(default_factory=Target)
    # Q1 measured in the rounds interleaved with this path's (the machine is shared: load drifts).
    q1_rps: float = 0.0
    q1_p99_ms: float = 0.0
    # CPU per request in the server over the rounds (microseconds): gunicorn's workers, PostgreSQL.
    cpu_us: tuple[float, float] | None = None
    q1_cpu_us: tuple[float, float] | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


# --- Load ---------------------------------------------------------------------------------------------


def request_line(method: str, path: str, headers: dict[str, str] | None = None, body: str | None = None) -> str:
    header_text = " | ".join(f"{name}: {value}" for name, value in (headers or {}).items()) or "-"
    return f"{method}\t{path}\t{header_text}\t{body or '-'}"


def wrk(lines: list[str], *, port: int, seconds: int, work: Path, name: str, threads: int = 2) -> dict[str, Any]:
    requests_file = work / f"{name}.requests"
    requests_file.write_text("\n".join(lines) + "\n")
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{CONNECTIONS}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(Path(__file__).with_name("load.lua")),
        f"http://{HOST}:{port}",
        "--",
        str(requests_file),
        str(threads),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    for line in result.stdout.splitlines():
        if line.startswith("BENCH "):
            return json.loads(line[len("BENCH ") :])
    raise SystemExit(f"bench: wrk gave no figures for {name}:\n{result.stdout}\n{result.stderr}")


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _combine(name: str, label: str, rounds: list[dict[str, Any]], target: Target | None) -> Measure:
    statuses: dict[str, int] = {}
    errors: dict[str, int] = {}
    for figures in rounds:
        for key, value in figures["statuses"].items():
            statuses[key] = statuses.get(key, 0) + value
        for key, value in figures["errors"].items():
            errors[key] = errors.get(key, 0) + value
    return Measure(
        name=name,
        label=label,
        requests=sum(f["requests"] for f in rounds),
        seconds=sum(f["duration_us"] for f in rounds) / 1e6,
        p50_ms=_median([f["p50_us"] / 1000 for f in rounds]),
        p95_ms=_median([f["p95_us"] / 1000 for f in rounds]),
        p99_ms=_median([f["p99_us"] / 1000 for f in rounds]),
        statuses=statuses,
        errors=errors,
        target=target or Target(),
    )


def measure(
    name: str,
    label: str,
    lines: list[str],
    *,
    q1_lines: list[str],
    port: int,
    seconds: int,
    rounds: int,
    work: Path,
    target: Target | None = None,
    consumes: bool = False,
    cpu: Callable[[], tuple[float, float]] | None = None,
) -> tuple[Measure, Measure]:
    """Warm up, then ``rounds`` times: Q1 for ``seconds``, then the path for ``seconds``.

    Lines that change state (``consumes``: a claim, an answer, a new query) are split so that
    no round sends a line another sent. ``cpu`` (:func:`bench.infra.cpu_seconds` of the server)
    is read around each round, for the CPU each request cost the server and PostgreSQL.
    """
    chunks = [lines] * (rounds + 1)
    if consumes:
        size = len(lines) // (rounds + 1)
        chunks = [lines[i * size : (i + 1) * size] for i in range(rounds + 1)]
    wrk(q1_lines, port=port, seconds=WARMUP_SECONDS, work=work, name=f"{name}-q1-warm")
    wrk(chunks[0], port=port, seconds=WARMUP_SECONDS, work=work, name=f"{name}-warm")
    q1_rounds: list[dict[str, Any]] = []
    path_rounds: list[dict[str, Any]] = []
    used = {"q1": [0.0, 0.0], "path": [0.0, 0.0]}

    def timed(kind: str, round_lines: list[str], round_name: str) -> dict[str, Any]:
        before = cpu() if cpu else (0.0, 0.0)
        figures = wrk(round_lines, port=port, seconds=seconds, work=work, name=round_name)
        after = cpu() if cpu else (0.0, 0.0)
        used[kind] = [total + a - b for total, a, b in zip(used[kind], after, before, strict=True)]
        return figures

    for n in range(rounds):
        q1_rounds.append(timed("q1", q1_lines, f"{name}-q1-{n}"))
        path_rounds.append(timed("path", chunks[n + 1], f"{name}-{n}"))
    q1 = _combine("q1", "Q1", q1_rounds, None)
    result = _combine(name, label, path_rounds, target)
    result.q1_rps, result.q1_p99_ms = q1.rps, q1.p99_ms
    if cpu:
        for measured, kind in ((q1, "q1"), (result, "path")):
            if measured.requests:
                workers, postgres = used[kind]
                measured.cpu_us = (workers / measured.requests * 1e6, postgres / measured.requests * 1e6)
        result.q1_cpu_us = q1.cpu_us
    log(
        f"{label}: {result.rps:,.0f} requests/s (Q1 alongside {q1.rps:,.0f}), p50 {result.p50_ms:.1f} ms, "
        f"p95 {result.p95_ms:.1f} ms, p99 {result.p99_ms:.1f} ms (Q1's {q1.p99_ms:.1f}), statuses {result.statuses}"
    )
    return result, q1


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def webhook_lines(fixture: dict[str, Any], *, count: int, prefix: str) -> list[str]:
    from engage import signing

    slug, secret = fixture["channel"]["slug"], fixture["channel"]["secret"]
    stamp = str(int(time.time()))
    lines = []
    for n in range(count):
        body = json.dumps(
            {
                "external_id": f"{prefix}-{n}",
                "text": "My order hasn't arrived and the tracking number doesn't work.",
                "author": {"handle": f"@customer{n % 977}", "name": "A customer"},
                "priority": "normal",
            },
            separators=(",", ":"),
        )
        headers = {
            signing.TIMESTAMP_HEADER: stamp,
            signing.SIGNATURE_HEADER: f"v1={signing.signature(secret, stamp, body.encode())}",
        }
        lines.append(request_line("POST", f"/api/v1/channels/{slug}/webhook/", headers, body))
    return lines


# --- Double claims ------------------------------------------------------------------------------------


def contend(fixture: dict[str, Any], *, port: int) -> dict[str, Any]:
    """For each contended query, 32 people claim it at the same instant (a barrier)."""
    tokens: list[str] = fixture["contenders"]
    groups = [tokens[i : i + CONTENDING] for i in range(0, len(tokens), CONTENDING)]
    outcomes: dict[int, list[int]] = {}
    lock = threading.Lock()
    for round_number, query_id in enumerate(fixture["contended_ids"]):
        group = groups[round_number % len(groups)]
        barrier = threading.Barrier(len(group))

        def claim(token: str, query_id: int = query_id, barrier: threading.Barrier = barrier) -> None:
            connection = http.client.HTTPConnection(HOST, port, timeout=30)
            connection.connect()
            barrier.wait()
            connection.request("POST", f"/api/v1/queries/{query_id}/claim/", headers=bearer(token))
            status = connection.getresponse().status
            connection.close()
            with lock:
                outcomes.setdefault(query_id, []).append(status)

        workers = [threading.Thread(target=claim, args=(token,)) for token in group]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    winners = {query_id: statuses.count(200) for query_id, statuses in outcomes.items()}
    return {
        "queries": len(outcomes),
        "claimers": CONTENDING,
        "responses": sum(len(s) for s in outcomes.values()),
        "one_winner": sum(1 for n in winners.values() if n == 1),
        "double": sum(1 for n in winners.values() if n > 1),
        "none": sum(1 for n in winners.values() if n == 0),
        "other_statuses": sorted({s for statuses in outcomes.values() for s in statuses} - {200, 409}),
    }


def double_claims_in_database(db_url: str, query_ids: list[int]) -> dict[str, int]:
    """Each successful claim records one ``query_claimed`` event in its transaction; a query
    claimed twice (within the lease) would have two."""
    import psycopg

    with psycopg.connect(db_url) as connection:
        rows = connection.execute(
            "SELECT object_id, count(*) FROM engage_participationevent "
            "WHERE kind = 'query_claimed' AND object_id = ANY(%s) GROUP BY object_id",
            (query_ids,),
        ).fetchall()
        claimed_rows = connection.execute(
            "SELECT count(*) FROM engage_query WHERE id = ANY(%s) AND claimed_by_id IS NOT NULL", (query_ids,)
        ).fetchone()
        all_claims = connection.execute(
            "SELECT count(*) FROM (SELECT object_id FROM engage_participationevent WHERE kind = 'query_claimed' "
            "GROUP BY object_id HAVING count(*) > 1) AS twice"
        ).fetchone()
    counts = [n for _id, n in rows]
    return {
        "claimed": claimed_rows[0] if claimed_rows else 0,
        "events": sum(counts),
        "double": sum(1 for n in counts if n > 1),
        "double_anywhere": all_claims[0] if all_claims else 0,
    }


# --- The phase engine: rollups and the executive dashboard API (bench.dashboard) ------------------------

PHASE_STEPS = (1_000_000, 10_000_000)


def phase_engine(
    *, env: dict[str, str], steps: tuple[int, ...], common: dict[str, Any], deadline: Deadline
) -> dict[str, Any]:
    """At each size of the log: grow it, fold it (timed), backfill the snapshots, measure the API."""
    from bench import dashboard

    executive = json.loads(run([PYTHON, "-m", "bench.dashboard", "executive"], env, timeout=120))
    token, cookie = executive["token"], executive["cookie"]
    done: list[dict[str, Any]] = []
    for events in steps:
        deadline.check(f"the phase engine at {events:,} events")
        grown = json.loads(run([PYTHON, "-m", "bench.dashboard", "grow", "--to", str(events)], env, timeout=900))
        log(f"participation log: {grown['events']:,} events (+{grown['added']:,} in {grown['seconds']} s)")
        folded = json.loads(run([PYTHON, "-m", "bench.dashboard", "fold"], env, timeout=900))
        log(
            f"rollups: {folded['events']:,} events folded in {folded['seconds']} s, "
            f"{folded['events_per_second']:,} events/s; recount {folded['recount']}"
        )
        backfilled = json.loads(run([PYTHON, "-m", "bench.dashboard", "backfill"], env, timeout=900))
        log(f"snapshots: {backfilled['days']} days backfilled in {backfilled['seconds']} s")
        measured = {}
        for name, label, path in dashboard.PATHS:
            auth = {"Cookie": cookie} if name in dashboard.PAGES else bearer(token)
            measured[name] = measure(f"{name}-{events}", label, [request_line("GET", path, auth)], **common)
        done.append({"events": grown["events"], "grown": grown, "folded": folded, "backfilled": backfilled,
                     "measured": measured})  # fmt: skip
    sql = json.loads(
        run([PYTHON, "-m", "bench.dashboard", "profile", "--token", token, "--cookie", cookie], env, timeout=120)
    )
    return {"steps": done, "sql": sql}


def q1_overall(q1_rows: list[Measure]) -> Measure:
    """Q1 over all the rounds of the run."""
    return Measure(
        name="q1",
        label="Q1",
        requests=sum(m.requests for m in q1_rows),
        seconds=sum(m.seconds for m in q1_rows),
        p50_ms=_median([m.p50_ms for m in q1_rows]),
        p95_ms=_median([m.p95_ms for m in q1_rows]),
        p99_ms=_median([m.p99_ms for m in q1_rows]),
        statuses={},
        errors={},
    )
