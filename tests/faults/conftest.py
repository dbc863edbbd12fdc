"""The fault-injection suite: real processes started, killed, stopped and hung.

Each test starts what it breaks: its own Celery workers (SIGKILLed mid-job), its own
``redis-server`` on a free loopback port (SIGSTOPped, killed), and it terminates only
PostgreSQL backends of the test database. The shared PostgreSQL and Redis are never
touched beyond that. Run by ``make test`` where PostgreSQL and Redis answer (CI requires
them with ``ENGAGE_REQUIRE_SERVICES=1``); each test is bounded to well under a minute.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from django.conf import settings
from django.db import connection

from tests.platform.procs import BASE_DIR, Worker, clean_env, database_url, wait_for

QUEUES = ("celery",)

# The start of a web process's script for the broker fault tests: Django on the test
# database (its broker the test's own Redis), a channel, and webhook(n), which posts a
# signed webhook and answers [status, seconds]. Each test appends its own steps.
WEB_PREAMBLE = """
import django, json, sys, time
django.setup()
from django.test import Client
from engage import services, signing
channel, secret = services.channel_create(slug="forum", name="Forum", kind="forum")
client = Client()
def webhook(n):
    body = json.dumps({"external_id": f"ext-{n}", "text": "refund please", "author": {"handle": "@c"}}).encode()
    stamp = str(int(time.time()))
    started = time.monotonic()
    response = client.post(f"/api/v1/channels/{channel.slug}/webhook/", data=body, content_type="application/json",
        headers={"X-Engage-Timestamp": stamp, "X-Engage-Signature": "v1=" + signing.signature(secret, stamp, body)})
    return [response.status_code, round(time.monotonic() - started, 3)]
"""


def purge_queues(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        for queue in QUEUES:
            client.delete(queue, *client.scan_iter(match=f"{queue}\x06\x16*"))
        client.delete("unacked", "unacked_index", "unacked_mutex")
    finally:
        client.close()


@pytest.fixture
def fault_env(django_db_setup: None, tmp_path: Path) -> dict[str, str]:
    """A worker's environment: the *test* database, the test Redis db, emptied queues."""
    purge_queues(settings.REDIS_URL)
    return clean_env(
        tmp_path / "var",
        DATABASE_URL=database_url(connection.settings_dict),
        REDIS_URL=settings.REDIS_URL,
        ENGAGE_TESTING="1",
    )


@pytest.fixture
def workers(fault_env: dict[str, str]) -> Iterator[list[Worker]]:
    """Workers a test starts (``workers.append(Worker(...).start())``); all stopped after it."""
    started: list[Worker] = []
    yield started
    for worker in started:
        worker.stop()


def database_dsn() -> str:
    settings_dict = connection.settings_dict
    return psycopg.conninfo.make_conninfo(
        dbname=settings_dict["NAME"],
        user=settings_dict.get("USER") or None,
        password=settings_dict.get("PASSWORD") or None,
        host=settings_dict.get("HOST") or None,
        port=settings_dict.get("PORT") or None,
        application_name="engage-faults",
    )


def terminate_backends(where: str = "true") -> int:
    """Terminate backends of the test database only (never another database's), but ours."""
    with psycopg.connect(database_dsn(), autocommit=True) as admin:
        sql = (
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND application_name <> 'engage-faults' AND "
        )
        rows = admin.execute(sql + where).fetchall()  # ``where``: a fixed fragment of the tests
    return sum(1 for (ok,) in rows if ok)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OwnRedis:
    """A ``redis-server`` of the test's own on a free loopback port: stop, hang, kill it."""

    def __init__(self, tmp: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            if os.environ.get("ENGAGE_REQUIRE_SERVICES") == "1":
                pytest.fail("redis-server is required (ENGAGE_REQUIRE_SERVICES=1)")
            pytest.skip("needs redis-server (apt-get install redis-server)")
        self.binary = binary
        self.tmp = tmp
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.start()

    def start(self) -> None:
        """Start (again, after ``kill``) on the same port: an empty server, as a restarted
        Redis without persistence is."""
        self.process = subprocess.Popen(
            [
                self.binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.tmp),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._answers, timeout=10, what="its own redis-server")

    def _answers(self) -> bool:
        try:
            return bool(redis.Redis.from_url(self.url, socket_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def hang(self) -> None:
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path)
    yield server
    server.kill()


def elapsed(start: float) -> float:
    return time.monotonic() - start


class WebProcess:
    """A broker fault test's web process, running its script: each step is a line the test
    writes to it and the JSON line it answers with."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        assert process.stdin is not None
        assert process.stdout is not None
        self.process, self.stdin, self.stdout = process, process.stdin, process.stdout

    def tell(self, word: str) -> None:
        self.stdin.write(f"{word}\n")
        self.stdin.flush()

    def answer(self, key: str) -> Any:
        return json.loads(self.stdout.readline())[key]

    def warm(self) -> None:
        """Its first webhook, while the broker answers: created (or the process's errors)."""
        warm = self.answer("warm")
        assert warm[0] == 201, self.process.stderr.read() if self.process.poll() is not None else warm


@contextmanager
def web_process(fault_env: dict[str, str], own_redis: OwnRedis, script: str, *args: str) -> Iterator[WebProcess]:
    """``script`` (:data:`WEB_PREAMBLE` and its steps) in a process on the test database whose
    broker is the test's own Redis, publishing the webhook's job at commit; killed after."""
    env = {**fault_env, "REDIS_URL": own_redis.url, "DEBUG": "1", "ALLOWED_HOSTS": "testserver"}
    env["ENGAGE_HOT_JOBS_BY_RELAY"] = "0"  # published at commit while the broker answers
    process = subprocess.Popen(
        [sys.executable, "-c", script, *args],
        cwd=BASE_DIR,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield WebProcess(process)
    finally:
        process.kill()
        process.wait(timeout=10)
