"""Reading a Redis pub/sub connection in batches."""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio.client import PubSub

# Messages a listener reads and hands on together at most (it gives the loop back between).
MAX_BATCH = 256


async def ready_message(pubsub: PubSub) -> dict[str, Any] | None:
    """A message Redis has delivered already, without waiting; None when there is none
    or the connection failed (the listener's next wait for a message reports and retries
    that)."""
    try:
        message: dict[str, Any] | None = await pubsub.get_message(timeout=0)
    except asyncio.CancelledError:
        raise
    except Exception:
        return None
    return message


async def with_ready(
    pubsub: PubSub, first: dict[str, Any], *, limit: int = MAX_BATCH
) -> list[dict[str, Any]]:
    """``first`` and the messages Redis has delivered already after it, ``limit`` in all
    at most, without waiting: handled together, a socket's share goes out in one write."""
    messages = [first]
    while len(messages) < limit and (message := await ready_message(pubsub)) is not None:
        messages.append(message)
    return messages
