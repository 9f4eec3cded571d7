"""The per-user socket cap, held across every gateway instance.

With Redis, each user has a sorted set of their socket ids scored by a lease deadline;
instances renew the leases of their sockets, so the sockets of a crashed instance stop
counting once their leases run out. Without Redis the count is in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from typing import Protocol
from uuid import UUID

from redis.asyncio import Redis

from shared.logging import get_logger

log = get_logger(__name__)

# KEYS[1] the user's set; ARGV: cap, lease seconds, socket ids. Server time, so instance
# clocks do not matter. A socket already present only renews its lease; returns how many
# sockets were admitted or renewed (in order: the first refused ends it).
_ACQUIRE = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
local cap, lease = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', t)
local held = 0
for i = 3, #ARGV do
  if not redis.call('ZSCORE', KEYS[1], ARGV[i]) and redis.call('ZCARD', KEYS[1]) >= cap then
    break
  end
  redis.call('ZADD', KEYS[1], t + lease, ARGV[i])
  held = held + 1
end
redis.call('EXPIRE', KEYS[1], math.ceil(lease) + 1)
return held
"""
# Renewing: at most this many sockets' leases a round trip.
_RENEW_SOCKETS_PER_CALL = 500


class Presence(Protocol):
    async def start(self, sockets: Callable[[], Iterable[tuple[UUID, str]]]) -> None: ...
    async def stop(self) -> None: ...
    async def acquire(self, user_id: UUID, socket_id: str) -> bool: ...
    async def release(self, user_id: UUID, socket_id: str) -> None: ...


class LocalPresence:
    def __init__(self, *, cap: int) -> None:
        self._cap = cap
        self._sockets: dict[UUID, set[str]] = {}

    async def start(self, sockets: Callable[[], Iterable[tuple[UUID, str]]]) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def acquire(self, user_id: UUID, socket_id: str) -> bool:
        held = self._sockets.setdefault(user_id, set())
        if socket_id not in held and len(held) >= self._cap:
            return False
        held.add(socket_id)
        return True

    async def release(self, user_id: UUID, socket_id: str) -> None:
        held = self._sockets.get(user_id)
        if held is not None:
            held.discard(socket_id)
            if not held:
                del self._sockets[user_id]


class RedisPresence:
    def __init__(self, redis: Redis, *, prefix: str, cap: int, lease: float) -> None:
        self._redis = redis
        self._prefix = prefix
        self._cap = cap
        self._lease = lease
        self._script = redis.register_script(_ACQUIRE)
        self._task: asyncio.Task[None] | None = None

    def _key(self, user_id: UUID) -> str:
        return f"{self._prefix}sockets:{user_id}"

    async def start(self, sockets: Callable[[], Iterable[tuple[UUID, str]]]) -> None:
        self._task = asyncio.create_task(self._renew(sockets), name="notify-presence")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def acquire(self, user_id: UUID, socket_id: str) -> bool:
        granted = await self._script(
            keys=[self._key(user_id)], args=[self._cap, self._lease, socket_id]
        )
        return bool(granted)

    async def release(self, user_id: UUID, socket_id: str) -> None:
        await self._redis.zrem(self._key(user_id), socket_id)

    async def _renew(self, sockets: Callable[[], Iterable[tuple[UUID, str]]]) -> None:
        while True:
            await asyncio.sleep(self._lease / 3)
            try:
                await self.renew(sockets())
            except Exception as exc:
                log.warning("presence.renew_failed", error=repr(exc))

    async def renew(self, sockets: Iterable[tuple[UUID, str]]) -> None:
        """Every socket's lease, a few hundred a round trip. One call each would keep
        the event loop busy for seconds with tens of thousands of sockets; one call for
        all of them would hold the loop and Redis for tens of milliseconds, and every
        notification with them."""
        by_user: dict[UUID, list[str]] = {}
        for user_id, socket_id in sockets:
            by_user.setdefault(user_id, []).append(socket_id)
        calls: list[tuple[UUID, list[str]]] = []
        queued = 0
        for user_id, socket_ids in by_user.items():
            for start in range(0, len(socket_ids), _RENEW_SOCKETS_PER_CALL):
                part = socket_ids[start : start + _RENEW_SOCKETS_PER_CALL]
                if calls and queued + len(part) > _RENEW_SOCKETS_PER_CALL:
                    await self._renew_calls(calls)
                    calls, queued = [], 0
                calls.append((user_id, part))
                queued += len(part)
        if calls:
            await self._renew_calls(calls)

    async def _renew_calls(self, calls: list[tuple[UUID, list[str]]]) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for user_id, socket_ids in calls:
                await self._script(
                    keys=[self._key(user_id)],
                    args=[self._cap, self._lease, *socket_ids],
                    client=pipe,
                )
            await pipe.execute()
