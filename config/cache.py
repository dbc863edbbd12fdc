"""Redis as the cache, degrading to misses while Redis does not answer.

"Redis is down while people work: pages and the API keep working" (QUALITY.md). Django's
own Redis cache raises on every call while Redis is unreachable, which turns a cache (a
throttle's counter, say) into an outage. Here a call that cannot reach Redis answers as a
miss (``get`` gives the default, ``add``/``set`` store nothing) and, for a few seconds
after such a failure, calls do not even try, so a dead Redis costs requests nothing.
Nothing may rely on the cache for correctness; what must hold (sign-in lock-out, claims,
idempotency) lives in the database.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)
RETRY_AFTER_SECONDS = 5.0


class _Breaker:
    """Per process: once Redis failed, skip it until ``RETRY_AFTER_SECONDS`` have passed."""

    def __init__(self) -> None:
        self.down_until = 0.0
        self.lock = threading.Lock()

    def is_open(self) -> bool:
        return time.monotonic() < self.down_until

    def trip(self, exc: BaseException) -> None:
        with self.lock:
            if not self.is_open():
                logger.warning("cache: Redis unreachable, serving misses for %.0f s: %s", RETRY_AFTER_SECONDS, exc)
            self.down_until = time.monotonic() + RETRY_AFTER_SECONDS

    def call[T](self, operation: Callable[[], T], fallback: T) -> T:
        if self.is_open():
            return fallback
        try:
            return operation()
        except UNREACHABLE as exc:
            self.trip(exc)
            return fallback


breaker = _Breaker()


class ResilientRedisCacheClient(RedisCacheClient):
    def add(self, key: Any, value: Any, timeout: Any) -> bool:
        return breaker.call(lambda: bool(RedisCacheClient.add(self, key, value, timeout)), False)

    def get(self, key: Any, default: Any) -> Any:
        return breaker.call(lambda: RedisCacheClient.get(self, key, default), default)

    def set(self, key: Any, value: Any, timeout: Any) -> None:
        breaker.call(lambda: RedisCacheClient.set(self, key, value, timeout), None)

    def touch(self, key: Any, timeout: Any) -> bool:
        return breaker.call(lambda: bool(RedisCacheClient.touch(self, key, timeout)), False)

    def delete(self, key: Any) -> bool:
        return breaker.call(lambda: bool(RedisCacheClient.delete(self, key)), False)

    def get_many(self, keys: Iterable[Any]) -> dict[Any, Any]:
        return breaker.call(lambda: dict(RedisCacheClient.get_many(self, keys)), {})

    def has_key(self, key: Any) -> bool:
        return breaker.call(lambda: bool(RedisCacheClient.has_key(self, key)), False)

    def incr(self, key: Any, delta: int) -> Any:
        missing = object()
        result = breaker.call(lambda: RedisCacheClient.incr(self, key, delta), missing)
        if result is missing:
            raise ValueError("Key not found (the cache is unreachable)")
        return result

    def set_many(self, data: Mapping[Any, Any], timeout: Any) -> None:
        breaker.call(lambda: RedisCacheClient.set_many(self, data, timeout), None)

    def delete_many(self, keys: Iterable[Any]) -> None:
        breaker.call(lambda: RedisCacheClient.delete_many(self, keys), None)

    def clear(self) -> bool:
        return breaker.call(
            lambda: bool(
                RedisCacheClient.clear(
                    self,
                )
            ),
            False,
        )


class ResilientRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ResilientRedisCacheClient
