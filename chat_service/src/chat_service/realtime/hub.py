"""Delivers events to every socket of a user.

Each instance keeps its own sockets; :class:`RedisHub` carries events between
instances over one Redis channel per user (``{prefix}user:{id}``), subscribed only
while that user has a socket here. :class:`LocalHub` is the single-process stand-in
for development without Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from typing import Any, Protocol
from uuid import UUID, uuid4

from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from chat_service.realtime.frames import Delivery
from shared.logging import get_logger

log = get_logger(__name__)


class Subscriber(Protocol):
    @property
    def user_id(self) -> UUID: ...

    def offer(self, frame: dict[str, Any], text: str) -> None:
        """Queue a frame without blocking (a slow socket must not hold up the others)."""


class Hub:
    def __init__(self) -> None:
        self._local: dict[UUID, set[Subscriber]] = {}
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    def sockets_of(self, user_id: UUID) -> int:
        return len(self._local.get(user_id, ()))

    @property
    def socket_count(self) -> int:
        return sum(len(s) for s in self._local.values())

    async def register(self, subscriber: Subscriber) -> None:
        """Returns once events for the subscriber's user reach this instance."""
        async with self._lock:
            subscribers = self._local.setdefault(subscriber.user_id, set())
            subscribers.add(subscriber)
            if len(subscribers) == 1:
                try:
                    await self._subscribe(subscriber.user_id)
                except BaseException:
                    subscribers.discard(subscriber)
                    del self._local[subscriber.user_id]
                    raise

    async def unregister(self, subscriber: Subscriber) -> None:
        async with self._lock:
            subscribers = self._local.get(subscriber.user_id)
            if subscribers is None or subscriber not in subscribers:
                return
            subscribers.discard(subscriber)
            if not subscribers:
                del self._local[subscriber.user_id]
                await self._unsubscribe(subscriber.user_id)

    async def deliver(self, deliveries: Sequence[Delivery]) -> None:
        """Send committed events; a failure here is logged, never undoes the commit."""
        for delivery in deliveries:
            if not delivery.user_ids:
                continue
            try:
                await self._publish(delivery)
            except Exception as exc:
                log.error("fanout.failed", error=repr(exc), chat_event=delivery.frame.get("event"))

    def _dispatch(self, user_id: UUID, frame: dict[str, Any], text: str) -> None:
        for subscriber in list(self._local.get(user_id, ())):
            subscriber.offer(frame, text)

    async def _subscribe(self, user_id: UUID) -> None:
        pass

    async def _unsubscribe(self, user_id: UUID) -> None:
        pass

    async def _publish(self, delivery: Delivery) -> None:
        raise NotImplementedError


class LocalHub(Hub):
    """One process: events go straight to this process's sockets."""

    async def _publish(self, delivery: Delivery) -> None:
        text = delivery.encode()
        for user_id in delivery.user_ids:
            self._dispatch(user_id, delivery.frame, text)


class RedisHub(Hub):
    def __init__(self, redis: Redis, *, prefix: str, subscribe_timeout: float = 5.0) -> None:
        super().__init__()
        self._redis = redis
        self._prefix = prefix
        self._subscribe_timeout = subscribe_timeout
        self._pubsub: PubSub | None = None
        self._confirmations: dict[str, asyncio.Event] = {}
        self._task: asyncio.Task[None] | None = None
        # A channel of our own keeps the pub/sub connection listening before any user.
        self._control = f"{prefix}instance:{uuid4().hex}"

    def channel(self, user_id: UUID) -> str:
        return f"{self._prefix}user:{user_id}"

    async def start(self) -> None:
        self._pubsub = self._redis.pubsub()
        await self._pubsub.subscribe(self._control)
        self._task = asyncio.create_task(self._listen(), name="chat-fanout")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._pubsub is not None:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _subscribe(self, user_id: UUID) -> None:
        assert self._pubsub is not None
        channel = self.channel(user_id)
        confirmed = self._confirmations[channel] = asyncio.Event()
        await self._pubsub.subscribe(channel)
        try:
            await asyncio.wait_for(confirmed.wait(), self._subscribe_timeout)
        finally:
            self._confirmations.pop(channel, None)

    async def _unsubscribe(self, user_id: UUID) -> None:
        assert self._pubsub is not None
        await self._pubsub.unsubscribe(self.channel(user_id))

    async def _publish(self, delivery: Delivery) -> None:
        text = delivery.encode()
        async with self._redis.pipeline(transaction=False) as pipe:
            for user_id in delivery.user_ids:
                pipe.publish(self.channel(user_id), text)
            await pipe.execute()

    async def _listen(self) -> None:
        assert self._pubsub is not None
        user_prefix = f"{self._prefix}user:"
        while True:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("fanout.listen_failed", error=repr(exc))
                await asyncio.sleep(1.0)
                continue
            if message is None:
                continue
            channel = _text(message["channel"])
            if message["type"] == "subscribe":
                if (event := self._confirmations.get(channel)) is not None:
                    event.set()
            elif message["type"] == "message" and channel.startswith(user_prefix):
                text = _text(message["data"])
                try:
                    user_id = UUID(channel.removeprefix(user_prefix))
                    frame = json.loads(text)
                except ValueError:
                    log.warning("fanout.bad_message", channel=channel)
                    continue
                self._dispatch(user_id, frame, text)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
