"""Reading what Redis has delivered already, without waiting."""

from __future__ import annotations

import asyncio
from uuid import uuid4

from redis.asyncio import Redis

from shared.pubsub import ready_message


async def test_a_delivered_message_is_read_and_none_when_there_is_no_more(
    redis_url: str,
) -> None:
    redis = Redis.from_url(redis_url)
    pubsub = redis.pubsub()
    channel = f"ready-{uuid4().hex}"
    try:
        await pubsub.subscribe(channel)
        assert (await pubsub.get_message(timeout=1.0) or {}).get("type") == "subscribe"
        await redis.publish(channel, b"one")
        await asyncio.sleep(0.1)
        message = await ready_message(pubsub)
        assert message is not None
        assert message["data"] == b"one"
        assert await ready_message(pubsub) is None
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await redis.aclose()


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
