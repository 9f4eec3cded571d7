"""Kafka plumbing: a producer, topic creation and an at-least-once batch consumer.

Plain aiokafka behind small interfaces of our own. The consumer commits offsets only
after its handler returned, so a crash re-delivers instead of losing; handlers are
idempotent. A record the handler rejects goes to ``<topic>.dlq`` and consumption goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from aiokafka import (
    AIOKafkaConsumer,
    AIOKafkaProducer,
    ConsumerRebalanceListener,
    ConsumerRecord,
    TopicPartition,
)
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.config import ServiceSettings
from shared.events.topics import dead_letter
from shared.logging import get_logger
from shared.metrics import KAFKA_CONSUMED, KAFKA_DEAD_LETTERED, KAFKA_LAG, KAFKA_RECORD_AGE

log = get_logger(__name__)

Record = tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]


def create_producer(
    bootstrap_servers: str, *, enable_idempotence: bool = False, client_id: str = "suite"
) -> AIOKafkaProducer:
    # acks="all": a record counts as sent only once every in-sync replica has it.
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=enable_idempotence,
        linger_ms=5,
        request_timeout_ms=15000,
    )


class KafkaPublisher:
    """Publishes batches and returns only when the broker acknowledged all of them."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer

    async def publish_many(self, records: Sequence[Record]) -> None:
        futures = [
            await self._producer.send(topic, value, key=key, headers=headers)
            for topic, key, value, headers in records
        ]
        await asyncio.gather(*futures)

    async def publish(
        self,
        topic: str,
        value: bytes,
        *,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None:
        await self._producer.send_and_wait(topic, value, key=key, headers=headers or [])


async def ensure_topics(
    bootstrap_servers: str,
    topics: Sequence[str],
    *,
    partitions: int = 3,
    replication_factor: int = 1,
) -> None:
    """Create the missing ones of ``topics``; existing ones are left alone. Dead-letter
    topics are created only when named (``ResilientProducer`` names them)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [t for t in topics if t not in existing]
        if wanted:
            # Another replica may have created them in the meantime.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [NewTopic(t, partitions, replication_factor) for t in wanted]
                )
    finally:
        await admin.close()


# Characters of a dead-letter record's dlq_detail header at most.
DETAIL_MAX = 500


class InvalidRecord(Exception):
    """A record that can never be handled: it goes to the dead-letter topic."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Rejected:
    record: ConsumerRecord[bytes, bytes]
    reason: str  # the dead-letter record's dlq_reason header: a short code
    detail: str = ""  # its dlq_detail header, when there is more to say

    @classmethod
    def of(cls, record: ConsumerRecord[bytes, bytes], error: InvalidRecord) -> Rejected:
        return cls(record, error.reason, error.detail)


BatchHandler = Callable[[list[ConsumerRecord[bytes, bytes]]], Awaitable[Sequence[Rejected]]]


Batches = dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]


