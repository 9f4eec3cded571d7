"""Counts in fixed windows that start with a key's first count: shared through Redis
between replicas, or kept in the process (one replica, development)."""

from __future__ import annotations

import math
import time
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from shared.logging import get_logger

log = get_logger(__name__)


class CounterStore(Protocol):
    async def get(self, key: str) -> tuple[int, float]:
        """The count and the seconds left in its window (0 when there is none)."""
        ...

    async def increment(self, key: str, window_seconds: int, amount: int = 1) -> tuple[int, float]:
        """Adds ``amount``; returns the new count and the seconds left in its window."""
        ...

    async def clear(self, key: str) -> None: ...


class MemoryCounters:
    def __init__(self, *, max_keys: int = 100_000) -> None:
        self._counters: dict[str, tuple[int, float]] = {}
        self._max_keys = max_keys

    async def get(self, key: str) -> tuple[int, float]:
        count, deadline = self._counters.get(key, (0, 0.0))
        left = deadline - time.monotonic()
        if left <= 0:
            self._counters.pop(key, None)
            return 0, 0.0
        return count, left

    async def increment(self, key: str, window_seconds: int, amount: int = 1) -> tuple[int, float]:
        now = time.monotonic()
        count, deadline = self._counters.get(key, (0, 0.0))
        if deadline <= now:
            count, deadline = 0, now + window_seconds
        self._counters[key] = (count + amount, deadline)
        if len(self._counters) > self._max_keys:
            self._prune(now)
        return count + amount, deadline - now

    async def clear(self, key: str) -> None:
        self._counters.pop(key, None)

    def _prune(self, now: float) -> None:
        self._counters = {k: v for k, v in self._counters.items() if v[1] > now}
        # Still full of live counters (an attack from many addresses): forget the oldest.
        while len(self._counters) > self._max_keys:
            self._counters.pop(next(iter(self._counters)))


class RedisCounters:
    def __init__(self, redis: Redis, *, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix

    async def get(self, key: str) -> tuple[int, float]:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(self._prefix + key)
            pipe.pttl(self._prefix + key)
            raw, ttl_ms = await pipe.execute()
        if raw is None or ttl_ms <= 0:
            return 0, 0.0
        return int(raw), ttl_ms / 1000

    async def increment(self, key: str, window_seconds: int, amount: int = 1) -> tuple[int, float]:
        name = self._prefix + key
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incrby(name, amount)
            # The window starts with the first count and is not extended by later ones.
            pipe.expire(name, window_seconds, nx=True)
            pipe.pttl(name)
            count, _, ttl_ms = await pipe.execute()
        return int(count), max(ttl_ms, 0) / 1000

    async def clear(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)


class WindowLimit:
    """At most ``limit`` counts per key in a window of ``window_seconds`` that starts with
    the key's first count. ``fail_open``: with Redis unreachable everything passes
    (uncounted), for limits that must not stop a service that works without Redis."""

    def __init__(
        self, store: CounterStore, *, limit: int, window_seconds: int, fail_open: bool = False
    ) -> None:
        self.limit = limit
        self._store = store
        self._window = window_seconds
        self._fail_open = fail_open

    async def take(self, key: str, amount: int = 1) -> int | None:
        """Counts ``amount``; the seconds until the window ends when that is over the
        limit, else None (the count stands either way: refused attempts are attempts
        too)."""
        try:
            count, left = await self._store.increment(key, self._window, amount)
        except RedisError as exc:
            if not self._fail_open:
                raise
            log.warning("limit.unavailable", key=key.partition(":")[0], error=repr(exc))
            return None
        return max(1, math.ceil(left)) if count > self.limit else None
