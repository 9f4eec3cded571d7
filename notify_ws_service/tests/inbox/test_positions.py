"""Per-user inbox positions: gap-free, and committed in order across instances."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from uuid import UUID, uuid4

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notify_ws_service.fanout.push import Push
from notify_ws_service.inbox import service
from notify_ws_service.ingest.records import NewNotification
from notify_ws_service.ingest.service import Ingestor
from notify_ws_service.models import InboxCursor, Notification
from shared.db import create_engine, create_sessionmaker, session_scope


class RecordingBus:
    """The bus of one instance: what it published, in order."""

    def __init__(self) -> None:
        self.published: list[Push] = []

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def subscribe(self, user_id: UUID) -> None: ...
    async def unsubscribe(self, user_id: UUID) -> None: ...

    async def publish(self, pushes: Sequence[Push]) -> None:
        self.published.extend(pushes)


@pytest.fixture
async def instances(
    database_url: str,
) -> AsyncIterator[list[async_sessionmaker[AsyncSession]]]:
    """Two instances' own database pools."""
    engines = [create_engine(database_url, pool_size=4) for _ in range(2)]
    try:
        yield [create_sessionmaker(engine) for engine in engines]
    finally:
        for engine in engines:
            await engine.dispose()


def new(user_id: UUID, body: str = "b") -> NewNotification:
    return NewNotification(message_id=uuid4(), user_id=user_id, title="t", body=body)


async def positions(
    sessionmaker: async_sessionmaker[AsyncSession], user_id: UUID
) -> dict[UUID, int]:
    async with sessionmaker() as session:
        rows = await session.execute(
            select(Notification.message_id, Notification.position).where(
                Notification.user_id == user_id
            )
        )
        return {row.message_id: row.position for row in rows}


async def cursor(sessionmaker: async_sessionmaker[AsyncSession], user_id: UUID) -> int | None:
    async with sessionmaker() as session:
        return await session.scalar(
            select(InboxCursor.last_position).where(InboxCursor.user_id == user_id)
        )


class TestStore:
    async def test_two_instances_storing_for_one_user_at_once_leave_no_gap(
        self, instances: list[async_sessionmaker[AsyncSession]]
    ) -> None:
        user, other = uuid4(), uuid4()
        buses = [RecordingBus(), RecordingBus()]
        ingestors = [
            Ingestor(m, b, redelivery_push_window=0) for m, b in zip(instances, buses, strict=True)
        ]
        # Batches mixing both users, in both orders, so the cursors lock in both orders.
        batches = [
            [new(user), new(other), new(user)] if n % 2 else [new(other), new(user)]
            for n in range(40)
        ]
        await asyncio.gather(*(ingestors[n % 2].ingest(batch) for n, batch in enumerate(batches)))
        for who, count in ((user, 60), (other, 40)):
            stored = await positions(instances[0], who)
            assert sorted(stored.values()) == list(range(1, count + 1))
            assert await cursor(instances[0], who) == count
            for bus in buses:
                mine = [p.position for p in bus.published if p.user_id == who]
                assert mine == sorted(mine)
                assert all(
                    stored[p.message_id] == p.position for p in bus.published if p.user_id == who
                )
        published = [p.message_id for bus in buses for p in bus.published]
        assert len(published) == len(set(published)) == 100

    async def test_a_position_is_visible_only_after_every_lower_one_committed(
        self, instances: list[async_sessionmaker[AsyncSession]]
    ) -> None:
        user = uuid4()
        first, second = instances
        early, late = [new(user), new(user)], [new(user)]
        async with session_scope(first) as holding:
            await service.store(holding, early)
            # The other instance stores for the same user meanwhile: it waits on the
            # user's cursor, so its higher position cannot commit first.
            storing = asyncio.create_task(_store(second, late))
            await _until_waiting_on_a_lock(first)
            assert await positions(second, user) == {}
            assert not storing.done()
        await storing
        stored = await positions(first, user)
        assert [stored[i.message_id] for i in early + late] == [1, 2, 3]

    async def test_a_record_stored_again_keeps_its_position(
        self, instances: list[async_sessionmaker[AsyncSession]]
    ) -> None:
        user = uuid4()
        once, then = new(user), new(user)
        await _store(instances[0], [once])
        async with session_scope(instances[1]) as session:
            stored = await service.store(session, [once, then, then])
        assert [r.message_id for r in stored.earlier] == [once.message_id]
        assert [(r.message_id, r.position) for r in stored.new] == [(then.message_id, 2)]
        assert await cursor(instances[0], user) == 2


async def _store(
    sessionmaker: async_sessionmaker[AsyncSession], items: list[NewNotification]
) -> None:
    async with session_scope(sessionmaker) as session:
        await service.store(session, items)


async def _until_waiting_on_a_lock(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Until a session of this database waits for a lock (read afresh each time: the
    activity view is a snapshot within a transaction)."""
    async with asyncio.timeout(30):
        while True:
            async with sessionmaker() as session:
                waiting = await session.scalar(
                    select(func.count())
                    .select_from(text("pg_stat_activity"))
                    .where(text("datname = current_database()"), text("wait_event_type = 'Lock'"))
                )
            if waiting:
                return
            await asyncio.sleep(0.05)
