from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Callable, Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaConnectionError
from prometheus_client import REGISTRY

from shared.events.topics import dead_letter
from shared.kafka import BatchConsumer, BatchHandler, Rejected, ResilientProducer, ensure_topics


async def _read_all(bootstrap: str, topic: str, count: int) -> list[ConsumerRecord[bytes, bytes]]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    seen: list[ConsumerRecord[bytes, bytes]] = []
    try:
        async with asyncio.timeout(40):
            while len(seen) < count:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    seen.extend(records)
    finally:
        await consumer.stop()
    return seen


async def _topic_and_producer(bootstrap: str, prefix: str) -> tuple[str, ResilientProducer]:
    """A new topic (and its dead-letter twin) and a producer ready to write to it."""
    topic = f"{prefix}-{uuid.uuid4().hex[:8]}"
    await ensure_topics(bootstrap, [topic, dead_letter(topic)], partitions=1)
    producer = ResilientProducer(bootstrap)
    producer.start()
    await producer.wait_ready(20)
    return topic, producer


def _consumer(
    bootstrap: str,
    topic: str,
    handler: BatchHandler,
    producer: ResilientProducer,
    *,
    retry_backoff: float = 0.1,
    group: str | None = None,
) -> BatchConsumer:
    return BatchConsumer(
        [topic],
        bootstrap_servers=bootstrap,
        group_id=group or f"g-{uuid.uuid4().hex}",
        handler=handler,
        producer=producer.producer,
        retry_backoff=retry_backoff,
    )


async def _until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(60):
        while not condition():
            await asyncio.sleep(0.1)


