"""Who is online: a user with a chat socket open on any instance.

Each instance counts its own sockets per user. With Redis, an instance also marks each
of its users online in a sorted set per user (``{prefix}presence:{user_id}``: the
instance's id, scored with when the mark expires) and renews the marks every third of
their TTL. A user is online while any mark is unexpired, so an instance that dies
without closing its sockets takes its users offline within the TTL, though nobody is
told so then. Marks are scored with the instances' clocks, which must agree to well
within the TTL (NTP).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterable
from uuid import UUID

from redis.asyncio import Redis

from shared.logging import get_logger
from shared.periodic import Periodic

log = get_logger(__name__)

# Marks renewed per round trip to Redis.
RENEW_BATCH = 1000


class Presence:
    """One process: online is having a socket here."""

    def __init__(self) -> None:
        self._sockets: dict[UUID, int] = {}
        # Held across a user's change and its announcement: a reconnect's close and
        # open are told in the order they happened, never as "offline" last.
        self._locks: dict[UUID, asyncio.Lock] = {}

    def lock(self, user_id: UUID) -> asyncio.Lock:
        lock = self._locks.get(user_id)
        if lock is None:
            lock = self._locks[user_id] = asyncio.Lock()
        return lock

    def release(self, user_id: UUID) -> None:
        """Forget the user's lock once nothing holds or waits for it."""
        lock = self._locks.get(user_id)
        if lock is not None and not lock.locked() and user_id not in self._sockets:
            del self._locks[user_id]

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def connected(self, user_id: UUID) -> bool:
        """Count a socket opened; True if that brought the user online."""
        count = self._sockets[user_id] = self._sockets.get(user_id, 0) + 1
        return count == 1 and await self._arrived(user_id)

    async def disconnected(self, user_id: UUID) -> bool:
        """Count a socket closed; True if that took the user offline everywhere."""
        count = self._sockets.get(user_id, 0) - 1
        if count > 0:
            self._sockets[user_id] = count
            return False
        self._sockets.pop(user_id, None)
        return await self._left(user_id)

    async def online(self, user_ids: Iterable[UUID]) -> set[UUID]:
        return {u for u in user_ids if u in self._sockets}

    async def _arrived(self, user_id: UUID) -> bool:
        return True

    async def _left(self, user_id: UUID) -> bool:
        return True


class RedisPresence(Presence):
    """Every instance: online is an unexpired mark in Redis."""

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str,
        ttl: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self._redis = redis
        self._prefix = f"{prefix}presence:"
        self._ttl = ttl
        self._clock = clock
        self._instance = uuid.uuid4().hex
        self._renewal = Periodic(
            self.renew,
            interval=ttl / 3,
            name="chat-presence",
            failed="presence.renew_failed",
            wait_first=True,
        )

    async def start(self) -> None:
        self._renewal.start()

    async def stop(self) -> None:
        """Take this instance's marks away (its sockets are closing: their users may
        be back on another instance at once)."""
        await self._renewal.stop()
        users = list(self._sockets)
        self._sockets.clear()
        for start in range(0, len(users), RENEW_BATCH):
            async with self._redis.pipeline(transaction=False) as pipe:
                for user_id in users[start : start + RENEW_BATCH]:
                    pipe.zrem(self._key(user_id), self._instance)
                await pipe.execute()

    async def online(self, user_ids: Iterable[UUID]) -> set[UUID]:
        wanted = list(dict.fromkeys(user_ids))
        if not wanted:
            return set()
        now = self._clock()
        async with self._redis.pipeline(transaction=False) as pipe:
            for user_id in wanted:
                pipe.zcount(self._key(user_id), now, "+inf")
            counts = await pipe.execute()
        return {u for u, count in zip(wanted, counts, strict=True) if count}

    async def _arrived(self, user_id: UUID) -> bool:
        now = self._clock()
        key = self._key(user_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(key, "-inf", now)
            pipe.zcard(key)
            pipe.zadd(key, {self._instance: now + self._ttl})
            pipe.expire(key, int(self._ttl * 2) + 1)
            _, before, _, _ = await pipe.execute()
        return int(before) == 0

    async def _left(self, user_id: UUID) -> bool:
        now = self._clock()
        key = self._key(user_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrem(key, self._instance)
            pipe.zremrangebyscore(key, "-inf", now)
            pipe.zcard(key)
            _, _, after = await pipe.execute()
        return int(after) == 0

    async def renew(self) -> None:
        """Push this instance's marks forward a TTL. Only marks still there: one taken
        away meanwhile (the user's last socket here closed) stays away."""
        users = list(self._sockets)
        until = self._clock() + self._ttl
        for start in range(0, len(users), RENEW_BATCH):
            async with self._redis.pipeline(transaction=False) as pipe:
                for user_id in users[start : start + RENEW_BATCH]:
                    key = self._key(user_id)
                    pipe.zadd(key, {self._instance: until}, xx=True)
                    pipe.expire(key, int(self._ttl * 2) + 1)
                await pipe.execute()

    def _key(self, user_id: UUID) -> str:
        return f"{self._prefix}{user_id}"
