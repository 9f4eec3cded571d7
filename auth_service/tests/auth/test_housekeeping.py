"""Ended sessions are purged; live ones are not."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from auth_service.auth.housekeeping import purge_sessions
from auth_service.config import Settings
from auth_service.models import LoginSession
from shared.db import create_sessionmaker, utcnow
from shared.testing.auth_service import register_and_login
from tests.helpers import bearer


async def test_expired_and_long_revoked_sessions_are_deleted(
    client: httpx.AsyncClient, engine: AsyncEngine, settings: Settings
) -> None:
    base = str(client.base_url)
    expired, revoked, recently_revoked, live = [await register_and_login(base) for _ in range(4)]
    await client.post("/api/v1/auth/logout", headers=bearer(revoked.access_token))
    await client.post("/api/v1/auth/logout", headers=bearer(recently_revoked.access_token))
    long_ago = utcnow() - timedelta(seconds=settings.revoked_session_retention_seconds + 60)
    async with AsyncSession(engine) as session, session.begin():
        await session.execute(
            update(LoginSession)
            .where(LoginSession.user_id == expired.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.execute(
            update(LoginSession)
            .where(LoginSession.user_id == revoked.id)
            .values(revoked_at=long_ago)
        )

    await purge_sessions(create_sessionmaker(engine), settings)

    async with AsyncSession(engine) as session:
        left = set(
            (
                await session.scalars(
                    select(LoginSession.user_id).where(
                        LoginSession.user_id.in_(
                            [u.id for u in (expired, revoked, recently_revoked, live)]
                        )
                    )
                )
            ).all()
        )
    assert left == {recently_revoked.id, live.id}
    assert (await client.get("/api/v1/auth/verify", headers=bearer(live.access_token))).is_success
