"""Bus subscriptions per user on this instance, shared by the user's sockets."""

from __future__ import annotations

import asyncio
import contextlib
from uuid import UUID

from notify_ws_service.fanout.bus import Bus
from shared.logging import get_logger

log = get_logger(__name__)


class Subscriptions:
    def __init__(self, bus: Bus) -> None:
        self._bus = bus
        self._count: dict[UUID, int] = {}
        self._ready: dict[UUID, asyncio.Task[None]] = {}

    async def acquire(self, user_id: UUID) -> None:
        """Returns once the user's channel is subscribed (the first socket subscribes)."""
        self._count[user_id] = self._count.get(user_id, 0) + 1
        task = self._ready.get(user_id)
        if task is None or (task.done() and task.exception() is not None):
            task = asyncio.create_task(self._bus.subscribe(user_id))
            self._ready[user_id] = task
        try:
            await asyncio.shield(task)
        except BaseException:
            await self.release(user_id)
            raise

    async def release(self, user_id: UUID) -> None:
        left = self._count.get(user_id, 0) - 1
        if left > 0:
            self._count[user_id] = left
            return
        self._count.pop(user_id, None)
        task = self._ready.pop(user_id, None)
        if task is not None and not task.done():
            task.cancel()
        with contextlib.suppress(Exception):
            await self._bus.unsubscribe(user_id)
