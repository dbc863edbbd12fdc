"""What the live queue costs the server: ``python -m bench.live_queue`` (not part of ``make bench``).

The queue page polls ``/queries/live/`` every 2.5 s with the ETag of the page it shows
(``engage.queue_feed``). This measures, on the benchmark's data (``bench.seed``: 30,000
people, 100,000 queries) behind gunicorn with production settings:

1. each kind of poll on its own, in rounds interleaved with Q1 as ``make bench`` does: the
   usual one (nothing changed: ``304`` from the cache), the same read from the database, one
   where one row changed (that row's HTML) and one that needs the whole page (50 rows' HTML);
2. the department queue API and the claim path (``make bench``'s paths and targets) first
   alone, then again while a few hundred people sit on the queue page (``--people`` of
   them, each polling every ``--pause-ms`` as the page's script does, ``bench/pollers.py``).

It owns its database (``engage_livebench`` on ``BENCH_DATABASE_URL``'s server, recreated and
dropped) and sends traffic only to loopback. Figures go to stdout; README and the note of
issue 13 quote them.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import infra, load
from bench.infra import HOST, LIVE_DATABASE, PYTHON, ROOT, log
from bench.load import Target, request_line
from bench.run import _claim, _queue


def _sessions(env: dict[str, str], count: int) -> list[tuple[str, str]]:
    """Signed-in sessions for ``count`` people of the support department (the server's own
    secret), each with the signed token its queue page's feed address would carry."""
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.http import QueryDict
    from django.test import RequestFactory

    from accounts.models import User
    from engage import queue_feed, views

    keys = []
    for user in User.objects.filter(department__slug="support", is_active=True).order_by("pk")[:count]:
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        assert session.session_key is not None
        request = RequestFactory().get("/queries/")
        request.COOKIES["sessionid"] = session.session_key
        scope = views._feed_scope(user, views._queue_filters(QueryDict("status=open"), user), None)
        keys.append((session.session_key, queue_feed.feed_token(request, scope)))
    return keys


