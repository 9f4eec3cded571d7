from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy import MetaData, String, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import create_sessionmaker, session_scope
from shared.events.outbox import OutboxMixin, OutboxRelay, record_event
from shared.kafka import ResilientProducer, ensure_topics
from shared.testing.proxy import broker_behind_proxy


class _Base(DeclarativeBase):
    metadata = MetaData()


class Note(_Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(100))


class Outbox(OutboxMixin, _Base):
    __tablename__ = "outbox"


@pytest.fixture(scope="module")
async def sessionmaker(engine: AsyncEngine) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with engine.begin() as conn:
        await conn.run_sync(_Base.metadata.create_all)
    yield create_sessionmaker(engine)
    async with engine.begin() as conn:
        await conn.run_sync(_Base.metadata.drop_all)


async def _consume(bootstrap: str, topic: str, count: int, timeout: float = 40.0) -> list[dict]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    seen: list[dict] = []
    try:
        async with asyncio.timeout(timeout):
            while len(seen) < count:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    seen.extend(
                        {"value": json.loads(r.value), "key": r.key, "headers": dict(r.headers)}
                        for r in records
                    )
    finally:
        await consumer.stop()
    return seen


async def _outbox_size(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(Outbox)) or 0)


class TestRecordEvent:
    async def test_rolled_back_change_leaves_no_event(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        before = await _outbox_size(sessionmaker)

        async def failing_change() -> None:
            async with session_scope(sessionmaker) as session:
                session.add(Note(text="lost"))
                record_event(session, Outbox, topic="t", key="k", type="note.added", data={})
                raise RuntimeError("the change fails")

        with pytest.raises(RuntimeError):
            await failing_change()
        assert await _outbox_size(sessionmaker) == before

    async def test_committed_change_is_published_and_removed(
        self, sessionmaker: async_sessionmaker[AsyncSession], kafka_bootstrap: str
    ) -> None:
        topic = f"outbox-{uuid.uuid4().hex[:8]}"
        await ensure_topics(kafka_bootstrap, [topic])
        async with session_scope(sessionmaker) as session:
            session.add(Note(text="kept"))
            envelope = record_event(
                session,
                Outbox,
                topic=topic,
                key="note-1",
                type="note.added",
                data={"text": "kept"},
                actor_id=uuid.uuid4(),
            )
        producer = ResilientProducer(kafka_bootstrap)
        producer.start()
        await producer.wait_ready(20)
        try:
            relay = OutboxRelay(sessionmaker, Outbox, producer)
            assert await relay.publish_pending() == 1
        finally:
            await producer.stop()
        [record] = await _consume(kafka_bootstrap, topic, 1)
        assert record["key"] == b"note-1"
        assert record["value"]["event_id"] == str(envelope.event_id)
        assert record["value"]["type"] == "note.added"
        assert record["value"]["data"] == {"text": "kept"}
        assert record["headers"]["event_id"] == str(envelope.event_id).encode()
        assert await _outbox_size(sessionmaker) == 0


class TestRelayDuringOutage:
    async def test_events_written_while_broker_is_cut_arrive_after_it_returns(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        topic = f"outage-{uuid.uuid4().hex[:8]}"
        async with broker_behind_proxy() as proxy:
            await ensure_topics(proxy.address, [topic])
            producer = ResilientProducer(proxy.address)
            producer.start()
            await producer.wait_ready(20)
            relay = OutboxRelay(sessionmaker, Outbox, producer, poll_interval=0.1, max_backoff=0.5)
            relay.start()
            try:
                proxy.cut()
                ids = []
                for n in range(5):
                    async with session_scope(sessionmaker) as session:
                        session.add(Note(text=f"during outage {n}"))
                        ids.append(
                            record_event(
                                session,
                                Outbox,
                                topic=topic,
                                key=str(n),
                                type="note.added",
                                data={"n": n},
                            ).event_id
                        )
                    relay.wake()
                await asyncio.sleep(2)
                assert await _outbox_size(sessionmaker) == 5, "nothing may leave while cut"
                proxy.restore()
                async with asyncio.timeout(60):
                    while await _outbox_size(sessionmaker):
                        await asyncio.sleep(0.2)
            finally:
                await relay.stop()
                await producer.stop()
            records = await _consume(proxy.address, topic, 5)
        assert sorted(r["value"]["event_id"] for r in records) == sorted(map(str, ids))


class _BatchRecorder:
    def __init__(self) -> None:
        self.batches: list[int] = []

    async def publish_many(
        self, records: list[tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]]
    ) -> None:
        self.batches.append(len(records))


class TestLinger:
    async def test_commits_right_behind_a_wake_go_out_in_one_batch(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        async def commit(n: int) -> None:
            async with session_scope(sessionmaker) as session:
                record_event(session, Outbox, topic="t", key=str(n), type="n", data={})

        async def drained() -> None:
            async with asyncio.timeout(30):
                while await _outbox_size(sessionmaker):
                    await asyncio.sleep(0.1)

        publisher = _BatchRecorder()
        # A poll far away and a linger far longer than a few local commits take.
        relay = OutboxRelay(sessionmaker, Outbox, publisher, poll_interval=60, linger=5.0)
        await commit(0)
        relay.start()
        try:
            await drained()  # the first pass: the relay now waits for a wake
            for n in range(1, 5):
                await commit(n)
                relay.wake()
            await drained()
        finally:
            await relay.stop()
        assert publisher.batches == [1, 4]
