"""A hung broker (its own redis-server, SIGSTOPped) costs the web request almost nothing."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import redis

from config.models import OutboxJob
from tests.faults.conftest import WEB_PREAMBLE, OwnRedis
from tests.platform.procs import BASE_DIR

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

# A web process on the test database whose broker is the test's own Redis. It answers a
# signed webhook (which queues the routing job) once while Redis works, then waits; the
# test hangs Redis and the process answers more webhooks, timing each.
WEB = (
    WEB_PREAMBLE
    + """
print(json.dumps({"warm": webhook(0)}), flush=True)
sys.stdin.readline()  # the broker hangs now
print(json.dumps({"hung": [webhook(n) for n in range(1, 13)]}), flush=True)
sys.stdin.readline()  # the broker is back
time.sleep(float(sys.argv[1]))  # the breaker lets the next publish try again
print(json.dumps({"back": webhook(13)}), flush=True)
"""
)


def test_a_hung_broker_costs_a_webhook_almost_nothing_and_the_outbox_keeps_the_job(
    fault_env: dict[str, str], own_redis: OwnRedis
) -> None:
    from config import jobs

    # The webhook's job published after commit (the hot path may leave it to the relay).
    env = {**fault_env, "REDIS_URL": own_redis.url, "DEBUG": "1", "ALLOWED_HOSTS": "testserver"}
    env["ENGAGE_HOT_JOBS_BY_RELAY"] = "0"
    web = subprocess.Popen(
        [sys.executable, "-c", WEB, str(jobs.PUBLISH_BREAKER_SECONDS + 0.5)],
        cwd=BASE_DIR,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert web.stdin is not None
    assert web.stdout is not None
    try:
        warm = json.loads(web.stdout.readline())["warm"]
        assert warm[0] == 201, web.stderr.read() if web.poll() is not None else warm
        queued = redis.Redis.from_url(own_redis.url)
        assert queued.llen("celery") == 1, "published while the broker answered"
        assert not OutboxJob.objects.exists()

        own_redis.hang()
        web.stdin.write("go\n")
        web.stdin.flush()
        hung = json.loads(web.stdout.readline())["hung"]
        own_redis.resume()
        assert [status for status, _ in hung] == [201] * 12
        times = [seconds for _, seconds in hung]
        print("webhook seconds while the broker hung:", times)
        assert times[0] < 1.0, f"the first publish to a hung broker is bounded well under a second: {times}"
        assert max(times[1:]) < 0.25, f"then the breaker is open and the broker is not even tried: {times}"
        assert sum(times) < 2.0, times
        kept = list(OutboxJob.objects.filter(task_name="engage.route_query", dead_at__isnull=True))
        assert len(kept) == 12, "every job waits in the outbox for the relay"

        web.stdin.write("back\n")
        web.stdin.flush()
        back = json.loads(web.stdout.readline())["back"]
        assert back[0] == 201
        assert back[1] < 1.0
        assert OutboxJob.objects.count() == 12, "after the breaker, publishing works again"
    finally:
        own_redis.resume()
        web.kill()
        web.wait(timeout=10)