class TestBatchConsumer:
    async def test_each_polled_record_is_timed_from_its_timestamp(
        self, kafka_bootstrap: str
    ) -> None:
        topic, producer = await _topic_and_producer(kafka_bootstrap, "age")
        # Produced a second ago, as far as the records' timestamps say.
        produced_at = int(time.time() * 1000) - 1000
        for _ in range(3):
            await producer.producer.send_and_wait(topic, b"{}", timestamp_ms=produced_at)

        async def handler(records: list[ConsumerRecord[bytes, bytes]]) -> Sequence[Rejected]:
            return []

        consumer = _consumer(kafka_bootstrap, topic, handler, producer)
        await consumer.start()
        try:
            await _until(lambda: consumer.handled >= 3)
        finally:
            await consumer.stop()
        await producer.stop()
        count = REGISTRY.get_sample_value("kafka_record_age_seconds_count", {"topic": topic})
        total = REGISTRY.get_sample_value("kafka_record_age_seconds_sum", {"topic": topic})
        assert count == 3
        assert total is not None
        assert 3 * 1.0 <= total < 3 * 60, "each about a second old, not from the epoch"

    async def test_rejected_records_are_dead_lettered_and_a_failed_batch_is_retried(
        self, kafka_bootstrap: str
    ) -> None:
        topic, producer = await _topic_and_producer(kafka_bootstrap, "consume")
        values = [b'{"n": 1}', b"not json", b'{"n": 2}', b"[]", b'{"n": 3}']
        for value in values:
            await producer.publish(topic, value)

        handled: list[int] = []
        failures_left = 1

        async def handler(
            records: list[ConsumerRecord[bytes, bytes]],
        ) -> Sequence[Rejected]:
            nonlocal failures_left
            if failures_left:
                failures_left -= 1
                raise ConnectionError("database briefly unavailable")
            rejected = []
            for record in records:
                try:
                    body = json.loads(record.value or b"")
                    handled.append(int(body["n"]))
                except (ValueError, TypeError, KeyError):
                    rejected.append(Rejected(record, "invalid_json"))
            return rejected

        consumer = _consumer(kafka_bootstrap, topic, handler, producer)
        await consumer.start()
        try:
            await _until(lambda: consumer.handled >= len(values))
        finally:
            await consumer.stop()
        dead = await _read_all(kafka_bootstrap, dead_letter(topic), 2)
        await producer.stop()

        assert handled == [1, 2, 3], "the failed batch is handled once, after the retry"
        assert sorted(r.value for r in dead) == [b"[]", b"not json"]
        assert all(dict(r.headers)["dlq_reason"] == b"invalid_json" for r in dead)

    async def test_a_failed_commit_does_not_end_consumption(self, kafka_bootstrap: str) -> None:
        topic, producer = await _topic_and_producer(kafka_bootstrap, "commit")
        seen: list[bytes] = []

        async def handler(records: list[ConsumerRecord[bytes, bytes]]) -> Sequence[Rejected]:
            seen.extend(r.value or b"" for r in records)
            return []

        consumer = _consumer(kafka_bootstrap, topic, handler, producer)
        # A broker that drops the commit's connection cannot be staged on demand here.
        real_commit = consumer._consumer.commit
        failures_left = 1

        async def flaky_commit(offsets: dict[TopicPartition, int]) -> None:
            nonlocal failures_left
            if failures_left:
                failures_left -= 1
                raise KafkaConnectionError("connection to the coordinator lost")
            await real_commit(offsets)

        consumer._consumer.commit = flaky_commit
        await consumer.start()
        try:
            await producer.publish(topic, b"first")
            await _until(lambda: not failures_left)
            await producer.publish(topic, b"second")
            await _until(lambda: b"second" in seen)
            assert consumer.running
        finally:
            await consumer.stop()
            await producer.stop()
        assert not consumer.running
        assert seen.count(b"first") == 1
        assert seen.count(b"second") == 1

    async def test_a_slow_commit_holds_up_no_batch_and_stop_waits_for_it(
        self, kafka_bootstrap: str
    ) -> None:
        topic, producer = await _topic_and_producer(kafka_bootstrap, "commit-later")
        seen: list[bytes] = []

        async def handler(records: list[ConsumerRecord[bytes, bytes]]) -> Sequence[Rejected]:
            seen.extend(r.value or b"" for r in records)
            return []

        group = f"g-{uuid.uuid4().hex}"

        def member() -> BatchConsumer:
            return _consumer(kafka_bootstrap, topic, handler, producer, group=group)

        consumer = member()
        real_commit = consumer._consumer.commit
        coordinator_answers = asyncio.Event()
        commits: list[dict[TopicPartition, int]] = []

        async def slow_commit(offsets: dict[TopicPartition, int]) -> None:
            await coordinator_answers.wait()
            commits.append(offsets)
            await real_commit(offsets)

        consumer._consumer.commit = slow_commit
        await consumer.start()
        try:
            await producer.publish(topic, b"first")
            await _until(lambda: b"first" in seen)
            await producer.publish(topic, b"second")
            await _until(lambda: b"second" in seen)
        finally:
            coordinator_answers.set()
            await consumer.stop()
        partition = TopicPartition(topic, 0)
        assert commits[-1] == {partition: 2}, "stopping commits all that was handled"

        # A member that comes next starts after both.
        successor = member()
        await successor.start()
        try:
            await producer.publish(topic, b"third")
            await _until(lambda: b"third" in seen)
        finally:
            await successor.stop()
            await producer.stop()
        assert seen == [b"first", b"second", b"third"]

    async def test_a_rebalance_waits_for_the_batch_in_hand_and_commits_it(
        self, kafka_bootstrap: str
    ) -> None:
        topic = f"hand-over-{uuid.uuid4().hex[:8]}"
        await ensure_topics(kafka_bootstrap, [topic, dead_letter(topic)], partitions=2)
        producer = ResilientProducer(kafka_bootstrap)
        producer.start()
        await producer.wait_ready(20)
        handled: list[bytes] = []
        first_in_hand = asyncio.Event()
        first_batch: set[int] = set()  # its partitions
        assigned_while_held = False
        group = f"g-{uuid.uuid4().hex}"

        def member(name: str) -> BatchConsumer:
            async def handler(records: list[ConsumerRecord[bytes, bytes]]) -> Sequence[Rejected]:
                nonlocal assigned_while_held
                if name == "first" and not first_in_hand.is_set():
                    first_in_hand.set()
                    first_batch.update(r.partition for r in records)
                    # Holds its first batch until the second member owns a partition
                    # (which must not happen before the batch is done: then for a
                    # while, under the group's rebalance timeout).
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(15):
                            await _until(lambda: bool(second._consumer.assignment()))
                            assigned_while_held = True
                handled.extend(r.value or b"" for r in records)
                return []

            return _consumer(kafka_bootstrap, topic, handler, producer, group=group)

        async def publish(value: bytes) -> None:
            for partition in (0, 1):
                await producer.producer.send_and_wait(topic, value, partition=partition)

        await publish(b"before")
        first, second = member("first"), member("second")
        await first.start()
        try:
            await asyncio.wait_for(first_in_hand.wait(), 60)
            await second.start()  # joins while the first member holds both partitions' records
            await _until(lambda: bool(second._consumer.assignment()))
            await publish(b"after")
            await _until(lambda: handled.count(b"after") >= 2)
        finally:
            await second.stop()
            await first.stop()
            await producer.stop()
        assert first_batch == {0, 1}, "whichever partition moves, it had records in hand"
        assert not assigned_while_held
        # The new owner of a partition started after what the old one had handled.
        assert sorted(handled) == [b"after", b"after", b"before", b"before"]


