"""How long records take through the broker alone: a plain consumer beside the gateway,
reading the same topic, timing each record from its timestamp (set by the producer) to
its arrival. That is the floor under any gateway's latency on this broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from types import TracebackType

from aiokafka import AIOKafkaConsumer

from bench.latency import Latency


class BrokerProbe:
    def __init__(self, kafka: str, topic: str, *, fetch_max_wait_ms: int) -> None:
        # No group: it reads from the end and commits nothing, so no gateway notices it.
        self._consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=kafka,
            group_id=None,
            auto_offset_reset="latest",
            fetch_max_wait_ms=fetch_max_wait_ms,
        )
        self._latency = Latency()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> BrokerProbe:
        await self._consumer.start()
        self._task = asyncio.create_task(self._read())
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()

    def take(self) -> dict[str, float]:
        """The latencies since the last call."""
        summary, self._latency = self._latency.summary(), Latency()
        return summary

    async def _read(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=200)
            now_ms = time.time() * 1000
            for records in batches.values():
                for record in records:
                    self._latency.record(max(0.0, now_ms - record.timestamp) / 1000)
