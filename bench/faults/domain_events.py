"""Read a domain topic (chat.events, orders.events) from its start, as a consumer that is
idempotent by event_id would, while counting the raw records the relay produced."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Hashable
from types import TracebackType
from typing import Any

from aiokafka import AIOKafkaConsumer

from shared.kafka import ensure_topics

Envelope = dict[str, Any]
# Names the change an event carries, as the scenario's ledger does; None: not ours.
Identify = Callable[[Envelope], Hashable | None]


class TopicLog:
    def __init__(self, bootstrap: str, topic: str) -> None:
        self._bootstrap = bootstrap
        self.topic = topic
        self._consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        # Every record's envelope in the order read; repeats of an event_id included.
        self.records: list[Envelope] = []
        # First copy of each event, by event_id: what an idempotent consumer handles.
        self.events: dict[str, Envelope] = {}

    async def __aenter__(self) -> TopicLog:
        await ensure_topics(self._bootstrap, [self.topic])
        await self._consumer.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._consumer.stop()

    def raw_duplicates(self, identify: Identify) -> int:
        """Records of the scenario's changes that repeat an event_id already read (the
        relay is at-least-once: a batch whose deletion failed is published again)."""
        ours = [e for e in self.records if identify(e) is not None]
        return len(ours) - len({str(e["event_id"]) for e in ours})

    async def poll(self) -> int:
        """Read what is there (waiting up to half a second); returns how many records."""
        batches = await self._consumer.getmany(timeout_ms=500)
        count = 0
        for records in batches.values():
            for record in records:
                envelope: Envelope = json.loads(record.value)
                self.records.append(envelope)
                self.events.setdefault(str(envelope["event_id"]), envelope)
                count += 1
        return count

    async def until(self, done: Callable[[], bool], timeout: float) -> None:
        """Poll until ``done()`` holds; raises TimeoutError after ``timeout`` seconds."""
        async with asyncio.timeout(timeout):
            while not done():
                await self.poll()

    async def drain(self, quiet_polls: int = 3) -> None:
        """Read until the topic has been quiet for a few polls (late duplicates included)."""
        quiet = 0
        while quiet < quiet_polls:
            quiet = quiet + 1 if await self.poll() == 0 else 0

    def changes(self, identify: Identify) -> list[Hashable]:
        """Each distinct event as the scenario names it (``identify`` returns None to skip)."""
        return [i for e in self.events.values() if (i := identify(e)) is not None]

    async def until_changes(
        self, identify: Identify, expected: set[Hashable], timeout: float
    ) -> None:
        """Poll until every ``expected`` change has arrived."""
        await self.until(lambda: expected <= set(self.changes(identify)), timeout)
