"""Inbox operations shared by REST and the socket's ack/read frames."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from notify_ws_service.errors import NotificationNotFound
from notify_ws_service.inbox import repository
from notify_ws_service.models import Notification
from shared.db import utcnow


async def mark_delivered(session: AsyncSession, *, user_id: UUID, message_id: UUID) -> Notification:
    row = await repository.get_for_user(session, user_id=user_id, message_id=message_id)
    if row is None:
        raise NotificationNotFound()
    if row.delivered_at is None:
        row.delivered_at = utcnow()
        await session.flush()
    return row


async def mark_read(session: AsyncSession, *, user_id: UUID, message_id: UUID) -> Notification:
    row = await repository.get_for_user(session, user_id=user_id, message_id=message_id)
    if row is None:
        raise NotificationNotFound()
    now = utcnow()
    if row.read_at is None:
        row.read_at = now
    if row.delivered_at is None:
        row.delivered_at = now
    await session.flush()
    return row
