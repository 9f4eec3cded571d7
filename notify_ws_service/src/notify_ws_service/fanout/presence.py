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

# KEYS[1] the user's set; ARGV: socket id, cap, lease seconds. Server time, so instance
# clocks do not matter. A socket already present only renews its lease.
_ACQUIRE = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', t)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
    return 0
  end
end
redis.call('ZADD', KEYS[1], t + tonumber(ARGV[3]), ARGV[1])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[3])) + 1)
return 1
"""


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
            keys=[self._key(user_id)], args=[socket_id, self._cap, self._lease]
        )
        return bool(granted)

    async def release(self, user_id: UUID, socket_id: str) -> None:
        await self._redis.zrem(self._key(user_id), socket_id)

    async def _renew(self, sockets: Callable[[], Iterable[tuple[UUID, str]]]) -> None:
        while True:
            await asyncio.sleep(self._lease / 3)
            try:
                for user_id, socket_id in list(sockets()):
                    await self.acquire(user_id, socket_id)
            except Exception as exc:
                log.warning("presence.renew_failed", error=repr(exc))
