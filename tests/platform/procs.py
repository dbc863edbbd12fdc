"""Helpers for tests that run Engage in other processes: fresh interpreters with their own
environment (settings are read once, at start-up) and real Celery workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))

# Variables that change what the settings do: a subprocess starts with none of them.
_SETTINGS_VARIABLES = {
    "DATABASE_URL",
    "PORT",
    "REDIS_URL",
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "SECURE_SSL_REDIRECT",
    "TIME_ZONE",
    "EMAIL_URL",
    "DEFAULT_FROM_EMAIL",
    "CSRF_TRUSTED_ORIGINS",
    "LOG_LEVEL",
    "MEDIA_ROOT",
}


def clean_env(var_dir: Path, **overrides: str) -> dict[str, str]:
    """The environment of a fresh Engage process: nothing inherited that settings read."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in _SETTINGS_VARIABLES and not key.startswith(("ENGAGE_", "DJANGO_", "CELERY_"))
    }
    env.update(DJANGO_SETTINGS_MODULE="config.settings", ENGAGE_VAR_DIR=str(var_dir), PYTHONUNBUFFERED="1")
    env.update(overrides)
    return env


def run_python(code: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=timeout
    )


def run_manage(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=timeout
    )


def database_url(settings_dict: dict[str, object]) -> str:
    """A DATABASE_URL for the database a Django connection points at (the test database)."""
    user = quote(str(settings_dict.get("USER") or ""), safe="")
    password = quote(str(settings_dict.get("PASSWORD") or ""), safe="")
    host = str(settings_dict.get("HOST") or "")
    port = str(settings_dict.get("PORT") or "")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    address = quote(host, safe="") if host.startswith("/") else host
    return f"postgres://{credentials}{address}{':' + port if port else ''}/{settings_dict['NAME']}"


def wait_for[T](probe: Callable[[], T], *, timeout: float = 30, interval: float = 0.1, what: str = "it") -> T:
    """Poll ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting {timeout:.0f} s for {what}")
        time.sleep(interval)


class Worker:
    """A real ``celery -A config worker`` in its own process, with its log kept for asserts."""

    def __init__(self, env: dict[str, str], *, pool: str = "solo", queues: str = "celery", include: str = "") -> None:
        self.env = env
        self.command = [
            CELERY,
            "-A",
            "config",
            "worker",
            "-P",
            pool,
            "-c",
            "1",
            "-Q",
            queues,
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "--loglevel",
            "INFO",
        ]
        if include:
            self.command += ["--include", include]
        self.process: subprocess.Popen[str] | None = None
        self.lines: list[str] = []

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def start(self, timeout: float = 60) -> Worker:
        self.process = subprocess.Popen(
            self.command,
            cwd=BASE_DIR,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, args=(self.process,), daemon=True).start()
        deadline = time.monotonic() + timeout
        while " ready." not in self.log:
            if self.process.poll() is not None:
                raise RuntimeError(f"the Celery worker exited with {self.process.returncode}:\n{self.log}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the Celery worker was not ready within {timeout} s:\n{self.log}")
            time.sleep(0.05)
        return self

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.lines.append(line)

    def kill(self) -> None:
        """SIGKILL: the worker dies at once, mid-job, acknowledging nothing."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()
