"""SQL of the inbox."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from notify_ws_service.ingest.records import NewNotification
from notify_ws_service.models import Notification
from shared.db import utcnow


async def insert_new(session: AsyncSession, items: Sequence[NewNotification]) -> set[UUID]:
    """Insert what is not stored yet (idempotent by message_id); returns the inserted ids."""
    if not items:
        return set()
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = utcnow()
    statement = (
        insert(Notification)
        .values(
            [
                {
                    "message_id": item.message_id,
                    "user_id": item.user_id,
                    "type": item.type,
                    "title": item.title,
                    "body": item.body,
                    "created_at": now,
                }
                for item in items
            ]
        )
        .on_conflict_do_nothing(index_elements=["message_id"])
        .returning(Notification.message_id)
    )
    return set((await session.execute(statement)).scalars())


async def by_message_ids(session: AsyncSession, message_ids: Sequence[UUID]) -> list[Notification]:
    rows = await session.scalars(
        select(Notification)
        .where(Notification.message_id.in_(message_ids))
        .order_by(Notification.id)
    )
    return list(rows)


async def get_for_user(
    session: AsyncSession, *, user_id: UUID, message_id: UUID
) -> Notification | None:
    row: Notification | None = await session.scalar(
        select(Notification).where(
            Notification.message_id == message_id, Notification.user_id == user_id
        )
    )
    return row


async def get(session: AsyncSession, message_id: UUID) -> Notification | None:
    row: Notification | None = await session.scalar(
        select(Notification).where(Notification.message_id == message_id)
    )
    return row


async def after(
    session: AsyncSession, *, user_id: UUID, after_id: int, limit: int
) -> list[Notification]:
    rows = await session.scalars(
        select(Notification)
        .where(Notification.user_id == user_id, Notification.id > after_id)
        .order_by(Notification.id)
        .limit(limit)
    )
    return list(rows)


async def page(
    session: AsyncSession,
    *,
    user_id: UUID,
    before_id: int | None,
    limit: int,
    unread_only: bool,
) -> list[Notification]:
    query = select(Notification).where(Notification.user_id == user_id)
    if before_id is not None:
        query = query.where(Notification.id < before_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    rows = await session.scalars(query.order_by(Notification.id.desc()).limit(limit))
    return list(rows)


async def unread_count(session: AsyncSession, *, user_id: UUID) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )
    return int(count or 0)


async def mark_all_read(session: AsyncSession, *, user_id: UUID) -> int:
    now = utcnow()
    result = await session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=now, delivered_at=func.coalesce(Notification.delivered_at, now))
    )
    return int(getattr(result, "rowcount", 0) or 0)


def stored_since(row: Notification, window: float, now: datetime) -> bool:
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=now.tzinfo)
    return now - created <= timedelta(seconds=window)


async def delete_older_than(session: AsyncSession, cutoff: datetime) -> int:
    result = await session.execute(delete(Notification).where(Notification.created_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
