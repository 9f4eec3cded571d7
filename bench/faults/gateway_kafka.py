"""The Kafka side of the gateway scenarios: records in, acknowledged ids, lag, dead letters."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.structs import RecordMetadata

from shared.events.topics import dead_letter
from shared.kafka import ensure_topics


def notification(message_id: UUID | str, user_id: UUID, body: str, **fields: Any) -> bytes:
    """A ``notification.send`` record as seed 004's producer writes it."""
    record = {
        "message_id": str(message_id),
        "delivery_method": "push",
        "user_id": str(user_id),
        "subject": "fault scenario",
        "content": body,
        **fields,
    }
    return json.dumps(record).encode()


@dataclass(frozen=True)
class Outgoing:
    value: bytes
    # Called once the broker acknowledged the record (acks=all).
    acknowledged: Callable[[], None] = lambda: None


async def create_topic(bootstrap: str, topic: str) -> None:
    """The topic and its dead-letter twin, before any gateway or producer touches them."""
    await ensure_topics(bootstrap, [topic, dead_letter(topic)])


async def produce(
    producer: AIOKafkaProducer, topic: str, records: Sequence[Outgoing]
) -> list[RecordMetadata | None]:
    """Send unkeyed (spread over the partitions, as seed 004 does); returns where each
    record landed, None for one the broker did not acknowledge."""
    futures = [await producer.send(topic, record.value) for record in records]
    landed: list[RecordMetadata | None] = []
    for record, outcome in zip(
        records, await asyncio.gather(*futures, return_exceptions=True), strict=True
    ):
        if isinstance(outcome, BaseException):
            landed.append(None)
        else:
            record.acknowledged()
            landed.append(outcome)
    return landed


async def paced(
    producer: AIOKafkaProducer, topic: str, records: Sequence[Outgoing], *, per_second: float
) -> int:
    """Produce in slices of a tenth of a second, so records keep flowing for a while."""
    step = max(1, int(per_second / 10))
    acknowledged = 0
    for start in range(0, len(records), step):
        landed = await produce(producer, topic, records[start : start + step])
        acknowledged += sum(1 for metadata in landed if metadata is not None)
        await asyncio.sleep(0.1)
    return acknowledged


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    async with asyncio.timeout(30):
        while not (partitions := consumer.partitions_for_topic(topic)):
            await consumer.topics()
            await asyncio.sleep(0.1)
    return set(partitions)


async def read_all(bootstrap: str, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of ``topic``, read until three polls in a row come back empty.

    Not bounded by ListOffsets: the local broker answers it with less than the end of a
    partition once batches pile up."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        partitions = [TopicPartition(topic, p) for p in await _partitions(consumer, topic)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        empty = 0
        while empty < 3:
            batches = await consumer.getmany(timeout_ms=300)
            got = [record for batch in batches.values() for record in batch]
            records.extend(got)
            empty = 0 if got else empty + 1
    finally:
        await consumer.stop()
    return records


async def committed(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    """The offsets ``group`` committed, by partition (asked as a member that never joins,
    so the group is left alone)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    await consumer.start()
    try:
        return {
            partition: await consumer.committed(TopicPartition(topic, partition)) or 0
            for partition in await _partitions(consumer, topic)
        }
    finally:
        await consumer.stop()


async def lag(bootstrap: str, group: str, topic: str) -> int:
    """Records of ``topic`` that ``group`` has not committed yet."""
    ends: dict[int, int] = {}
    for record in await read_all(bootstrap, topic):
        ends[record.partition] = max(ends.get(record.partition, 0), record.offset + 1)
    done = await committed(bootstrap, group, topic)
    return sum(max(0, end - done.get(partition, 0)) for partition, end in ends.items())
