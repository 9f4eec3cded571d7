"""Deleting uploads nobody sent, in a task of its own: inside a request's transaction its
row locks could meet those of a send batch (which holds its chats' rows first)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_service.attachments import repository
from shared.db import utcnow
from shared.logging import get_logger
from shared.periodic import Periodic

log = get_logger(__name__)


def unsent_purger(
    sessionmaker: async_sessionmaker[AsyncSession], *, ttl: float, interval: float
) -> Periodic:
    async def purge() -> None:
        async with sessionmaker() as session, session.begin():
            uploaded_before = utcnow() - timedelta(seconds=ttl)
            purged = await repository.purge_unsent(session, uploaded_before=uploaded_before)
        if purged:
            log.info("attachments.purged", count=purged)

    return Periodic(
        purge, interval=interval, name="attachments-purge", failed="attachments.purge_failed"
    )
