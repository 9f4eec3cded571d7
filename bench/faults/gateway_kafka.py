"""The Kafka side of the gateway scenarios: records in, acknowledged ids, lag, dead letters."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

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


async def produce(producer: AIOKafkaProducer, topic: str, records: Sequence[Outgoing]) -> int:
    """Send unkeyed (spread over the partitions, as seed 004 does); returns how many the
    broker acknowledged. A record whose send failed is simply not acknowledged."""
    futures = [await producer.send(topic, record.value) for record in records]
    acknowledged = 0
    for record, outcome in zip(
        records, await asyncio.gather(*futures, return_exceptions=True), strict=True
    ):
        if not isinstance(outcome, BaseException):
            record.acknowledged()
            acknowledged += 1
    return acknowledged


async def paced(
    producer: AIOKafkaProducer, topic: str, records: Sequence[Outgoing], *, per_second: float
) -> int:
    """Produce in slices of a tenth of a second, so records keep flowing for a while."""
    step = max(1, int(per_second / 10))
    acknowledged = 0
    for start in range(0, len(records), step):
        acknowledged += await produce(producer, topic, records[start : start + step])
        await asyncio.sleep(0.1)
    return acknowledged


async def _end_offsets(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in await _partitions(consumer, topic)]
        ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        return ends
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    async with asyncio.timeout(30):
        while not (partitions := consumer.partitions_for_topic(topic)):
            await consumer.topics()
            await asyncio.sleep(0.1)
    return set(partitions)


async def committed(bootstrap: str, group: str, topic: str) -> int:
    """Records of ``topic`` whose offsets ``group`` has committed."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return sum(max(0, meta.offset) for tp, meta in offsets.items() if tp.topic == topic)


async def lag(bootstrap: str, group: str, topic: str) -> int:
    """Records of ``topic`` not yet committed by ``group``."""
    ends = await _end_offsets(bootstrap, topic)
    return sum(ends.values()) - await committed(bootstrap, group, topic)


async def read_all(bootstrap: str, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of ``topic`` up to its current end."""
    ends = await _end_offsets(bootstrap, topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        consumer.assign(list(ends))
        await consumer.seek_to_beginning()
        async with asyncio.timeout(60):
            while any(await _behind(consumer, ends)):
                for batch in (await consumer.getmany(timeout_ms=300)).values():
                    records.extend(batch)
    finally:
        await consumer.stop()
    return records


async def _behind(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> list[bool]:
    return [await consumer.position(tp) < end for tp, end in ends.items()]
