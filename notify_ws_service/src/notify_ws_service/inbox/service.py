"""Inbox operations: storing at per-user positions, and what REST and the socket's
ack/read frames change."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from notify_ws_service.errors import NotificationNotFound
from notify_ws_service.inbox import repository
from notify_ws_service.ingest.records import NewNotification
from notify_ws_service.models import Notification
from shared.db import utcnow


@dataclass(frozen=True)
class Stored:
    new: list[Notification]
    # Stored before (a redelivered record): not stored again.
    earlier: list[Notification]


async def store(session: AsyncSession, items: Sequence[NewNotification]) -> Stored:
    """Store what is not stored yet (idempotent by message_id), each at the next
    position of its user's inbox.

    The users' cursors are locked first and stay locked until the commit: a batch of
    another instance with the same users waits, then sees what this one stored. So a
    user's positions have no gap and commit in order (a position is visible only once
    every lower one is). A message_id stored meanwhile under another user fails the
    insert and the whole batch, which then comes back from Kafka.
    """
    if not items:
        return Stored([], [])
    last = await repository.lock_cursors(session, (item.user_id for item in items))
    earlier = await repository.by_message_ids(session, [item.message_id for item in items])
    known = {row.message_id for row in earlier}
    placed: list[tuple[NewNotification, int]] = []
    for item in items:
        if item.message_id in known:
            continue
        known.add(item.message_id)
        last[item.user_id] += 1
        placed.append((item, last[item.user_id]))
    new = await repository.insert_at(session, placed)
    await repository.set_cursors(session, {item.user_id: last[item.user_id] for item, _ in placed})
    return Stored(new, earlier)


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
