"""Redis stopped (its own redis-server, killed) while webhooks keep coming: nothing lost.

A web process on the test database whose broker is the test's own Redis answers a
webhook while Redis works (its routing job published), then Redis is killed: that job is
gone with it (no persistence), and the next webhooks answer at once with their jobs
kept in the outbox. Redis comes back empty on the same port; the relay publishes the
kept jobs, a real worker routes them, and the sweep for queries left unrouted routes the
one whose job died with Redis.
"""

from __future__ import annotations

import pytest
import redis

from config.models import OutboxJob
from engage.models import Query
from tests.faults.conftest import WEB_PREAMBLE, OwnRedis, web_process
from tests.platform.procs import Worker, wait_for

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

WEB = (
    WEB_PREAMBLE
    + """
print(json.dumps({"warm": webhook(0)}), flush=True)
sys.stdin.readline()  # the broker is stopped now
print(json.dumps({"stopped": [webhook(n) for n in range(1, 9)]}), flush=True)
sys.stdin.readline()  # the broker is back, empty
from config import jobs
time.sleep(jobs.RELAY_GRACE.total_seconds() + jobs.PUBLISH_BREAKER_SECONDS)
print(json.dumps({"relayed": jobs.relay_outbox()}), flush=True)
sys.stdin.readline()  # the relayed jobs have run: the beat's sweep for queries unrouted over a minute, now
from datetime import timedelta
print(json.dumps({"swept": services.unrouted_queries_route(older_than=timedelta(0))}), flush=True)
"""
)


def test_webhooks_while_redis_is_stopped_lose_nothing(
    fault_env: dict[str, str], own_redis: OwnRedis, workers: list[Worker]
) -> None:
    with web_process(fault_env, own_redis, WEB) as web:
        web.warm()
        assert redis.Redis.from_url(own_redis.url).llen("celery") == 1

        own_redis.kill()  # stopped: its one queued job is gone with it
        web.tell("go")
        stopped = web.answer("stopped")
        assert [status for status, _ in stopped] == [201] * 8
        print("webhook seconds while Redis was stopped:", [seconds for _, seconds in stopped])
        assert max(seconds for _, seconds in stopped) < 1.0
        assert OutboxJob.objects.filter(task_name="engage.route_query", dead_at__isnull=True).count() == 8

        own_redis.start()  # back on the same port, empty
        web.tell("back")
        assert web.answer("relayed") == 8
        assert not OutboxJob.objects.exists(), "every kept job reached the broker"

        workers.append(Worker({**fault_env, "REDIS_URL": own_redis.url}).start())
        wait_for(
            lambda: Query.objects.filter(routed_at__isnull=False).count() == 8,
            timeout=30,
            what="the worker to route the eight relayed jobs",
        )
        (lost,) = Query.objects.filter(routed_at__isnull=True)
        assert lost.external_id == "ext-0", "only the job that was inside Redis when it stopped"
        web.tell("sweep")
        assert web.answer("swept") == 1
        wait_for(
            lambda: not Query.objects.filter(routed_at__isnull=True).exists(),
            timeout=30,
            what="the swept query to be routed",
        )
        assert Query.objects.count() == 9
