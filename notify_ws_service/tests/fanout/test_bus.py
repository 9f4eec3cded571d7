"""Pushes between instances: what Redis delivered together reaches a socket together."""

from __future__ import annotations

import asyncio
from uuid import uuid4

from redis.asyncio import Redis

from notify_ws_service.fanout.bus import RedisBus
from notify_ws_service.ws.connection import Start
from notify_ws_service.ws.registry import Registry
from shared.ws.wire import TextFrame

from ..ws.test_connection import FakeWire, connection, drain, push


class TestRedisBus:
    async def test_pushes_from_another_instance_arrive_in_order_and_in_few_writes(
        self, redis: Redis
    ) -> None:
        prefix = f"test-bus-{uuid4().hex}:"
        sender = RedisBus(redis, Registry(max_connections=1), prefix=prefix)
        registry = Registry(max_connections=1)
        receiver = RedisBus(redis, registry, prefix=prefix)
        user = uuid4()
        wire = FakeWire()
        socket = connection(user_id=user, wire=wire, max_waiting=100)
        socket.open(Start(last=0))
        registry.add(socket)
        await receiver.start()
        try:
            await receiver.subscribe(user)
            await sender.publish([push(user, p) for p in range(1, 21)])
            async with asyncio.timeout(5):
                while len(wire.frames) < 20:
                    await asyncio.sleep(0.01)
            assert drain(socket) == [str(p) for p in range(1, 21)]
            assert max(wire.writes) > 1, "a write a push"
        finally:
            await receiver.stop()
            await sender.stop()

    async def test_a_user_subscribed_as_the_bus_starts_is_confirmed(self, redis: Redis) -> None:
        bus = RedisBus(redis, Registry(max_connections=1), prefix=f"test-bus-{uuid4().hex}:")
        await bus.start()
        try:
            await bus.subscribe(uuid4())
        finally:
            await bus.stop()

    async def test_unsubscribing_before_the_listener_subscribed_sends_nothing(self) -> None:
        unreachable = Redis.from_url("redis://127.0.0.1:1/0")
        bus = RedisBus(unreachable, Registry(max_connections=1), prefix="test-bus:")
        await bus.start()
        try:
            await bus.unsubscribe(uuid4())
        finally:
            await bus.stop()
            await unreachable.aclose()

    async def test_the_listener_outlives_a_delivery_that_failed(self, redis: Redis) -> None:
        prefix = f"test-bus-{uuid4().hex}:"
        sender = RedisBus(redis, Registry(max_connections=1), prefix=prefix)
        registry = Registry(max_connections=2)
        receiver = RedisBus(redis, registry, prefix=prefix)
        broken, fine = uuid4(), uuid4()
        wire = FakeWire()
        for user, user_wire in ((broken, BrokenWire()), (fine, wire)):
            socket = connection(user_id=user, wire=user_wire)
            socket.open(Start(last=0))
            registry.add(socket)
        await receiver.start()
        try:
            await receiver.subscribe(broken)
            await receiver.subscribe(fine)
            await sender.publish([push(broken, 1)])
            await asyncio.sleep(0.2)
            await sender.publish([push(fine, 1)])
            async with asyncio.timeout(5):
                while not wire.frames:
                    await asyncio.sleep(0.01)
        finally:
            await receiver.stop()
            await sender.stop()


class BrokenWire(FakeWire):
    def write(self, *frames: TextFrame) -> int | None:
        raise RuntimeError("the socket's write failed")
