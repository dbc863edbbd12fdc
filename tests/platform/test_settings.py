"""Settings come from the environment and fail loudly on values they cannot use.

Each case starts a fresh interpreter, since settings are read once, at start-up.
"""

from __future__ import annotations

import secrets

import pytest

from tests.platform.procs import clean_env, run_manage, run_python

LOAD = "import django; django.setup(); print('loaded')"


def production_env(tmp_path, **overrides: str) -> dict[str, str]:
    """What a production deployment sets: DEBUG off, a secret, its host name and a mailer."""
    production = {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "engage.example.com",
        "EMAIL_URL": "smtp://engage:pw@mail.internal:587/?tls=True",
    }
    return clean_env(tmp_path, **{**production, **overrides})


def test_good_values_load(tmp_path) -> None:
    env = production_env(
        tmp_path,
        TIME_ZONE="Europe/Amsterdam",
        DATABASE_URL="postgres://engage:pw@db.internal:5432/engage",
        REDIS_URL="redis://cache.internal:6379/0",
        EMAIL_URL="smtp://mailer:pw@mail.internal:587/?tls=True",
        LOG_LEVEL="warning",
        SECURE_SSL_REDIRECT="off",
        ENGAGE_TOKEN_TTL_DAYS="7",
    )
    result = run_python(LOAD, env)
    assert result.returncode == 0, result.stderr
    assert "loaded" in result.stdout


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DEBUG", "maybe"),
        ("DATABASE_URL", "nosuchdb://db.internal/engage"),
        ("TIME_ZONE", "Mars/Olympus_Mons"),
        ("REDIS_URL", "http://127.0.0.1:6379/0"),
        ("ALLOWED_HOSTS", "engage.example.com,,"),
        ("SECURE_SSL_REDIRECT", "sometimes"),
        ("EMAIL_URL", "pigeon://loft.internal"),
        ("LOG_LEVEL", "LOUD"),
        ("ENGAGE_TOKEN_TTL_DAYS", "thirty"),
        ("ENGAGE_TOKEN_TTL_DAYS", "0"),
        ("ENGAGE_CELERY_VISIBILITY_TIMEOUT", "0"),
        ("ENGAGE_CREDENTIALS_KEY", "not-a-fernet-key"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(tmp_path, variable: str, value: str) -> None:
    result = run_python(LOAD, production_env(tmp_path, **{variable: value}))
    assert result.returncode != 0
    assert "loaded" not in result.stdout
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured:"), result.stderr
    assert variable in last_line


def test_production_without_a_secret_key_does_not_start(tmp_path) -> None:
    env = production_env(tmp_path)
    del env["SECRET_KEY"]
    result = run_python(LOAD, env)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured:")
    assert "SECRET_KEY" in last_line
    assert not (tmp_path / "secret_key").exists(), "production never invents a key"


def test_check_deploy_passes_with_no_warnings_in_production(tmp_path) -> None:
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=production_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_migration_check_runs_without_a_secret_but_serving_commands_do_not(tmp_path) -> None:
    env = production_env(tmp_path)
    del env["SECRET_KEY"]
    offline = run_manage("makemigrations", "--check", "--dry-run", env=env)
    assert offline.returncode == 0, offline.stderr
    assert "No changes detected" in offline.stdout
    serving = run_manage("check", "--deploy", env=env)
    assert serving.returncode != 0
    assert "SECRET_KEY is required" in serving.stderr


SITE_URL = "from django.conf import settings; print(settings.ENGAGE_SITE_URL)"


def test_the_site_url_follows_the_port_make_run_serves_on(tmp_path) -> None:
    """`make run PORT=8123` passes PORT on: share links, mail links and the digest follow it."""
    result = run_python(SITE_URL, clean_env(tmp_path, DEBUG="1", PORT="8123"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "http://127.0.0.1:8123"

    default = run_python(SITE_URL, clean_env(tmp_path, DEBUG="1"))
    assert default.stdout.strip() == "http://127.0.0.1:8000"

    explicit = run_python(
        SITE_URL, clean_env(tmp_path, DEBUG="1", PORT="8123", ENGAGE_SITE_URL="https://engage.example.com/")
    )
    assert explicit.stdout.strip() == "https://engage.example.com"

    bad = run_python(SITE_URL, clean_env(tmp_path, DEBUG="1", PORT="eighty"))
    assert bad.returncode != 0
    assert "PORT='eighty' is not a whole number" in bad.stderr
