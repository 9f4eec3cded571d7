"""Who is online: a user with a chat socket open on any instance.

Each instance counts its own sockets per user. With Redis, an instance also marks each
of its users online in a sorted set per user (``{prefix}presence:{user_id}``: the
instance's id, scored with when the mark expires) and renews the marks every third of
their TTL. A user is online while any mark is unexpired, so an instance that dies
without closing its sockets takes its users offline within the TTL.

Each instance also keeps a heartbeat (``{prefix}presence:instances``, scored alike) and
the set of users it has marked. Renewing, an instance sweeps the instances whose
heartbeat has expired: it claims one by removing its heartbeat (one sweeper wins), takes
its marks away and reports the users left with none, whose people are then told (in a
task of its own: a large instance's users must not hold up the sweeper's renewal). An
instance that was swept while alive (stalled past the TTL) finds its heartbeat gone at
its next renewal and marks all its users again. Marks and heartbeats are scored with
the instances' clocks, which must agree to well within the TTL (NTP).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, cast
from uuid import UUID

from redis.asyncio import Redis

from shared.logging import get_logger
from shared.periodic import Periodic

log = get_logger(__name__)

# Marks renewed (or swept) per round trip to Redis.
RENEW_BATCH = 1000

# Told of users who went offline with an instance that died.
OfflineListener = Callable[[list[UUID]], Coroutine[Any, Any, None]]


class Presence:
    """One process: online is having a socket here."""

    def __init__(self) -> None:
        self._sockets: dict[UUID, int] = {}
        # Held across a user's change and its announcement: a reconnect's close and
        # open are told in the order they happened, never as "offline" last.
        self._locks: dict[UUID, asyncio.Lock] = {}
        self._on_offline: OfflineListener | None = None

    def on_offline(self, listener: OfflineListener) -> None:
        """Tell ``listener`` of users another instance took offline by dying (only
        instances that share presence have others)."""
        self._on_offline = listener

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
        self._instances = f"{self._prefix}instances"
        self._telling: set[asyncio.Task[None]] = set()
        self._renewal = Periodic(
            self.renew,
            interval=ttl / 3,
            name="chat-presence",
            failed="presence.renew_failed",
            wait_first=True,
        )

    async def start(self) -> None:
        await self._beat(self._clock() + self._ttl)
        self._renewal.start()

    async def stop(self) -> None:
        """Take this instance's marks away (its sockets are closing: their users may
        be back on another instance at once)."""
        await self._renewal.stop()
        for task in list(self._telling):
            task.cancel()
        await asyncio.gather(*self._telling, return_exceptions=True)
        users = list(self._sockets)
        self._sockets.clear()
        for start in range(0, len(users), RENEW_BATCH):
            async with self._redis.pipeline(transaction=False) as pipe:
                for user_id in users[start : start + RENEW_BATCH]:
                    pipe.zrem(self._key(user_id), self._instance)
                await pipe.execute()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self._instances, self._instance)
            pipe.delete(self._marked(self._instance))
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
            pipe.sadd(self._marked(self._instance), str(user_id))
            _, before, *_ = await pipe.execute()
        return int(before) == 0

    async def _left(self, user_id: UUID) -> bool:
        now = self._clock()
        key = self._key(user_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrem(key, self._instance)
            pipe.zremrangebyscore(key, "-inf", now)
            pipe.zcard(key)
            pipe.srem(self._marked(self._instance), str(user_id))
            _, _, after, _ = await pipe.execute()
        return int(after) == 0

    async def renew(self) -> None:
        """Push this instance's heartbeat and marks forward a TTL, then sweep the
        instances that died. Only marks still there are renewed: one taken away meanwhile
        (the user's last socket here closed) stays away."""
        users = list(self._sockets)
        until = self._clock() + self._ttl
        swept = await self._beat(until)
        if swept and users:
            log.warning("presence.marked_again", users=len(users))
        for start in range(0, len(users), RENEW_BATCH):
            batch = users[start : start + RENEW_BATCH]
            async with self._redis.pipeline(transaction=False) as pipe:
                for user_id in batch:
                    key = self._key(user_id)
                    pipe.zadd(key, {self._instance: until}, xx=not swept)
                    pipe.expire(key, int(self._ttl * 2) + 1)
                if swept:
                    pipe.sadd(self._marked(self._instance), *(str(u) for u in batch))
                await pipe.execute()
        await self.sweep()

    async def sweep(self) -> list[UUID]:
        """Take away the marks of instances whose heartbeat expired; the users that left
        offline are returned and told to the listener."""
        now = self._clock()
        offline: list[UUID] = []
        # Members come back as bytes: the client does not decode responses.
        expired = cast(list[bytes], await self._redis.zrangebyscore(self._instances, "-inf", now))
        for dead in expired:
            # Whoever removes the heartbeat sweeps the instance; the others pass it by.
            if await self._redis.zrem(self._instances, dead):
                offline.extend(await self._sweep(dead.decode(), now))
        if offline and self._on_offline is not None:
            task = asyncio.create_task(self._on_offline(offline), name="presence-offline")
            self._telling.add(task)
            task.add_done_callback(self._telling.discard)
        return offline

    async def _sweep(self, instance: str, now: float) -> list[UUID]:
        marked = self._marked(instance)
        users = [UUID(raw.decode()) async for raw in self._redis.sscan_iter(marked, count=500)]
        offline: list[UUID] = []
        for start in range(0, len(users), RENEW_BATCH):
            batch = users[start : start + RENEW_BATCH]
            async with self._redis.pipeline(transaction=False) as pipe:
                for user_id in batch:
                    key = self._key(user_id)
                    pipe.zrem(key, instance)
                    pipe.zremrangebyscore(key, "-inf", now)
                    pipe.zcard(key)
                counts = (await pipe.execute())[2::3]
            offline.extend(u for u, count in zip(batch, counts, strict=True) if not count)
        await self._redis.delete(marked)
        log.info("presence.instance_swept", instance=instance, offline=len(offline))
        return offline

    async def _beat(self, until: float) -> bool:
        """Pushes the heartbeat forward; True if it was gone (swept, or the first)."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(self._instances, {self._instance: until})
            # Outlives the heartbeat long enough for another instance to sweep it.
            pipe.expire(self._marked(self._instance), int(self._ttl * 3) + 1)
            added, _ = await pipe.execute()
        return bool(added)

    def _key(self, user_id: UUID) -> str:
        return f"{self._prefix}{user_id}"

    def _marked(self, instance: str) -> str:
        """The users an instance has marked online."""
        return f"{self._prefix}instance:{instance}"
