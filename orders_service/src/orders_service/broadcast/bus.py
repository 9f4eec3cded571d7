"""Carries broadcasts to every instance's hub: in-process, or through Redis pub/sub.

``publish`` never waits: it queues the message for a pump task, so a caller that has
just committed replies to its own client first and broadcasts stay in commit order. The
pump sends whatever has queued up in one go (one Redis round trip): sending one message
per round trip falls behind, by seconds, as soon as changes come faster than that.
A broadcast is best effort; ``orders.events`` on Kafka is the durable record.
"""

from __future__ import annotations

import asyncio
import contextlib

from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from orders_service.broadcast.hub import Hub
from orders_service.broadcast.messages import OrderBroadcast
from shared.logging import get_logger

log = get_logger(__name__)

_QUEUE_SIZE = 10_000
_BATCH_SIZE = 500


class Bus:
    """The in-process bus: one instance, its own hub."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._queue: asyncio.Queue[OrderBroadcast] = asyncio.Queue(maxsize=_QUEUE_SIZE)
        self._pump: asyncio.Task[None] | None = None

    def publish(self, message: OrderBroadcast) -> None:
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            log.warning("broadcast.dropped", order_id=message.order_id, reason="queue_full")

    async def start(self) -> None:
        self._pump = asyncio.create_task(self._run_pump(), name="orders-broadcast-pump")

    async def stop(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump

    async def check(self) -> None:
        """Readiness: nothing to reach."""

    async def _run_pump(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < _BATCH_SIZE and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._send(batch)
            except Exception as exc:
                log.warning(
                    "broadcast.failed",
                    order_id=batch[0].order_id,
                    messages=len(batch),
                    error=repr(exc),
                )

    async def _send(self, messages: list[OrderBroadcast]) -> None:
        for message in messages:
            self.hub.deliver(message)


class RedisBus(Bus):
    """Every instance publishes to one channel and delivers what it hears to its hub."""

    def __init__(self, hub: Hub, redis: Redis, channel: str) -> None:
        super().__init__(hub)
        self._redis = redis
        self._channel = channel
        self._pubsub: PubSub | None = None
        self._listener: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await self._pubsub.subscribe(self._channel)
        self._listener = asyncio.create_task(self._listen(), name="orders-broadcast-listen")
        await super().start()

    async def stop(self) -> None:
        await super().stop()
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self._pubsub is not None:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]

    async def check(self) -> None:
        await self._redis.ping()

    async def _send(self, messages: list[OrderBroadcast]) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for message in messages:
                pipe.publish(self._channel, message.model_dump_json())
            await pipe.execute()

    async def _listen(self) -> None:
        assert self._pubsub is not None
        while True:
            try:
                async for item in self._pubsub.listen():
                    self._receive(item.get("data"))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # The connection dropped: redis-py resubscribes on the next read.
                log.warning("broadcast.listen_failed", error=repr(exc))
                await asyncio.sleep(1.0)

    def _receive(self, data: object) -> None:
        if not isinstance(data, bytes | str):
            return
        try:
            message = OrderBroadcast.model_validate_json(data)
        except ValueError:
            log.warning("broadcast.invalid", size=len(data))
            return
        self.hub.deliver(message)
