"""Ended sessions are deleted in the background so the table does not grow forever."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from auth_service.auth.repository import purge_ended
from auth_service.config import Settings
from shared.db import session_scope, utcnow
from shared.logging import get_logger
from shared.periodic import Periodic

log = get_logger(__name__)


async def purge_sessions(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> int:
    now = utcnow()
    async with session_scope(sessionmaker) as session:
        return await purge_ended(
            session,
            expired_before=now,
            # Revoked sessions stay a while for the record (who was logged out, and why).
            revoked_before=now - timedelta(seconds=settings.revoked_session_retention_seconds),
        )


def session_purger(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> Periodic:
    async def purge() -> None:
        purged = await purge_sessions(sessionmaker, settings)
        if purged:
            log.info("sessions.purged", count=purged)

    return Periodic(
        purge,
        interval=settings.session_purge_interval_seconds,
        name="auth-session-purge",
        failed="sessions.purge_failed",
        wait_first=True,
    )
