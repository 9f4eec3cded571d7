"""Per-user inbox positions: gap-free, and committed in order across instances."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from alembic import command
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notify_ws_service.__main__ import alembic_config
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


@pytest.fixture(params=["postgresql", "sqlite"])
async def inbox(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """The pool of one instance, on each database the gateway runs on."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("database_url")
    else:
        url = f"sqlite+aiosqlite:///{tmp_path}/notify.db"
        await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
    engine = create_engine(url)
    try:
        yield create_sessionmaker(engine)
    finally:
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
            Ingestor(m.kw["bind"], m, b, redelivery_push_window=0)
            for m, b in zip(instances, buses, strict=True)
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
            # Publication order may differ from position order (sockets restore it).
            for bus in buses:
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

    async def test_a_batch_mixing_stored_and_new_records_numbers_the_new_ones_on(
        self, inbox: async_sessionmaker[AsyncSession]
    ) -> None:
        alice, bob, carol = uuid4(), uuid4(), uuid4()
        first = [new(alice), new(bob), new(alice)]
        await _store(inbox, first)
        batch = [new(bob), first[0], new(alice), new(carol), first[1], new(alice), new(bob)]
        async with session_scope(inbox) as session:
            stored = await service.store(session, batch)
        assert [(p.message_id, p.user_id, p.position) for p in stored.new] == [
            (batch[0].message_id, bob, 2),
            (batch[2].message_id, alice, 3),
            (batch[3].message_id, carol, 1),
            (batch[5].message_id, alice, 4),
            (batch[6].message_id, bob, 3),
        ]
        assert {(p.message_id, p.position) for p in stored.earlier} == {
            (first[0].message_id, 1),
            (first[1].message_id, 1),
        }
        for who, count in ((alice, 4), (bob, 3), (carol, 1)):
            assert sorted((await positions(inbox, who)).values()) == list(range(1, count + 1))
            assert await cursor(inbox, who) == count
        # What is pushed is what a read of the inbox gives.
        async with inbox() as session:
            rows = await session.scalars(
                select(Notification).where(
                    Notification.message_id.in_([p.message_id for p in stored.new + stored.earlier])
                )
            )
            read = {row.message_id: Push.of(row) for row in rows}
        assert [read[p.message_id] for p in stored.new + stored.earlier] == stored.new + (
            stored.earlier
        )

    async def test_a_record_stored_by_the_instance_it_waited_for_comes_back_as_earlier(
        self, instances: list[async_sessionmaker[AsyncSession]]
    ) -> None:
        user, other = uuid4(), uuid4()
        once = new(user)
        # Redelivered to the other instance meanwhile: it waits on the user's cursor.
        redelivered = [once, new(user), new(other)]
        stored = await (await _store_while_held(instances, [once], redelivered))
        assert [(p.message_id, p.position) for p in stored.earlier] == [(once.message_id, 1)]
        assert [(p.message_id, p.position) for p in stored.new] == [
            (redelivered[1].message_id, 2),
            (redelivered[2].message_id, 1),
        ]
        assert await cursor(instances[0], user) == 2
        assert await cursor(instances[0], other) == 1

    async def test_a_message_id_stored_meanwhile_under_another_user_fails_the_batch(
        self, instances: list[async_sessionmaker[AsyncSession]]
    ) -> None:
        user, other = uuid4(), uuid4()
        first = instances[0]
        item = new(other)
        again = NewNotification(item.message_id, user, "t", "b")
        storing = await _store_while_held(instances, [item], [new(user), again])
        with pytest.raises(IntegrityError):
            await storing
        assert await positions(first, user) == {}
        assert await cursor(first, user) is None
        assert await positions(first, other) == {item.message_id: 1}


async def _store(
    sessionmaker: async_sessionmaker[AsyncSession], items: list[NewNotification]
) -> service.Stored:
    async with session_scope(sessionmaker) as session:
        return await service.store(session, items)


async def _store_while_held(
    instances: list[async_sessionmaker[AsyncSession]],
    held: list[NewNotification],
    waiting: list[NewNotification],
) -> asyncio.Task[service.Stored]:
    """Store ``held`` on the first instance and, before that commits, ``waiting`` on the
    second, which waits on a lock; the second's store, going on after the commit."""
    first, second = instances
    async with session_scope(first) as holding:
        await service.store(holding, held)
        storing = asyncio.create_task(_store(second, waiting))
        await _until_waiting_on_a_lock(first)
    return storing


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


class TestStoreAlone:
    async def test_one_statement_stores_and_reports_what_was_stored_before(
        self, instances: list[async_sessionmaker[AsyncSession]]
    ) -> None:
        engine = instances[0].kw["bind"]
        user = uuid4()
        first, second = new(user), new(user)
        stored = await service.store_alone(engine, [first])
        assert stored is not None
        assert [p.position for p in stored.new] == [1]
        again = await service.store_alone(engine, [first, second])
        assert again is not None
        assert [(p.message_id, p.position) for p in again.new] == [(second.message_id, 2)]
        assert [(p.message_id, p.position) for p in again.earlier] == [(first.message_id, 1)]

    async def test_a_cursor_moved_while_it_waited_leaves_the_batch_to_a_transaction(
        self, instances: list[async_sessionmaker[AsyncSession]]
    ) -> None:
        engine = instances[0].kw["bind"]
        user = uuid4()
        async with instances[1]() as holding:
            await service.store(holding, [new(user)])
            alone = asyncio.create_task(service.store_alone(engine, [new(user)]))
            await asyncio.sleep(0.3)
            assert not alone.done(), "waits for the cursor's lock"
            await holding.commit()
        assert await alone is None
        assert await cursor(instances[0], user) == 1, "nothing stored by the statement"
