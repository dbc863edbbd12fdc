from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection

from tests.platform.procs import Worker, clean_env, database_url

# The queues the worker tests use; emptied before the first worker starts.
TEST_QUEUES = ("celery", "redelivery")


def _purge_queues(redis_url: str) -> None:
    """Drop messages a previous, interrupted run may have left in the test Redis db."""
    client = redis.Redis.from_url(redis_url)
    try:
        for queue in TEST_QUEUES:
            keys = [queue, *client.scan_iter(match=f"{queue}\x06\x16*")]
            client.delete(*keys)
        client.delete("unacked", "unacked_index", "unacked_mutex")
    finally:
        client.close()


@pytest.fixture(scope="session")
def worker_env(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a worker process: the *test* database and the test Redis db."""
    _purge_queues(settings.REDIS_URL)
    return clean_env(
        tmp_path_factory.mktemp("worker-var"),
        DATABASE_URL=database_url(connection.settings_dict),
        REDIS_URL=settings.REDIS_URL,
        ENGAGE_TESTING="1",
    )


@pytest.fixture(scope="session")
def celery_worker(worker_env: dict[str, str]) -> Iterator[Worker]:
    """One real Celery worker for the session, consuming the default queue."""
    worker = Worker(worker_env).start()
    yield worker
    worker.stop()


@pytest.fixture
def marker_dir(tmp_path: Path) -> Path:
    path = tmp_path / "markers"
    path.mkdir()
    return path
