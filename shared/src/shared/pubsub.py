"""Reading a Redis pub/sub connection in batches."""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio.client import PubSub


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
