from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.test import Client

from tests.platform.procs import clean_env, run_python

pytestmark = pytest.mark.django_db


def test_healthz_answers_while_the_process_runs(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_answers_200_when_the_database_answers(client: Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["database"] is True
    assert response.json()["failed"] == []


def test_readyz_checks_the_broker_when_one_is_configured(client: Client) -> None:
    if not settings.REDIS_URL:
        pytest.skip("needs Redis (REDIS_URL)")
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": True, "broker": True}


def test_readyz_answers_503_naming_the_broker_when_it_does_not_answer(client: Client, settings) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["broker"]
    assert response.json()["checks"]["database"] is True


def test_readyz_web_is_ready_for_traffic_while_the_broker_does_not_answer(client: Client, settings) -> None:
    """The load balancer's probe: a Redis outage must not take the web tier out of service."""
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    assert client.get("/readyz").status_code == 503, "the full report still names the broker"
    response = client.get("/readyz/web")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": True}, "failed": []}


def test_readyz_answers_503_naming_the_database_when_it_does_not_answer(tmp_path) -> None:
    # A process whose database is unreachable from the start, as after a failover.
    env = clean_env(
        tmp_path, DEBUG="1", ALLOWED_HOSTS="testserver", DATABASE_URL="postgres://postgres@127.0.0.1:1/engage"
    )
    result = run_python(
        "import django, json; django.setup()\n"
        "from django.test import Client\n"
        "response = Client().get('/readyz')\n"
        "web = Client().get('/readyz/web')\n"
        "print(json.dumps({'status': response.status_code, 'body': response.json(),"
        " 'web': [web.status_code, web.json()['failed']]}))\n",
        env,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["status"] == 503
    assert answer["body"]["failed"] == ["database"]
    assert answer["web"] == [503, ["database"]], "not ready for traffic without the database"