class BatchConsumer:
    """getmany -> handler -> dead-letter the rejected -> commit (in the background);
    retries on handler errors.

    A batch that keeps failing is retried one record at a time, so that a record the
    handler cannot store (a poison pill it did not recognise) is dead-lettered instead of
    stalling its partition for good. A record counts as poison only when it fails alone
    and the record after it then succeeds: when two in a row fail, the fault is the
    handler's (its database is down, say) and nothing is dead-lettered.

    Before a rebalance takes partitions away, the batch in hand is finished and what was
    handled is committed, so the next owner starts right after it.
    """

    def __init__(
        self,
        topics: Sequence[str],
        *,
        bootstrap_servers: str,
        group_id: str,
        handler: BatchHandler,
        producer: AIOKafkaProducer,
        max_records: int = 500,
        poll_timeout_ms: int = 200,
        retry_backoff: float = 1.0,
        auto_offset_reset: str = "earliest",
        fetch_max_wait_ms: int = 500,
        isolate_after: int = 3,
        rebalance_timeout_ms: int = 30_000,
    ) -> None:
        self._topics = list(topics)
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers,
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset=auto_offset_reset,
            max_poll_records=max_records,
            fetch_max_wait_ms=fetch_max_wait_ms,
            # How long the group waits for its members to rejoin; each finishes its
            # batch in hand first (see _hand_over). Under the request timeout (40 s), as
            # the JoinGroup request waits that long at most.
            rebalance_timeout_ms=rebalance_timeout_ms,
        )
        self._handler = handler
        self._producer = producer
        self._poll_timeout_ms = poll_timeout_ms
        self._retry_backoff = retry_backoff
        self._isolate_after = isolate_after
        self._failed_in_a_row = 0
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # Offsets handled but not committed yet, and the task committing them.
        self._uncommitted: dict[TopicPartition, int] = {}
        self._committer: asyncio.Task[None] | None = None
        # Held while a batch is handled; a rebalance waits for it.
        self._in_hand = asyncio.Lock()
        self._rebalances = 0
        self.handled = 0

    async def start(self) -> None:
        self._consumer.subscribe(self._topics, listener=_HandOver(self._hand_over))
        await self._consumer.start()
        self._task = asyncio.create_task(self._run(), name="kafka-consumer")

    async def stop(self) -> None:
        """Finish the batch in hand, commit it, leave the group."""
        self._stopping.set()
        if self._task is not None:
            await self._task
        await self._committed()
        # During a rebalance this waits for it to end (the group's JoinGroup in flight).
        await self._consumer.stop()

    @property
    def running(self) -> bool:
        """Consuming, or retrying after a failure; False once stopped (for readiness)."""
        return self._task is not None and not self._task.done()

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self._poll_once()
            except Exception as exc:
                # A failed poll or commit (broker gone, group rebalanced) must not end
                # consumption: uncommitted records come again, and handlers are idempotent.
                log.error("consumer.poll_failed", error=repr(exc))
                await asyncio.sleep(self._retry_backoff)

    async def _poll_once(self) -> None:
        rebalances = self._rebalances
        batches = await self._consumer.getmany(timeout_ms=self._poll_timeout_ms)
        if not any(batches.values()):
            return
        async with self._in_hand:
            if self._rebalances != rebalances:
                # Fetched before a rebalance that took the lock first: no longer ours to
                # handle; the new assignment reads on from the committed offsets.
                return
            done = await self._handle(batches)
        if not done:
            await asyncio.sleep(self._retry_backoff)  # not holding up a rebalance

    async def _handle(self, batches: Batches) -> bool:
        """Handles a batch; False when some of it is to be retried after a pause."""
        records = [r for partition in batches.values() for r in partition]
        _observe_age(batches)
        try:
            rejected = await self._handler(records)
            for item in rejected:
                await self._dead_letter(item)
        except Exception as exc:
            log.error("consumer.batch_failed", error=repr(exc), size=len(records))
            self._failed_in_a_row += 1
            if self._failed_in_a_row >= self._isolate_after:
                return await self._isolate(batches)
            await self._rewind(batches)
            return False
        self._failed_in_a_row = 0
        self._commit_later(batches)
        self.handled += len(records)
        self._observe(batches)
        return True

    def _commit_later(self, batches: Batches) -> None:
        """Commit in the background: the next batch need not wait for the coordinator.

        One commit at a time, each with the latest offsets handled, so the committed
        offset only moves forward. Offsets are given explicitly: by the time a commit
        runs, the consumer's position may be past records not handled yet.
        """
        for partition, records in batches.items():
            self._uncommitted[partition] = records[-1].offset + 1
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit(), name="kafka-commit")

    async def _commit(self) -> None:
        while self._uncommitted:
            # A partition given to another member meanwhile is theirs to commit.
            assigned = self._consumer.assignment()
            offsets = {p: o for p, o in self._uncommitted.items() if p in assigned}
            self._uncommitted = {}
            if not offsets:
                return
            try:
                await self._consumer.commit(offsets)
            except Exception as exc:
                # Not retried (the partitions may have gone to another member): those
                # records come again after a restart or rebalance, and handlers are
                # idempotent. A later batch's commit covers them too.
                log.error("consumer.commit_failed", error=repr(exc))

    async def _committed(self) -> None:
        """Wait for the background commit, before a commit of our own or leaving."""
        if self._committer is not None:
            await self._committer

    async def _hand_over(self) -> None:
        """Before a rebalance: finish the batch in hand and commit it while its partitions
        are still ours. Left to the background, that commit could find them gone and be
        dropped: their next owner would handle those records again."""
        async with self._in_hand:
            self._rebalances += 1
            await self._committed()

    async def _isolate(self, batches: Batches) -> bool:
        """Handle a failing batch record by record; commit and resume after what is done.
        False when some of it is left to retry."""
        resume: dict[TopicPartition, int] = {}
        try:
            for partition, records in batches.items():
                resume[partition] = records[0].offset
                suspect: ConsumerRecord[bytes, bytes] | None = None
                for record in records:
                    if not await self._handle_alone(record):
                        if suspect is not None:
                            break  # two in a row: not the records' fault
                        suspect = record
                        continue
                    # The handler works again: a suspect that still fails is poison.
                    if suspect is not None and not await self._handle_alone(suspect):
                        await self._dead_letter(Rejected(suspect, "handler_failed"))
                    if suspect is not None:
                        self.handled += 1
                        suspect = None
                    resume[partition] = record.offset + 1
                    self.handled += 1
        finally:
            unfinished = False
            for partition, records in batches.items():
                offset = resume.get(partition, records[0].offset)
                if offset <= records[-1].offset:
                    self._consumer.seek(partition, offset)
                    unfinished = True
            done = {p: o for p, o in resume.items() if o > batches[p][0].offset}
            if done:
                await self._committed()
                await self._consumer.commit(done)
        if unfinished:
            return False
        self._failed_in_a_row = 0
        self._observe(batches)
        return True

    async def _handle_alone(self, record: ConsumerRecord[bytes, bytes]) -> bool:
        try:
            for item in await self._handler([record]):
                await self._dead_letter(item)
        except Exception as exc:
            log.warning("consumer.record_failed", error=repr(exc), offset=record.offset)
            return False
        return True

    async def _dead_letter(self, item: Rejected) -> None:
        record = item.record
        KAFKA_DEAD_LETTERED.labels(record.topic, item.reason).inc()
        log.warning(
            "consumer.dead_lettered",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            reason=item.reason,
        )
        headers = [*list(record.headers or ()), ("dlq_reason", item.reason.encode())]
        if item.detail:
            # backslashreplace: a detail may quote a lone surrogate from the record.
            detail = item.detail[:DETAIL_MAX].encode("utf-8", "backslashreplace")
            headers.append(("dlq_detail", detail))
        await self._producer.send_and_wait(
            dead_letter(record.topic), record.value or b"", key=record.key, headers=headers
        )

    async def _rewind(self, batches: Batches) -> None:
        for partition, records in batches.items():
            self._consumer.seek(partition, records[0].offset)

    def _observe(self, batches: Batches) -> None:
        assigned = self._consumer.assignment()
        for partition, records in batches.items():
            KAFKA_CONSUMED.labels(partition.topic).inc(len(records))
            highwater = self._consumer.highwater(partition) if partition in assigned else None
            if highwater is not None:
                KAFKA_LAG.labels(partition.topic).set(max(0, highwater - records[-1].offset - 1))


