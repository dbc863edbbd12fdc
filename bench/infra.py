"""The benchmark's infrastructure: its own database and Redis db, production settings, the server.

Shared by ``bench.run`` and ``bench.rollup_speed``. ``BENCH_DATABASE_URL`` names a PostgreSQL
*server* (README: "at ``BENCH_DATABASE_URL``'s server"); any database named in its path is
ignored. The benchmark only ever creates and drops the databases it owns
(:data:`OWN_DATABASES`), and refuses any other name, so a user pointing the variable at their
own database cannot lose it.
"""

from __future__ import annotations

import http.client
import os
import platform
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
HOST = "127.0.0.1"
LOOPBACK = (HOST, "localhost", "::1")
# ``BENCH_DATABASE_NAME`` may give the benchmark a database of its own beside another run on the
# same server (``engage_bench_<suffix>``, letters, digits and underscores): still only ever one
# whose name says it is the benchmark's, so the refusal below still holds.
BENCH_DATABASE = os.environ.get("BENCH_DATABASE_NAME", "engage_bench")
if not re.fullmatch(r"engage_bench(_[a-z0-9_]+)?", BENCH_DATABASE):
    raise SystemExit(f"bench: BENCH_DATABASE_NAME must be engage_bench or engage_bench_<suffix>: {BENCH_DATABASE!r}")
ROLLUP_DATABASE = "engage_rollbench"
LIVE_DATABASE = "engage_livebench"  # bench.live_queue
OWN_DATABASES = frozenset({BENCH_DATABASE, ROLLUP_DATABASE, LIVE_DATABASE})
BENCH_REDIS_DB = 13


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


class Deadline:
    def __init__(self, seconds: int) -> None:
        self.until = time.monotonic() + seconds

    def check(self, what: str) -> None:
        if time.monotonic() > self.until:
            raise SystemExit(f"bench: out of time before {what}; stopping")


# --- Databases -----------------------------------------------------------------------------------


def database_url(name: str) -> str:
    """The address of database ``name`` on ``BENCH_DATABASE_URL``'s server (default: loopback)."""
    server = os.environ.get("BENCH_DATABASE_URL", f"postgres://postgres@{HOST}:5432/postgres")
    parts = urlsplit(server)
    if parts.hostname not in LOOPBACK:
        raise SystemExit("bench: the database server must be on loopback")
    return parts._replace(path=f"/{name}").geturl()


def _own_name(url: str) -> str:
    name = urlsplit(url).path.lstrip("/")
    if name not in OWN_DATABASES:
        raise SystemExit(
            f"bench: refusing to create or drop {name!r}: only the benchmark's own databases "
            f"({', '.join(sorted(OWN_DATABASES))}) are ever recreated or dropped"
        )
    return name


def _admin(url: str) -> str:
    return urlsplit(url)._replace(path="/postgres").geturl()


def recreate_database(url: str) -> None:
    """Drop and create one of :data:`OWN_DATABASES`; any other name is refused."""
    import psycopg

    name = _own_name(url)
    with psycopg.connect(_admin(url), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    """Drop one of :data:`OWN_DATABASES`; any other name is refused."""
    import psycopg

    name = _own_name(url)
    with psycopg.connect(_admin(url), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def settle_database(url: str) -> None:
    """``VACUUM ANALYZE`` and a checkpoint after the bulk load, as a DBA would: otherwise
    autovacuum takes up the freshly copied tables during the first measurements, and the
    load's dirty pages are written out by a checkpoint in the middle of them."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")


def redis_url() -> str:
    url = os.environ.get("BENCH_REDIS_URL", f"redis://{HOST}:6379/{BENCH_REDIS_DB}")
    if urlsplit(url).hostname not in LOOPBACK:
        raise SystemExit("bench: Redis must be on loopback")
    return url


def flush_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


# --- Production settings --------------------------------------------------------------------------


def production_env(db_url: str, redis: str | None = None, *, var_prefix: str = "engage-bench-var-") -> dict[str, str]:
    """This process's environment minus the project's own variables, plus production settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "ENGAGE_", "DATABASE", "REDIS"))
    }
    env.update(
        {
            "DATABASE_URL": db_url,
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ENGAGE_VAR_DIR": tempfile.mkdtemp(prefix=var_prefix),
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }
    )
    if redis:
        env["REDIS_URL"] = redis
    return env


def server_env(db_url: str, redis: str) -> dict[str, str]:
    """What gunicorn (and the helpers run against the bench database) get: production, plus Q1."""
    env = production_env(db_url, redis)
    env.update({"SECURE_SSL_REDIRECT": "0", "ALLOWED_HOSTS": f"{HOST},localhost", "ENGAGE_BENCH": "1"})
    return env


def configure_here(db_url: str) -> None:
    """Production settings for *this* process, against ``db_url``, then ``django.setup()``."""
    env = production_env(db_url, var_prefix="engage-rollbench-var-")
    os.environ.clear()
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# --- Processes ----------------------------------------------------------------------------------


def run(command: list[str], env: dict[str, str], *, timeout: int) -> str:
    result = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"bench: {' '.join(command[:4])} failed")
    return result.stdout


def start_server(env: dict[str, str], port: int, workers: int) -> subprocess.Popen[bytes]:
    gunicorn = str(Path(PYTHON).with_name("gunicorn"))
    command = [gunicorn, "config.wsgi", "--bind", f"{HOST}:{port}", "--workers", str(workers),
               "--worker-class", "sync", "--backlog", "2048", "--log-level", "warning"]  # fmt: skip
    log_file = open(Path(env["ENGAGE_VAR_DIR"]) / "server.log", "ab")  # noqa: SIM115 (lives as long as the server)
    server = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True, stdout=log_file, stderr=log_file)
    for _ in range(100):
        time.sleep(0.2)
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            pass
        if server.poll() is not None:
            break
    stop_server(server)
    raise SystemExit("bench: the server did not start")


def cpu_seconds(server_pid: int) -> tuple[float, float]:
    """CPU seconds used so far (user and system, from ``/proc``) by the server's workers (the
    children of gunicorn's master) and by all of PostgreSQL's processes on this machine."""
    ticks = os.sysconf("SC_CLK_TCK")
    workers = postgres = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:  # the process ended meanwhile
            continue
        command, rest = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()
        used = int(rest[11]) + int(rest[12])  # utime, stime
        if int(rest[1]) == server_pid:
            workers += used
        elif command.startswith("postgres"):
            postgres += used
    return workers / ticks, postgres / ticks


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


def machine() -> dict[str, str]:
    import psycopg

    memory = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    with psycopg.connect(database_url("postgres")) as connection:
        row = connection.execute("SHOW server_version").fetchone()
        commit = connection.execute("SHOW synchronous_commit").fetchone()
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split("[")[0].strip()
    return {
        "cores": str(os.cpu_count()),
        "cpu": cpu,
        "memory": memory,
        "python": platform.python_version(),
        "postgresql": row[0] if row else "?",
        "synchronous_commit": commit[0] if commit else "?",
        "os": platform.platform(),
        "wrk": wrk_version,
    }