async def test_the_fetch_wait_is_the_consumers() -> None:
    # The development broker answers a fetch only when this wait ends.
    async def handler(records: list[ConsumerRecord[bytes, bytes]]) -> Sequence[Rejected]:
        return []

    consumer = BatchConsumer(
        ["t"],
        bootstrap_servers="127.0.0.1:1",
        group_id="g",
        handler=handler,
        producer=AIOKafkaProducer(bootstrap_servers="127.0.0.1:1"),
        fetch_max_wait_ms=10,
    )
    assert consumer._consumer._fetch_max_wait_ms == 10


class TestPoisonIsolation:
    async def _consume(
        self, bootstrap: str, values: list[bytes], fails: Callable[[bytes], bool]
    ) -> tuple[list[bytes], str]:
        topic, producer = await _topic_and_producer(bootstrap, "poison")
        for value in values:
            await producer.publish(topic, value)
        stored: list[bytes] = []

        async def handler(records: list[ConsumerRecord[bytes, bytes]]) -> Sequence[Rejected]:
            for record in records:
                if fails(record.value or b""):
                    raise ValueError("the database refused the row")
            stored.extend(r.value or b"" for r in records)
            return []

        consumer = _consumer(bootstrap, topic, handler, producer, retry_backoff=0.05)
        await consumer.start()
        try:
            await _until(lambda: consumer.handled >= len(values))
        finally:
            await consumer.stop()
            await producer.stop()
        return stored, topic

    async def test_a_record_the_handler_cannot_store_is_dead_lettered(
        self, kafka_bootstrap: str
    ) -> None:
        values = [b"good-1", b"poison", b"good-2", b"good-3"]
        stored, topic = await self._consume(kafka_bootstrap, values, lambda v: v == b"poison")
        dead = await _read_all(kafka_bootstrap, dead_letter(topic), 1)
        assert sorted(stored) == [b"good-1", b"good-2", b"good-3"]
        assert [(r.value, dict(r.headers)["dlq_reason"]) for r in dead] == [
            (b"poison", b"handler_failed")
        ]

    async def test_an_outage_of_the_handler_dead_letters_nothing(
        self, kafka_bootstrap: str
    ) -> None:
        calls = 0

        def down_for_a_while(_: bytes) -> bool:
            nonlocal calls
            calls += 1
            return calls <= 30

        values = [b"a", b"b", b"c"]
        stored, topic = await self._consume(kafka_bootstrap, values, down_for_a_while)
        assert calls > 30
        assert sorted(set(stored)) == values
        assert await _end_offset(kafka_bootstrap, dead_letter(topic)) == 0


async def _end_offset(bootstrap: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        await consumer.topics()  # loads the topic's metadata
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        assert partitions, f"{topic} has no partitions"
        ends = await consumer.end_offsets(partitions)
        return sum(ends.values())
    finally:
        await consumer.stop()
