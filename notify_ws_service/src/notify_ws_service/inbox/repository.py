"""SQL of the inbox."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    String,
    Text,
    Uuid,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from notify_ws_service.fanout.push import Push
from notify_ws_service.ingest.records import NewNotification
from notify_ws_service.models import InboxCursor, Notification
from shared.db import utcnow

# Storing a batch: plain Core statements built once, whose rows become pushes without
# ORM entities (this runs for every batch the consumer takes).
_NOTIFICATIONS = Notification.metadata.tables[Notification.__tablename__]
_CURSORS = InboxCursor.metadata.tables[InboxCursor.__tablename__]
# The kinds of rows the statement returns (the rest are busy users).
_NEW, _EARLIER = 1, 2
# Push's fields, which are also the columns they are stored in.
_PUSH_COLUMNS = ("message_id", "user_id", "type", "created_at", "title", "body", "position")

# PostgreSQL: the whole batch in one round trip. Every CTE reads one snapshot, taken
# before the cursor locks are waited for; only the upsert's ON CONFLICT reads the latest
# cursor. A user's rows are stored only by moving its cursor, so where the cursor is
# still where the snapshot saw it, the snapshot holds all the user's rows: only then does
# the cursor move and the user's new rows go in. Otherwise the user comes back busy, its
# cursor locked but unmoved, for a second statement (whose snapshot is taken after).
_PLACE_ON_POSTGRESQL = text("""
WITH batch AS (
    SELECT b.*, NOT EXISTS (
        SELECT FROM notifications AS s WHERE s.message_id = b.message_id
    ) AS fresh
    FROM unnest(
        CAST(:message_ids AS uuid[]), CAST(:user_ids AS uuid[]), CAST(:types AS text[]),
        CAST(:titles AS text[]), CAST(:bodies AS text[])
    ) WITH ORDINALITY AS b (message_id, user_id, type, title, body, n)
),
users AS (
    SELECT b.user_id, count(*) FILTER (WHERE b.fresh) AS added,
        coalesce(min(c.last_position), 0) AS seen
    FROM batch AS b LEFT JOIN user_inbox_cursors AS c ON c.user_id = b.user_id
    GROUP BY b.user_id
),
locked AS (
    -- In user order, so two batches cannot deadlock; a filtered-out update still locks.
    INSERT INTO user_inbox_cursors AS c (user_id, last_position)
    SELECT user_id, added FROM users ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE SET last_position = c.last_position + excluded.last_position
    WHERE c.last_position = (SELECT u.seen FROM users AS u WHERE u.user_id = excluded.user_id)
    RETURNING c.user_id, c.last_position
),
starts AS (
    -- A count over every locked row: none comes out, so nothing is inserted, before
    -- all the batch's cursors are locked.
    SELECT l.user_id, l.last_position - u.added AS start, count(*) OVER () AS locked_users
    FROM locked AS l JOIN users AS u ON u.user_id = l.user_id
),
inserted AS (
    INSERT INTO notifications (message_id, user_id, position, type, title, body, created_at)
    SELECT b.message_id, b.user_id,
        s.start + row_number() OVER (PARTITION BY b.user_id ORDER BY b.n),
        b.type, b.title, b.body, CAST(:now AS timestamptz)
    FROM batch AS b JOIN starts AS s ON s.user_id = b.user_id
    WHERE b.fresh AND s.locked_users > 0
    ORDER BY b.n
    RETURNING message_id, position
)
SELECT 2 AS kind, e.message_id, e.user_id, e.type, e.created_at, e.title, e.body, e.position
FROM batch AS b
JOIN starts AS s ON s.user_id = b.user_id
JOIN notifications AS e ON e.message_id = b.message_id
UNION ALL
SELECT 1, message_id, NULL, NULL, NULL, NULL, NULL, position FROM inserted
UNION ALL
SELECT 3, NULL, u.user_id, NULL, NULL, NULL, NULL, NULL
FROM users AS u WHERE NOT EXISTS (SELECT FROM locked AS l WHERE l.user_id = u.user_id)
""").columns(
    kind=Integer,
    message_id=Uuid,
    user_id=Uuid,
    type=String,
    created_at=DateTime(timezone=True),
    title=Text,
    body=Text,
    position=BigInteger,
)


@dataclass(frozen=True)
class Placed:
    """What one storing statement did."""

    # Position of each message_id it inserted.
    positions: dict[UUID, int] = field(default_factory=dict)
    # Stored before: not stored again.
    earlier: list[Push] = field(default_factory=list)
    # Users whose cursors it locked but could not move yet.
    busy: set[UUID] = field(default_factory=set)


async def place_on_postgresql(
    session: AsyncSession | AsyncConnection, items: Sequence[NewNotification], now: datetime
) -> Placed:
    """Store what is not stored yet at the next positions of its users' inboxes, in
    one statement (``items`` has one item a message_id)."""
    result = await session.execute(
        _PLACE_ON_POSTGRESQL,
        {
            "message_ids": [item.message_id for item in items],
            "user_ids": [item.user_id for item in items],
            "types": [item.type for item in items],
            "titles": [item.title for item in items],
            "bodies": [item.body for item in items],
            "now": now,
        },
    )
    placed = Placed()
    for row in result:
        if row.kind == _NEW:
            placed.positions[row.message_id] = row.position
        elif row.kind == _EARLIER:
            placed.earlier.append(Push.of(row))
        else:
            placed.busy.add(row.user_id)
    return placed


# SQLite (one writer at a time, so no row locks): a statement a step.
_LOCK_ON_SQLITE = (
    sqlite.insert(_CURSORS)
    .on_conflict_do_update(
        index_elements=[_CURSORS.c.user_id], set_={"last_position": _CURSORS.c.last_position}
    )
    .returning(_CURSORS.c.user_id, _CURSORS.c.last_position)
)
_EARLIER_ROWS = select(*(_NOTIFICATIONS.c[name] for name in _PUSH_COLUMNS)).where(
    _NOTIFICATIONS.c.message_id.in_(bindparam("message_ids", expanding=True))
)
_INSERT = insert(_NOTIFICATIONS)
_MOVE_CURSOR = (
    update(_CURSORS)
    .where(_CURSORS.c.user_id == bindparam("cursor_user_id"))
    .values(last_position=bindparam("cursor_last_position"))
)


async def lock_cursors(session: AsyncSession, user_ids: Iterable[UUID]) -> dict[UUID, int]:
    """Take the write lock (creating missing cursors at 0) and return the users' last
    positions."""
    rows = await session.execute(
        _LOCK_ON_SQLITE,
        [{"user_id": user_id, "last_position": 0} for user_id in sorted(set(user_ids))],
    )
    return dict(rows.all())


async def earlier(session: AsyncSession, message_ids: Sequence[UUID]) -> list[Push]:
    rows = await session.execute(_EARLIER_ROWS, {"message_ids": message_ids})
    return [Push.of(row) for row in rows]


async def insert_new(session: AsyncSession, pushes: Sequence[Push]) -> None:
    if pushes:
        await session.execute(_INSERT, [_columns(push) for push in pushes])


async def set_cursors(session: AsyncSession, last_positions: dict[UUID, int]) -> None:
    if last_positions:
        await session.execute(
            _MOVE_CURSOR,
            [
                {"cursor_user_id": user_id, "cursor_last_position": last}
                for user_id, last in last_positions.items()
            ],
        )


def _columns(push: Push) -> dict[str, Any]:
    return {name: getattr(push, name) for name in _PUSH_COLUMNS}


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


async def delete_older_than(session: AsyncSession, cutoff: datetime) -> int:
    result = await session.execute(delete(Notification).where(Notification.created_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
