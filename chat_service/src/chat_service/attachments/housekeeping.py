"""Deleting uploads nobody sent, in a task of its own: inside a request's transaction its
row locks could meet those of a send batch (which holds its chats' rows first)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_service.attachments import repository
from shared.db import utcnow
from shared.logging import get_logger

log = get_logger(__name__)


class UnsentPurger:
    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], *, ttl: float, interval: float
    ) -> None:
        self._sessionmaker = sessionmaker
        self._ttl = timedelta(seconds=ttl)
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="attachments-purge")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def purge_once(self) -> int:
        async with self._sessionmaker() as session, session.begin():
            return await repository.purge_unsent(session, uploaded_before=utcnow() - self._ttl)

    async def _run(self) -> None:
        while True:
            try:
                purged = await self.purge_once()
                if purged:
                    log.info("attachments.purged", count=purged)
            except Exception as exc:
                log.warning("attachments.purge_failed", error=repr(exc))
            await asyncio.sleep(self._interval)
