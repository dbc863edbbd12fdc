"""Fuzz the served API against its own OpenAPI schema with schemathesis (``make fuzz``).

A database of its own (``<DATABASE_URL's name>_fuzz``, made afresh, migrated, the demo
company loaded; SQLite in a temporary folder without ``DATABASE_URL``), the embedded
server (``manage.py serve``) on a free loopback port, then schemathesis twice against
``/api/v1/schema/``: once as an admin and once as an employee, each with a bearer token
of its own. Every response must not be a server error and must conform to the schema
(body, status code and content type). Excluded are only the operations that end the
fuzzer's own access: revoking its token, deactivating or erasing a person.

Reproducible and bounded, so CI (``.ci/run``) can require it: deterministic generation
(the same cases on every run; no example database carried between runs);
``FUZZ_MAX_EXAMPLES`` per operation (default 5) and ``FUZZ_MAX_TIME`` seconds per role
(default 150). The two roles run side by side against one server. Prints, per role, the
operations tested and the requests the server answered; exits non-zero on any failure.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
ROLES = ("admin", "employee")
PY = sys.executable
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"
# Operations that end the fuzzer's own access (API.md: revocation, deactivation, erasure).
EXCLUDE = [
    "--exclude-operation-id",
    "auth_token_destroy",
    "--exclude-operation-id",
    "users_deactivate_create",
    "--exclude-operation-id",
    "users_erase_create",
]
TOKENS = """
from accounts.models import Department, RoleName
from accounts.services import token_create, user_create
department = Department.objects.order_by("id").first()
for role in ("admin", "employee"):
    roles = [RoleName.ADMIN] if role == "admin" else []
    user = user_create(email=f"fuzz-{role}@example.com", name=f"Fuzz {role}", password=None,
                       department=department, roles=roles)
    print(role, token_create(user=user).token)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _environment(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}  # embedded jobs
    env.update(DEBUG="1", ENGAGE_VAR_DIR=str(tmp), PYTHONUNBUFFERED="1")
    base = os.environ.get("DATABASE_URL")
    if base:
        parts = urlsplit(base)
        env["DATABASE_URL"] = urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}_fuzz"))
        env["FUZZ_ADMIN_DATABASE_URL"] = urlunsplit(parts._replace(path="/postgres"))
    return env


def _recreate_postgres_database(env: dict[str, str]) -> None:
    """Drop and create the fuzzer's own database (its name always ends in ``_fuzz``)."""
    import psycopg

    name = urlsplit(env["DATABASE_URL"]).path.lstrip("/")
    assert name.endswith("_fuzz"), name
    with psycopg.connect(env["FUZZ_ADMIN_DATABASE_URL"], autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return done.stdout


def _wait(port: int, server: subprocess.Popen[bytes]) -> None:
    for _ in range(120):
        if server.poll() is not None:
            raise SystemExit(f"the server stopped (exit {server.returncode})")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"the server did not listen on port {port}")


def _fuzz(role: str, token: str, schema_url: str, log: Path) -> subprocess.Popen[bytes]:
    command = [
        str(Path(PY).parent / "schemathesis"),
        "run",
        schema_url,
        "--checks",
        CHECKS,
        "--header",
        f"Authorization: Bearer {token}",
        "--max-examples",
        os.environ.get("FUZZ_MAX_EXAMPLES", "5"),
        "--max-time",
        os.environ.get("FUZZ_MAX_TIME", "150"),
        "--phases",
        "examples,coverage,fuzzing",
        "--workers",
        "1",
        "--generation-deterministic",
        "--suppress-health-check",
        "all",
        "--request-timeout",
        "30",
        "--no-color",
        *EXCLUDE,
    ]
    return subprocess.Popen(command, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def _requests(server_log: Path) -> int:
    """Requests the server answered under ``/api/`` (one log line each)."""
    text = server_log.read_text(errors="replace")
    return len(re.findall(r'^\[[^]]+\] "[A-Z]+ /api/', text, flags=re.MULTILINE))


def _summary(text: str) -> str:
    selected = re.search(r"Selected: (\d+)/", text)
    tested = re.search(r"Tested: (\d+)", text)
    cases = re.search(r"(\d+) generated", text)
    summary = (
        f"{tested.group(1) if tested else '?'} of {selected.group(1) if selected else '?'} operations,"
        f" {cases.group(1) if cases else '?'} test cases"
    )
    if selected and tested and tested.group(1) != selected.group(1):
        summary += " (FUZZ_MAX_TIME ran out before every operation was tried: a loaded machine)"
    return summary


def main() -> int:
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="engage-fuzz-") as tmp_name:
        tmp = Path(tmp_name)
        env = _environment(tmp)
        if "DATABASE_URL" in env:
            _recreate_postgres_database(env)
        _manage(env, "migrate", "--noinput")
        _manage(env, "seed_demo")
        tokens = dict(line.split(" ", 1) for line in _manage(env, "shell", "-c", TOKENS).split("\n") if line)
        port = _free_port()
        server_log = tmp / "server.log"
        with server_log.open("wb") as sink:
            server = subprocess.Popen(
                [PY, "manage.py", "serve", f"127.0.0.1:{port}"], cwd=ROOT, env=env, stdout=sink, stderr=sink
            )
        started = time.monotonic()
        try:
            schema_url = f"http://127.0.0.1:{port}/api/v1/schema/?format=json"
            _wait(port, server)
            before = _requests(server_log)
            runs = {role: _fuzz(role, tokens[role], schema_url, tmp / f"{role}.log") for role in ROLES}
            codes = {role: run.wait() for role, run in runs.items()}
        finally:
            server.terminate()
            server.wait(timeout=30)
        served = _requests(server_log) - before
        for role in ROLES:
            text = (tmp / f"{role}.log").read_text(errors="replace")
            print(f"\n==> schemathesis as {role}\n{text}", flush=True)
        for role in ROLES:
            text = (tmp / f"{role}.log").read_text(errors="replace")
            print(f"schemathesis as {role}: {_summary(text)}, exit {codes[role]}")
        print(
            f"the server answered {served} API requests in {time.monotonic() - started:.0f} s"
            f" (after {started - began:.0f} s making the database)"
        )
    failed = [role for role in ROLES if codes[role]]
    print("schemathesis: " + ("failures as " + ", ".join(failed) if failed else "no failures"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
