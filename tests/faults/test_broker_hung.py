"""A hung broker (its own redis-server, SIGSTOPped) costs the web request almost nothing."""

from __future__ import annotations

import pytest
import redis

from config.models import OutboxJob
from tests.faults.conftest import WEB_PREAMBLE, OwnRedis, web_process

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

    with web_process(fault_env, own_redis, WEB, str(jobs.PUBLISH_BREAKER_SECONDS + 0.5)) as web:
        try:
            web.warm()
            queued = redis.Redis.from_url(own_redis.url)
            assert queued.llen("celery") == 1, "published while the broker answered"
            assert not OutboxJob.objects.exists()

            own_redis.hang()
            web.tell("go")
            hung = web.answer("hung")
            own_redis.resume()
            assert [status for status, _ in hung] == [201] * 12
            times = [seconds for _, seconds in hung]
            print("webhook seconds while the broker hung:", times)
            assert times[0] < 1.0, f"the first publish to a hung broker is bounded well under a second: {times}"
            assert max(times[1:]) < 0.25, f"then the breaker is open and the broker is not even tried: {times}"
            assert sum(times) < 2.0, times
            kept = list(OutboxJob.objects.filter(task_name="engage.route_query", dead_at__isnull=True))
            assert len(kept) == 12, "every job waits in the outbox for the relay"

            web.tell("back")
            back = web.answer("back")
            assert back[0] == 201
            assert back[1] < 1.0
            assert OutboxJob.objects.count() == 12, "after the breaker, publishing works again"
        finally:
            own_redis.resume()
