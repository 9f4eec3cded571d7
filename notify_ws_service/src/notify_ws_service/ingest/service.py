"""Store, then push: the one path every notification takes, whatever its source."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from notify_ws_service.fanout.bus import Bus
from notify_ws_service.inbox import service
from notify_ws_service.ingest.records import NewNotification
from notify_ws_service.metrics import DEDUPLICATED, STORED
from shared.db import session_scope, utcnow
from shared.logging import get_logger

log = get_logger(__name__)


class Ingestor:
    def __init__(
        self,
        engine: AsyncEngine,
        sessionmaker: async_sessionmaker[AsyncSession],
        bus: Bus,
        *,
        redelivery_push_window: float,
    ) -> None:
        self._engine = engine
        self._sessionmaker = sessionmaker
        self._bus = bus
        self._window = redelivery_push_window

    async def ingest(self, items: Sequence[NewNotification]) -> None:
        """Commit the notifications to their inboxes, then publish them.

        Raising leaves the Kafka offsets uncommitted, so the batch comes back. A
        notification stored earlier (a redelivery) is pushed again only if it was stored
        recently: that is a crash between storing and pushing; sockets drop duplicates.
        """
        if not items:
            return
        stored = await service.store_alone(self._engine, items)
        if stored is None:
            async with session_scope(self._sessionmaker) as session:
                stored = await service.store(session, items)
        STORED.inc(len(stored.new))
        recent = utcnow() - timedelta(seconds=self._window)
        pushes = list(stored.new)
        for push in stored.earlier:
            if push.created_at >= recent:
                pushes.append(push)
            else:
                DEDUPLICATED.labels("inbox").inc()
        if stored.earlier:
            log.info("ingest.already_stored", count=len(stored.earlier))
        # Each user's in inbox order: a socket then rarely has a gap to fill.
        pushes.sort(key=lambda push: push.position or 0)
        await self._bus.publish(pushes)
