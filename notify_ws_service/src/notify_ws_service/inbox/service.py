"""Inbox operations: storing at per-user positions, and what REST and the socket's
ack/read frames change."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from notify_ws_service.errors import NotificationNotFound
from notify_ws_service.fanout.push import Push
from notify_ws_service.inbox import repository
from notify_ws_service.ingest.records import NewNotification
from notify_ws_service.models import Notification
from shared.db import utcnow


@dataclass(frozen=True)
class Stored:
    new: list[Push]
    # Stored before (a redelivered record): not stored again.
    earlier: list[Push]


async def store(session: AsyncSession, items: Sequence[NewNotification]) -> Stored:
    """Store what is not stored yet (idempotent by message_id), each at the next
    position of its user's inbox.

    The users' cursors are locked first and stay locked until the commit: a batch of
    another instance with the same users waits, then sees what this one stored. So a
    user's positions have no gap and commit in order (a position is visible only once
    every lower one is). A message_id stored meanwhile under another user fails the
    insert and the whole batch, which then comes back from Kafka.
    """
    batch = _unique(items)
    if not batch:
        return Stored([], [])
    now = utcnow()
    if session.get_bind().dialect.name == "postgresql":
        return await _store_on_postgresql(session, batch, now)
    return await _store_on_sqlite(session, batch, now)


async def store_alone(engine: AsyncEngine, items: Sequence[NewNotification]) -> Stored | None:
    """On PostgreSQL, :func:`store` as one statement committed on its own: no BEGIN and
    COMMIT round trips, which cost more than the statement. None where that is not
    enough (off PostgreSQL, or a user's cursor moved after the statement's snapshot):
    then :func:`store` the batch in a transaction; what this stored comes back as
    ``earlier``."""
    if engine.dialect.name != "postgresql":
        return None
    batch = _unique(items)
    if not batch:
        return Stored([], [])
    now = utcnow()
    async with engine.connect() as connection:
        alone = await connection.execution_options(isolation_level="AUTOCOMMIT")
        placed = await repository.place_on_postgresql(alone, batch, now)
    if placed.busy:
        return None
    return Stored(_placed(batch, placed.positions, now), placed.earlier)


async def _store_on_postgresql(
    session: AsyncSession, batch: list[NewNotification], now: datetime
) -> Stored:
    placed = await repository.place_on_postgresql(session, batch, now)
    earlier = placed.earlier
    positions = placed.positions
    if placed.busy:
        # Their cursors moved after the statement's snapshot was taken. This transaction
        # holds them now, so a second statement sees all that was stored for them.
        retried = await repository.place_on_postgresql(
            session, [item for item in batch if item.user_id in placed.busy], now
        )
        if retried.busy:
            raise RuntimeError("inbox cursors moved while locked")
        earlier = earlier + retried.earlier
        positions = positions | retried.positions
    return Stored(_placed(batch, positions, now), earlier)


async def _store_on_sqlite(
    session: AsyncSession, batch: list[NewNotification], now: datetime
) -> Stored:
    last = await repository.lock_cursors(session, (item.user_id for item in batch))
    earlier = await repository.earlier(session, [item.message_id for item in batch])
    known = {push.message_id for push in earlier}
    new: list[Push] = []
    for item in batch:
        if item.message_id not in known:
            last[item.user_id] += 1
            new.append(_stored(item, last[item.user_id], now))
    await repository.insert_new(session, new)
    await repository.set_cursors(session, {push.user_id: push.position for push in new})
    return Stored(new, earlier)


def _unique(items: Sequence[NewNotification]) -> list[NewNotification]:
    """The first of each message_id, in order."""
    batch: dict[UUID, NewNotification] = {}
    for item in items:
        batch.setdefault(item.message_id, item)
    return list(batch.values())


def _placed(batch: list[NewNotification], positions: dict[UUID, int], now: datetime) -> list[Push]:
    """The batch's items that were given a position, as pushes."""
    return [
        _stored(item, positions[item.message_id], now)
        for item in batch
        if item.message_id in positions
    ]


def _stored(item: NewNotification, position: int, now: datetime) -> Push:
    return Push(
        message_id=item.message_id,
        user_id=item.user_id,
        type=item.type,
        created_at=now,
        title=item.title,
        body=item.body,
        position=position,
    )


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