class _HandOver(ConsumerRebalanceListener):  # type: ignore[misc]
    """Calls ``hand_over`` before every rebalance (the first join's too, with nothing
    assigned yet)."""

    def __init__(self, hand_over: Callable[[], Awaitable[None]]) -> None:
        self._hand_over = hand_over

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._hand_over()

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        pass


def _observe_age(batches: Batches) -> None:
    now_ms = time.time() * 1000
    for partition, records in batches.items():
        age = KAFKA_RECORD_AGE.labels(partition.topic)
        for record in records:
            age.observe(max(0.0, now_ms - record.timestamp) / 1000)


class KafkaUnavailable(Exception):
    """The producer has not connected to the broker (yet)."""


class ResilientProducer:
    """Starts the producer in the background and keeps retrying while the broker is down,
    so a service comes up (and its outbox holds events) during a broker outage.

    ``topics`` are created (with their dead-letter twins when ``with_dead_letters``)
    before the producer reports ready, so nothing is published to a missing topic.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        enable_idempotence: bool = False,
        client_id: str = "suite",
        retry_interval: float = 2.0,
        topics: Sequence[str] = (),
        with_dead_letters: bool = False,
        partitions: int = 3,
        replication_factor: int = 1,
    ) -> None:
        self._topics = [*topics, *(dead_letter(t) for t in topics if with_dead_letters)]
        self._partitions = partitions
        self._replication_factor = replication_factor
        self._bootstrap_servers = bootstrap_servers
        self._enable_idempotence = enable_idempotence
        self._client_id = client_id
        self._retry_interval = retry_interval
        self._producer: AIOKafkaProducer | None = None
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def producer(self) -> AIOKafkaProducer:
        if self._producer is None or not self._ready.is_set():
            raise KafkaUnavailable("not connected to the broker")
        return self._producer

    def start(self) -> None:
        self._task = asyncio.create_task(self._connect(), name="kafka-producer-connect")

    async def wait_ready(self, timeout: float) -> None:
        await asyncio.wait_for(self._ready.wait(), timeout)

    async def _connect(self) -> None:
        while True:
            producer = create_producer(
                self._bootstrap_servers,
                enable_idempotence=self._enable_idempotence,
                client_id=self._client_id,
            )
            try:
                await producer.start()
                if self._topics:
                    await ensure_topics(
                        self._bootstrap_servers,
                        self._topics,
                        partitions=self._partitions,
                        replication_factor=self._replication_factor,
                    )
            except Exception as exc:
                log.warning("kafka.producer_unavailable", error=repr(exc))
                await producer.stop()
                await asyncio.sleep(self._retry_interval)
                continue
            self._producer = producer
            self._ready.set()
            return

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._producer is not None:
            await self._producer.stop()

    async def publish_many(self, records: Sequence[Record]) -> None:
        await KafkaPublisher(self.producer).publish_many(records)

    async def publish(
        self,
        topic: str,
        value: bytes,
        *,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None:
        await KafkaPublisher(self.producer).publish(topic, value, key=key, headers=headers)

    async def check(self) -> None:
        """Readiness: the broker answers a metadata request."""
        ok = await self.producer.client.force_metadata_update()
        if not ok:
            raise KafkaUnavailable("metadata request failed")


def producer_for(settings: ServiceSettings, topics: Sequence[str] = ()) -> ResilientProducer:
    """The service's producer; ``topics`` are created first unless settings say not to."""
    return ResilientProducer(
        settings.kafka_bootstrap_servers,
        enable_idempotence=settings.kafka_enable_idempotence,
        client_id=settings.kafka_client_id,
        topics=topics if settings.create_topics else (),
        partitions=settings.kafka_topic_partitions,
        replication_factor=settings.kafka_replication_factor,
    )
