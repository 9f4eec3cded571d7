"""SQL about login sessions."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.events import record_session_ended
from auth_service.models import LoginSession, User
from shared.db import utcnow


async def get_for_update(session: AsyncSession, session_id: UUID) -> LoginSession | None:
    """The session row, locked so two refreshes of one token cannot both win."""
    query = select(LoginSession).where(LoginSession.id == session_id)
    if session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()


async def get_with_user(
    session: AsyncSession, session_id: UUID
) -> tuple[LoginSession, User] | None:
    row = (
        await session.execute(
            select(LoginSession, User)
            .join(User, User.id == LoginSession.user_id)
            .where(LoginSession.id == session_id)
        )
    ).one_or_none()
    return None if row is None else (row[0], row[1])


async def revoke(session: AsyncSession, login: LoginSession, *, reason: str) -> None:
    if login.revoked_at is None:
        login.revoked_at = utcnow()
        login.revoked_reason = reason
        record_session_ended(session, login)
        await session.flush()


async def live_of_user(session: AsyncSession, user_id: UUID) -> list[LoginSession]:
    """The user's sessions not ended or expired, most recently used first."""
    query = (
        select(LoginSession)
        .where(
            LoginSession.user_id == user_id,
            LoginSession.revoked_at.is_(None),
            LoginSession.expires_at > utcnow(),
        )
        .order_by(func.coalesce(LoginSession.refreshed_at, LoginSession.created_at).desc())
    )
    return list((await session.scalars(query)).all())


async def lock_of_user(session: AsyncSession, user_id: UUID) -> list[LoginSession]:
    """Every session row of the user, locked in one order (id), so that two requests
    changing a user's sessions take turns and cannot deadlock."""
    query = select(LoginSession).where(LoginSession.user_id == user_id).order_by(LoginSession.id)
    if session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update()
    return list((await session.scalars(query)).all())


async def purge_ended(
    session: AsyncSession, *, expired_before: datetime, revoked_before: datetime
) -> int:
    """Delete sessions that can no longer be used; a missing session verifies as ended."""
    result = await session.execute(
        delete(LoginSession).where(
            or_(
                LoginSession.expires_at < expired_before,
                LoginSession.revoked_at < revoked_before,
            )
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
