"""While Redis is unreachable the cache answers misses, and requests keep working."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.test import Client

from config.cache import breaker

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def redis_cache(url: str) -> dict[str, dict[str, object]]:
    return {"default": {"BACKEND": "config.cache.ResilientRedisCache", "LOCATION": url}}


@pytest.fixture(autouse=True)
def _closed_breaker() -> Iterator[None]:
    breaker.down_until = 0.0
    yield
    breaker.down_until = 0.0


def test_an_unreachable_redis_gives_misses_not_errors(settings) -> None:
    settings.CACHES = redis_cache(DEAD_REDIS)
    assert cache.get("key", "default") == "default"
    cache.set("key", "value")
    assert cache.add("key", "value") is False
    assert cache.get_many(["a", "b"]) == {}
    assert cache.has_key("key") is False
    assert cache.delete("key") is False
    with pytest.raises(ValueError, match="Key not found"):
        cache.incr("counter")
    assert breaker.is_open(), "later calls skip Redis for a while"


@pytest.mark.django_db
def test_a_throttled_api_call_answers_while_redis_is_down(settings) -> None:
    settings.CACHES = redis_cache(DEAD_REDIS)
    response = Client().post(
        "/api/v1/auth/password-reset/",
        data=json.dumps({"email": "someone@example.com"}),
        content_type="application/json",
        secure=True,
    )
    assert response.status_code == 202


def test_a_reachable_redis_is_used_and_is_used_again_after_an_outage(settings) -> None:
    if not django_settings.REDIS_URL:
        pytest.skip("needs Redis (REDIS_URL)")
    settings.CACHES = redis_cache(DEAD_REDIS)
    cache.set("key", "lost")
    assert breaker.is_open()

    settings.CACHES = redis_cache(django_settings.REDIS_URL)
    breaker.down_until = 0.0  # the retry interval has passed
    cache.set("platform-test-key", "kept", timeout=30)
    assert cache.get("platform-test-key") == "kept"
    cache.delete("platform-test-key")
