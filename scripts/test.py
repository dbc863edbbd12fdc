"""Run the whole test suite on the best backends this machine offers (``make test``).

PostgreSQL and Redis are used when they answer: at ``DATABASE_URL`` / ``REDIS_URL`` if
set, else at the local defaults below. What does not answer is left out and the tests
that need it are skipped, visibly: a banner says which backends are in use, before and
after the run. ``ENGAGE_REQUIRE_SERVICES=1`` (CI) turns a missing service into a failure.

Arguments are passed to pytest: ``make test ARGS="-k claim -x"``.
"""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/engage"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
PROBE_TIMEOUT = 1.0
PYTEST_NO_TESTS = 5
# The SSLRequest message: any PostgreSQL server answers it with one byte, "S" or "N".
PG_SSL_REQUEST = struct.pack("!ii", 8, 80877103)


@dataclass(frozen=True)
class Probe:
    url: str
    answered: bool
    explicit: bool  # taken from the environment rather than the local default
    detail: str


def _connect(url: str, default_port: int) -> socket.socket:
    parts = urlsplit(url)
    host = unquote(parts.hostname or "")
    if not host or host.startswith("/"):  # a Unix socket directory (libpq style)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(PROBE_TIMEOUT)
        sock.connect(f"{host or '/var/run/postgresql'}/.s.PGSQL.{parts.port or default_port}")
        return sock
    return socket.create_connection((host, parts.port or default_port), timeout=PROBE_TIMEOUT)


def probe_postgres(url: str) -> str | None:
    """None when a PostgreSQL server answers at ``url``, else why not."""
    try:
        with _connect(url, 5432) as sock:
            sock.sendall(PG_SSL_REQUEST)
            reply = sock.recv(1)
    except OSError as exc:
        return str(exc) or type(exc).__name__
    return None if reply in (b"S", b"N") else f"not PostgreSQL (answered {reply!r})"


def probe_redis(url: str) -> str | None:
    """None when a Redis server answers at ``url``, else why not."""
    try:
        if url.startswith("unix://"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(PROBE_TIMEOUT)
            sock.connect(urlsplit(url).path)
        else:
            sock = _connect(url, 6379)
        with sock:
            sock.sendall(b"PING\r\n")
            reply = sock.recv(64)
    except OSError as exc:
        return str(exc) or type(exc).__name__
    # "+PONG", or an error such as "-NOAUTH" from a server that wants the URL's password.
    return None if reply[:1] in (b"+", b"-") else f"not Redis (answered {reply[:20]!r})"


def probe(variable: str, default: str, check: Callable[[str], str | None]) -> Probe:
    explicit = bool(os.environ.get(variable))
    url = os.environ.get(variable) or default
    if variable == "DATABASE_URL" and not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        return Probe(url, True, explicit, "not PostgreSQL: used as given")
    problem = check(url)
    return Probe(url, problem is None, explicit, problem or "answered")


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url


def find_dovecot() -> str | None:
    return shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")


def banner(database: Probe, broker: Probe, chromium: str | None, dovecot: str | None = None) -> str:
    lines = ["", "=" * 78, "Engage test backends"]
    if database.answered and database.url.startswith(("postgres", "pgsql")):
        lines.append(f"  database  PostgreSQL at {redact(database.url)}")
    elif database.answered:
        lines.append(f"  database  {redact(database.url)}")
    else:
        lines.append(f"  database  SQLite: no PostgreSQL at {redact(database.url)} ({database.detail})")
        lines.append("            -> tests marked 'postgres' and 'redis' are SKIPPED")
    if broker.answered:
        lines.append(f"  broker    Redis at {redact(broker.url)} (a real Celery worker runs the 'redis' tests)")
    else:
        lines.append(f"  broker    none: no Redis at {redact(broker.url)} ({broker.detail})")
        lines.append("            -> jobs run in-process; tests marked 'redis' are SKIPPED")
    if chromium:
        lines.append(f"  browser   Chromium at {chromium}")
    else:
        lines.append("  browser   no Chromium found -> tests marked 'browser' are SKIPPED")
    if dovecot:
        lines.append(f"  mail      Dovecot at {dovecot} (the 'mailservers' tests start their own, with aiosmtpd)")
    else:
        lines.append("  mail      no Dovecot found -> tests marked 'mailservers' are SKIPPED (fail under CI)")
    lines.append("=" * 78)
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    database = probe("DATABASE_URL", DEFAULT_DATABASE_URL, probe_postgres)
    broker = probe("REDIS_URL", DEFAULT_REDIS_URL, probe_redis)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    dovecot = find_dovecot()

    env = dict(os.environ)
    env.pop("DEBUG", None)  # the suite runs the production settings, as pytest-django expects
    if database.answered:
        env["DATABASE_URL"] = database.url
    else:
        env.pop("DATABASE_URL", None)
    if broker.answered:
        env["REDIS_URL"] = broker.url
    else:
        env.pop("REDIS_URL", None)

    text = banner(database, broker, chromium, dovecot)
    print(text, flush=True)
    if os.environ.get("ENGAGE_REQUIRE_SERVICES") == "1":
        missing = [name for name, found in (("PostgreSQL", database), ("Redis", broker)) if not found.answered]
        if database.answered and not database.url.startswith(("postgres", "pgsql")):
            missing.append("PostgreSQL (DATABASE_URL is not a PostgreSQL address)")
        if missing:
            print(f"ENGAGE_REQUIRE_SERVICES=1 and {', '.join(missing)} did not answer: not running.", flush=True)
            return 1

    command = [sys.executable, "-m", "pytest", *argv]
    code = subprocess.run(command, cwd=ROOT, env=env, check=False).returncode
    used = [
        "PostgreSQL" if database.answered and database.url.startswith(("postgres", "pgsql")) else "SQLite",
        "Redis" if broker.answered else "no broker (Redis tests skipped)",
        "Chromium" if chromium else "no browser (browser tests skipped)",
        "Dovecot" if dovecot else "no Dovecot (mail server tests skipped)",
    ]
    print(f"Engage tests ran with: {', '.join(used)}", flush=True)
    if code == PYTEST_NO_TESTS:
        print("pytest collected no tests: that is a failure here.", flush=True)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
