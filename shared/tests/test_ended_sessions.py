"""Ended sessions are learned from auth.events over a real broker: live, after a restart
within the lookback, after an outage; and forgotten once their tokens have expired."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from aiokafka import AIOKafkaProducer

from shared.auth.ended import BacklogUnread, EndedSessions
from shared.events.envelope import EventEnvelope
from shared.events.topics import AUTH_EVENTS
from shared.kafka import ensure_topics
from shared.testing.proxy import broker_behind_proxy

LOOKBACK = 600.0


def _ended(
    session_id: UUID, *, ago: float = 0.0, type: str = "session.ended", user_id: UUID | None = None
) -> bytes:
    return EventEnvelope(
        type=type,
        occurred_at=datetime.now(UTC) - timedelta(seconds=ago),
        data={
            "session_id": str(session_id),
            "user_id": str(user_id or uuid4()),
            "reason": "logout",
        },
    ).encode()


async def _publish(bootstrap: str, *values: bytes, ago: float = 0.0) -> None:
    await ensure_topics(bootstrap, [AUTH_EVENTS], partitions=3)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        timestamp_ms = int((time.time() - ago) * 1000)
        for value in values:
            await producer.send_and_wait(AUTH_EVENTS, value, timestamp_ms=timestamp_ms)
    finally:
        await producer.stop()


@asynccontextmanager
async def _reading(
    bootstrap: str, clock: Callable[[], float] = time.time
) -> AsyncIterator[EndedSessions]:
    ended = EndedSessions(
        bootstrap, client_id="test", lookback=LOOKBACK, retry_backoff=0.1, clock=clock
    )
    ended.start()
    try:
        async with asyncio.timeout(30):
            await ended.caught_up.wait()
        yield ended
    finally:
        await ended.stop()


async def _learned(ended: EndedSessions, session_id: UUID, timeout: float = 30) -> None:
    async with asyncio.timeout(timeout):
        while session_id not in ended:
            await asyncio.sleep(0.05)


class TestEndedSessions:
    async def test_an_end_published_later_is_learned_and_told(self, kafka_bootstrap: str) -> None:
        session_id, user_id = uuid4(), uuid4()
        await _publish(kafka_bootstrap, _ended(uuid4()))
        async with _reading(kafka_bootstrap) as ended:
            told: list[tuple[UUID, UUID]] = []
            ended.on_end(lambda *ids: told.append(ids))
            assert session_id not in ended
            await _publish(kafka_bootstrap, _ended(session_id, user_id=user_id))
            await _learned(ended, session_id)
            assert told == [(session_id, user_id)]
            assert uuid4() not in ended
            assert str(session_id) not in ended  # ids, not their spelling

    async def test_a_restarted_reader_relearns_ends_within_the_lookback(
        self, kafka_bootstrap: str
    ) -> None:
        recent, old = uuid4(), uuid4()
        await _publish(kafka_bootstrap, _ended(old, ago=2 * LOOKBACK), ago=2 * LOOKBACK)
        await _publish(kafka_bootstrap, _ended(recent, ago=LOOKBACK / 2), ago=LOOKBACK / 2)
        async with _reading(kafka_bootstrap) as ended:
            assert recent in ended
            assert old not in ended

    async def test_an_end_is_forgotten_when_its_tokens_have_expired(
        self, kafka_bootstrap: str
    ) -> None:
        now = [time.time()]
        session_id = uuid4()
        async with _reading(kafka_bootstrap, clock=lambda: now[0]) as ended:
            await _publish(kafka_bootstrap, _ended(session_id))
            await _learned(ended, session_id)
            # Past the lookback from the real time it was published at (the frozen clock
            # may already be behind it).
            now[0] = time.time() + LOOKBACK + 1
            assert session_id not in ended

    async def test_other_events_and_garbage_are_passed_over(self, kafka_bootstrap: str) -> None:
        other, good = uuid4(), uuid4()
        async with _reading(kafka_bootstrap) as ended:
            await _publish(
                kafka_bootstrap,
                b"not json",
                b'{"type": "session.ended", "data": {"session_id": "nope"}}',
                _ended(other, type="user.updated"),
                _ended(good),
            )
            await _learned(ended, good)
            assert other not in ended

    async def test_an_end_published_during_an_outage_is_learned_after_it(self) -> None:
        session_id = uuid4()
        async with broker_behind_proxy() as proxy:
            await _publish(proxy.address, _ended(uuid4()))
            async with _reading(proxy.address) as ended:
                proxy.cut()
                await asyncio.sleep(1)
                proxy.restore()
                await _publish(proxy.address, _ended(session_id))
                await _learned(ended, session_id, timeout=60)

    async def test_not_ready_until_the_backlog_is_read(self) -> None:
        session_id = uuid4()
        async with broker_behind_proxy() as proxy:
            await _publish(proxy.address, _ended(session_id))
            proxy.cut()
            ended = EndedSessions(proxy.address, client_id="test", retry_backoff=0.1)
            ended.start()
            try:
                await asyncio.sleep(1)
                with pytest.raises(BacklogUnread):
                    await ended.check()
                proxy.restore()
                async with asyncio.timeout(60):
                    await ended.caught_up.wait()
                await ended.check()
                assert session_id in ended
            finally:
                await ended.stop()

    async def test_a_topic_created_after_the_start_is_read(self) -> None:
        session_id = uuid4()
        async with broker_behind_proxy() as proxy, _reading(proxy.address) as ended:
            await _publish(proxy.address, _ended(session_id))
            await _learned(ended, session_id, timeout=60)
