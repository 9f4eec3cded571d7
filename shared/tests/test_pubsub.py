"""Reading what Redis has delivered already, without waiting."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import pytest
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from shared.pubsub import ready_message, with_ready


class Subscribed:
    """A pub/sub connection subscribed to a channel of its own, confirmation read."""

    def __init__(self, redis: Redis, pubsub: PubSub, channel: str) -> None:
        self.redis, self.pubsub, self.channel = redis, pubsub, channel
        self.confirmation: dict[str, Any] = {}

    async def publish(self, *data: bytes) -> None:
        for item in data:
            await self.redis.publish(self.channel, item)
        await asyncio.sleep(0.1)


@pytest.fixture
async def subscribed(redis_url: str) -> AsyncIterator[Subscribed]:
    redis = Redis.from_url(redis_url)
    pubsub = redis.pubsub()
    try:
        result = Subscribed(redis, pubsub, f"ready-{uuid4().hex}")
        await pubsub.subscribe(result.channel)
        confirmation = await pubsub.get_message(timeout=1.0)
        assert confirmation is not None
        assert confirmation["type"] == "subscribe"
        result.confirmation = confirmation
        yield result
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await redis.aclose()


async def test_a_delivered_message_is_read_and_none_when_there_is_no_more(
    subscribed: Subscribed,
) -> None:
    await subscribed.publish(b"one")
    message = await ready_message(subscribed.pubsub)
    assert message is not None
    assert message["data"] == b"one"
    assert await ready_message(subscribed.pubsub) is None


async def test_what_arrived_with_a_message_is_read_with_it_up_to_the_limit(
    subscribed: Subscribed,
) -> None:
    await subscribed.publish(*(str(n).encode() for n in range(5)))
    batch = await with_ready(subscribed.pubsub, subscribed.confirmation, limit=4)
    assert [m["type"] for m in batch] == ["subscribe", "message", "message", "message"]
    rest = await with_ready(subscribed.pubsub, batch[-1])
    assert [m["data"] for m in rest] == [b"2", b"3", b"4"]


async def test_a_failed_connection_reads_as_none_and_the_next_wait_recovers(
    redis_url: str,
) -> None:
    name = f"ready-{uuid4().hex}"
    redis = Redis.from_url(redis_url, client_name=name)
    admin = Redis.from_url(redis_url)
    pubsub = redis.pubsub()
    channel = f"ready-{uuid4().hex}"
    try:
        await pubsub.subscribe(channel)
        await pubsub.get_message(timeout=1.0)
        for client in await admin.client_list():
            if client.get("name") == name:
                await admin.client_kill_filter(_id=client["id"])
        await asyncio.sleep(0.1)
        assert await ready_message(pubsub) is None
        async with asyncio.timeout(5):
            while True:
                await admin.publish(channel, b"after")
                message = await pubsub.get_message(timeout=0.2)
                if message is not None and message["type"] == "message":
                    break
        assert message["data"] == b"after"
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await redis.aclose()
        await admin.aclose()
