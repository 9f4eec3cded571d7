from __future__ import annotations

import uuid

from aiokafka.admin import AIOKafkaAdminClient

from shared.config import ServiceSettings
from shared.kafka import producer_for


async def _partitions(bootstrap: str, topic: str) -> int | None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        if topic not in await admin.list_topics():
            return None
        [description] = await admin.describe_topics([topic])
        return len(description["partitions"])
    finally:
        await admin.close()


class TestProducerFor:
    async def test_creates_its_topics_as_configured_before_it_is_ready(
        self, kafka_bootstrap: str
    ) -> None:
        topic = f"made-{uuid.uuid4().hex[:8]}"
        settings = ServiceSettings(
            kafka_bootstrap_servers=kafka_bootstrap, kafka_topic_partitions=2
        )
        producer = producer_for(settings, [topic])
        producer.start()
        try:
            await producer.wait_ready(30)
            assert await _partitions(kafka_bootstrap, topic) == 2
        finally:
            await producer.stop()

    async def test_leaves_provisioned_topics_alone(self, kafka_bootstrap: str) -> None:
        topic = f"provisioned-{uuid.uuid4().hex[:8]}"
        settings = ServiceSettings(kafka_bootstrap_servers=kafka_bootstrap, create_topics=False)
        producer = producer_for(settings, [topic])
        producer.start()
        try:
            await producer.wait_ready(30)
            assert await _partitions(kafka_bootstrap, topic) is None
        finally:
            await producer.stop()
