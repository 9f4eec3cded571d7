"""Fan-out: a notification reaches the user's sockets on every gateway instance.

With Redis, each instance subscribes to ``<prefix>user:<id>`` for the users connected
to it and the consumer publishes there; without Redis, delivery stays in-process. The
publishing instance delivers to its own sockets at once, and skips its own messages when
they come back from Redis (each starts with the id of the instance that sent it). What
Redis has delivered already is read with the message waited for and delivered together,
a socket's share in one write.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Sequence
from typing import Protocol
from uuid import UUID, uuid4

from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from notify_ws_service.fanout.push import Push
from notify_ws_service.ws.registry import Registry
from shared.logging import get_logger
from shared.pubsub import with_ready

log = get_logger(__name__)

# How long a user's subscription may take before the socket is refused (1013).
SUBSCRIBE_TIMEOUT = 5.0


class Bus(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def publish(self, pushes: Sequence[Push]) -> None: ...
    async def subscribe(self, user_id: UUID) -> None: ...
    async def unsubscribe(self, user_id: UUID) -> None: ...


class LocalBus:
    """One instance: publishing is delivering."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def publish(self, pushes: Sequence[Push]) -> None:
        await self._registry.deliver_all(pushes)

    async def subscribe(self, user_id: UUID) -> None:
        return None

    async def unsubscribe(self, user_id: UUID) -> None:
        return None


class RedisBus:
    def __init__(self, redis: Redis, registry: Registry, *, prefix: str) -> None:
        self._redis = redis
        self._registry = registry
        self._prefix = prefix
        self._pubsub: PubSub = redis.pubsub()
        self._origin = uuid4().hex.encode()
        # Keeps the pub/sub connection subscribed to something even with no user here.
        self._home = f"{prefix}instance:{self._origin.decode()}"
        self._confirmations: dict[str, deque[asyncio.Future[None]]] = {}
        # Set once the listener's own subscription opened the pub/sub connection.
        self._listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def channel(self, user_id: UUID) -> str:
        return f"{self._prefix}user:{user_id}"

    async def start(self) -> None:
        # Not awaited: the gateway comes up while Redis is down (sockets get 1013 then).
        self._task = asyncio.create_task(self._listen(), name="notify-redis-bus")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._pubsub.aclose()  # type: ignore[no-untyped-call]

    async def publish(self, pushes: Sequence[Push]) -> None:
        if not pushes:
            return
        await self._registry.deliver_all(pushes)
        async with self._redis.pipeline(transaction=False) as pipe:
            for push in pushes:
                pipe.publish(self.channel(push.user_id), self._origin + b" " + push.encode())
            await pipe.execute()

    async def subscribe(self, user_id: UUID) -> None:
        """Returns once Redis confirmed, so nothing published afterwards is missed."""
        channel = self.channel(user_id)
        confirmed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiting = self._confirmations.setdefault(channel, deque())
        waiting.append(confirmed)
        try:
            async with asyncio.timeout(SUBSCRIBE_TIMEOUT):
                # Before that, two subscribes could each open a connection, and the
                # confirmation on the one replaced would never be read.
                await self._listening.wait()
                await self._pubsub.subscribe(channel)
                await asyncio.shield(confirmed)
        finally:
            # A later subscribe to this channel must not wait on this one's confirmation.
            if not confirmed.done() and confirmed in waiting:
                waiting.remove(confirmed)
                if not waiting:
                    self._confirmations.pop(channel, None)

    async def unsubscribe(self, user_id: UUID) -> None:
        # Before the listener's subscription nothing was subscribed, and a command now
        # could open a second connection beside the listener's.
        if self._listening.is_set():
            await self._pubsub.unsubscribe(self.channel(user_id))

    async def _listen(self) -> None:
        while True:
            try:
                await self._pubsub.subscribe(self._home)
                break
            except Exception as exc:
                log.warning("bus.redis_unavailable", error=repr(exc))
                await asyncio.sleep(1.0)
        self._listening.set()
        while True:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Redis went away: redis-py resubscribes on reconnect; what was published
                # meanwhile is in the inbox for ``?since=`` catch-up.
                log.warning("bus.receive_failed", error=repr(exc))
                await asyncio.sleep(1.0)
                continue
            if message is None:
                continue
            received = await with_ready(self._pubsub, message)
            pushes = [push for m in received if (push := self._handle(m)) is not None]
            try:
                await self._registry.deliver_all(pushes)
            except Exception as exc:
                # The listener must outlive whatever went wrong with one delivery.
                log.error("bus.delivery_failed", error=repr(exc), pushes=len(pushes))

    def _handle(self, message: dict[str, object]) -> Push | None:
        """A push from another instance, or None (a confirmation, our own, unreadable)."""
        kind = message.get("type")
        channel = _text(message.get("channel"))
        if kind == "subscribe":
            waiting = self._confirmations.get(channel)
            if waiting:
                future = waiting.popleft()
                if not waiting:
                    del self._confirmations[channel]
                if not future.done():
                    future.set_result(None)
            return None
        if kind != "message":
            return None
        data = message.get("data")
        if not isinstance(data, bytes):
            return None
        origin, _, body = data.partition(b" ")
        if origin == self._origin:
            return None
        try:
            return Push.decode(body)
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("bus.bad_message", channel=channel, error=repr(exc))
            return None


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode()
    return str(value)