def _get(port: int, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    return response.status, dict(response.getheaders()), response.read()


def _pollers(lines: list[str], *, port: int, people: int, pause_ms: int, seconds: int, work: Path) -> Any:
    """``people`` people polling every ``pause_ms`` as browsers do (``bench.pollers``: a
    connection per poll, opened when it is due; wrk's connections wait out the pause open,
    which holds the sync workers, see there)."""
    requests_file = work / "pollers.requests"
    requests_file.write_text("\n".join(lines) + "\n")
    command = [PYTHON, "-m", "bench.pollers", str(requests_file), str(people), str(pause_ms), str(seconds), HOST,
               str(port)]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _figures(process: Any) -> dict[str, Any]:
    out, err = process.communicate(timeout=600)
    for line in out.splitlines():
        if line.startswith("BENCH "):
            return dict(json.loads(line[len("BENCH ") :]))
    raise SystemExit(f"bench: the pollers gave no figures:\n{out}\n{err}")


def _server_cpu_seconds(master_pid: int) -> float:
    """CPU time (user + system) used so far by gunicorn's master and its workers."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry.name), int(fields[1])
        if pid == master_pid or ppid == master_pid:
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _cpu_per_request(
    lines: list[str], *, server: Any, port: int, seconds: int, work: Path, name: str
) -> dict[str, Any]:
    """The server's CPU per request of ``lines`` (16 connections): steadier than requests/s on
    a shared machine, since other processes' load slows the request but does not add to it."""
    before = _server_cpu_seconds(server.pid)
    figures = load.wrk(lines, port=port, seconds=seconds, work=work, name=name)
    used = _server_cpu_seconds(server.pid) - before
    return {
        "requests": figures["requests"],
        "server_cpu_s": round(used, 2),
        "cpu_ms_per_request": round(1000 * used / max(1, figures["requests"]), 2),
        "statuses": figures["statuses"],
    }


def _row(measured: load.Measure) -> dict[str, Any]:
    return {
        "path": measured.label,
        "rps": round(measured.rps),
        "p50_ms": round(measured.p50_ms, 1),
        "p95_ms": round(measured.p95_ms, 1),
        "p99_ms": round(measured.p99_ms, 1),
        "q1_rps": round(measured.q1_rps),
        "ratio_to_q1": round(measured.rps / measured.q1_rps, 2) if measured.q1_rps else None,
        "p99_over_q1": round(measured.p99_ms / measured.q1_p99_ms, 2) if measured.q1_p99_ms else None,
        "statuses": measured.statuses,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8790)
    parser.add_argument("--people", type=int, default=300, help="people on the queue page (default 300)")
    parser.add_argument("--pause-ms", type=int, default=2500, help="the page's poll interval (default 2500)")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    db_url = infra.database_url(LIVE_DATABASE)
    redis_url = os.environ.get("LIVE_BENCH_REDIS_URL", infra.redis_url())
    env = infra.server_env(db_url, redis_url)
    work = Path(tempfile.mkdtemp(prefix="engage-livebench-"))
    infra.recreate_database(db_url)
    infra.run([PYTHON, "manage.py", "migrate", "--noinput"], env, timeout=300)
    infra.run([PYTHON, "-m", "bench.seed", "--out", str(work)], env, timeout=400)
    fixture = json.loads((work / "fixture.json").read_text())
    log(f"seeded {fixture['people']} people, {fixture['queries']} queries")
    sessions = _sessions(env, args.people)
    workers = 2 * (os.cpu_count() or 1) + 1
    server = infra.start_server(env, args.port, workers)
    log(f"gunicorn up with {workers} sync workers; {len(sessions)} signed-in people")
    results: dict[str, Any] = {"people": args.people, "pause_ms": args.pause_ms, "workers": workers}
    try:
        feed = "/queries/live/?status=open"
        cookie = {"Cookie": f"sessionid={sessions[0][0]}"}
        status, headers, body = _get(args.port, feed, {**cookie, "If-None-Match": '"stale"'})
        assert status == 200, (status, body[:300])
        etag, rows = headers["ETag"], json.loads(body)["rows"]
        results["page_rows"] = len(rows)
        assert _get(args.port, feed, {**cookie, "If-None-Match": etag})[0] == 304
        one_changed = feed + "".join(f"&have={pk}.{sig}" for pk, sig in rows[1:])

        def polls(path: str, tag: str, *, token: bool = False) -> list[str]:
            return [
                request_line(
                    "GET",
                    f"{path}&t={signed}" if token else path,
                    {"Cookie": f"sessionid={key}", "If-None-Match": tag},
                )
                for key, signed in sessions
            ]

        q1_lines = [request_line("GET", f"/bench/q1/{pk}/") for pk in fixture["q1_ids"]]
        common = {"q1_lines": q1_lines, "port": args.port, "seconds": args.seconds, "rounds": args.rounds,
                  "work": work}  # fmt: skip
        alone = {
            "poll304": ("poll, nothing changed (304 from the cache)", polls(feed, etag, token=True)),
            "poll304db": ("poll, nothing changed (304, read from the database)", polls(feed, etag)),
            "poll1": ("poll, one row changed (its HTML)", polls(one_changed, '"stale"')),
            "poll50": ("poll, whole page changed (50 rows' HTML)", polls(feed, '"stale"')),
        }
        results["cpu"] = {
            "q1": _cpu_per_request(q1_lines, server=server, port=args.port, seconds=8, work=work, name="cpu-q1"),
            "poll304": _cpu_per_request(
                polls(feed, etag, token=True), server=server, port=args.port, seconds=8, work=work, name="cpu-poll"
            ),
            "poll304db": _cpu_per_request(
                polls(feed, etag), server=server, port=args.port, seconds=8, work=work, name="cpu-polldb"
            ),
            "queue_api": _cpu_per_request(
                _queue(fixture, args.rounds), server=server, port=args.port, seconds=8, work=work, name="cpu-queue"
            ),
        }
        for key, figures in results["cpu"].items():
            log(f"CPU per request, {key}: {figures['cpu_ms_per_request']} ms ({figures['statuses']})")
        results["alone"] = [
            _row(load.measure(name, label, lines, **common)[0]) for name, (label, lines) in alone.items()
        ]
        paths = {
            "queue": ("department queue API, 50 a page", _queue(fixture, args.rounds), Target(ratio=0.5), False),
            "claim": ("claim a query", _claim(fixture, args.rounds), Target(ratio=0.6, p99_ratio=2), True),
        }
        for label, pollers in (("without_pollers", False), ("with_pollers", True)):
            process = None
            if pollers:
                span = len(paths) * (2 * load.WARMUP_SECONDS + 2 * args.rounds * args.seconds) + 15
                process = _pollers(polls(feed, etag, token=True), port=args.port, people=args.people,
                                   pause_ms=args.pause_ms, seconds=span, work=work)  # fmt: skip
                time.sleep(5)  # every connection open and polling
            measured = []
            for name, (path_label, lines, target, consumes) in paths.items():
                if consumes:  # the second pass claims other queries than the first
                    half = len(lines) // 2
                    lines = lines[half:] if pollers else lines[:half]
                result, _q1 = load.measure(
                    f"{name}-{label}", path_label, lines, target=target, consumes=consumes, **common
                )
                measured.append(_row(result))
            results[label] = measured
            if process is not None:
                figures = _figures(process)
                seconds = figures["duration_us"] / 1e6
                results["pollers"] = {
                    "requests": figures["requests"],
                    "rps": round(figures["requests"] / seconds),
                    "p50_ms": round(figures["p50_us"] / 1000, 1),
                    "p95_ms": round(figures["p95_us"] / 1000, 1),
                    "p99_ms": round(figures["p99_us"] / 1000, 1),
                    "statuses": figures["statuses"],
                    "errors": figures["errors"],
                }
    finally:
        infra.stop_server(server)
        infra.drop_database(db_url)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
