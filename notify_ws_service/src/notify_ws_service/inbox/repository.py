"""SQL of the inbox."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from notify_ws_service.ingest.records import NewNotification
from notify_ws_service.models import InboxCursor, Notification
from shared.db import utcnow


def _insert(session: AsyncSession) -> Any:
    dialect = session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


async def lock_cursors(session: AsyncSession, user_ids: Iterable[UUID]) -> dict[UUID, int]:
    """Lock the users' inbox cursors until the commit (creating them at 0) and return
    their last positions. Locked in one order, so two batches cannot deadlock."""
    users = sorted(set(user_ids))
    if not users:
        return {}
    statement = _insert(session)(InboxCursor).values(
        [{"user_id": user_id, "last_position": 0} for user_id in users]
    )
    # Updating a row to itself is what takes its lock (and sees its latest commit).
    statement = statement.on_conflict_do_update(
        index_elements=["user_id"], set_={"last_position": InboxCursor.last_position}
    ).returning(InboxCursor.user_id, InboxCursor.last_position)
    result = await session.execute(statement)
    return {row.user_id: row.last_position for row in result}


async def set_cursors(session: AsyncSession, last_positions: dict[UUID, int]) -> None:
    """Move locked cursors to the last positions just stored."""
    if not last_positions:
        return
    statement = _insert(session)(InboxCursor).values(
        [{"user_id": user_id, "last_position": last} for user_id, last in last_positions.items()]
    )
    statement = statement.on_conflict_do_update(
        index_elements=["user_id"], set_={"last_position": statement.excluded.last_position}
    )
    await session.execute(statement)


async def insert_at(
    session: AsyncSession, items: Sequence[tuple[NewNotification, int]]
) -> list[Notification]:
    """Insert notifications at the given positions of their users' inboxes."""
    if not items:
        return []
    now = utcnow()
    rows = await session.scalars(
        insert(Notification).returning(Notification, sort_by_parameter_order=True),
        [
            {
                "message_id": item.message_id,
                "user_id": item.user_id,
                "position": position,
                "type": item.type,
                "title": item.title,
                "body": item.body,
                "created_at": now,
            }
            for item, position in items
        ],
    )
    return list(rows)


async def by_message_ids(session: AsyncSession, message_ids: Sequence[UUID]) -> list[Notification]:
    rows = await session.scalars(
        select(Notification)
        .where(Notification.message_id.in_(message_ids))
        .order_by(Notification.user_id, Notification.position)
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


async def between(
    session: AsyncSession, *, user_id: UUID, after: int, before: int | None = None, limit: int
) -> list[Notification]:
    """The user's notifications after position ``after`` (and before ``before``), in order."""
    query = select(Notification).where(
        Notification.user_id == user_id, Notification.position > after
    )
    if before is not None:
        query = query.where(Notification.position < before)
    rows = await session.scalars(query.order_by(Notification.position).limit(limit))
    return list(rows)


async def last_position(session: AsyncSession, user_id: UUID) -> int:
    """The last position given out in the user's inbox (0 before the first)."""
    last = await session.scalar(
        select(InboxCursor.last_position).where(InboxCursor.user_id == user_id)
    )
    return int(last or 0)


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
