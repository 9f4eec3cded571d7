"""Sessions auth_service has ended, learned from ``session.ended`` on ``auth.events``.

A service that verifies access tokens by their signature alone would accept one from a
logged-out session until it expires; with this it refuses it within a moment of the
logout. Every instance reads every partition itself (no consumer group): each one must
know every ended session. It starts ``lookback`` seconds back, the longest an access
token lives, so that a restarted instance relearns the sessions whose tokens may still
be presented, and forgets a session once that long has passed since it ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from uuid import UUID

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.config import ServiceSettings
from shared.events.envelope import EventEnvelope
from shared.events.topics import AUTH_EVENTS
from shared.logging import get_logger

log = get_logger(__name__)

SESSION_ENDED = "session.ended"
# auth_service caps an access token's life at a day.
DEFAULT_LOOKBACK = 24 * 3600.0
# How often sessions whose tokens have all expired are forgotten.
PRUNE_INTERVAL = 60.0


class BacklogUnread(Exception):
    """The sessions ended before the start have not all been read."""


class EndedSessions:
    """``session_id in ended``: auth_service has ended that session."""

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        client_id: str,
        lookback: float = DEFAULT_LOOKBACK,
        fetch_max_wait_ms: int = 500,
        retry_backoff: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._bootstrap_servers = bootstrap_servers
        self._client_id = client_id
        self._lookback = lookback
        self._fetch_max_wait_ms = fetch_max_wait_ms
        self._retry_backoff = retry_backoff
        self._clock = clock
        # Session id -> when the last access token it can have issued expires.
        self._until: dict[UUID, float] = {}
        self._next_prune = 0.0
        # Where reading stopped, so that a reconnect goes on from there.
        self._positions: dict[TopicPartition, int] = {}
        self._listeners: list[Callable[[UUID, UUID], None]] = []
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.caught_up = asyncio.Event()
        """Set once everything published before the start has been read."""

    def __contains__(self, session_id: object) -> bool:
        until = self._until.get(session_id) if isinstance(session_id, UUID) else None
        return until is not None and until > self._clock()

    async def check(self) -> None:
        """Readiness: until the backlog is read, a token of a session ended before this
        instance started would pass, so the instance takes no traffic yet."""
        if not self.caught_up.is_set():
            raise BacklogUnread("ended sessions not read up to the start yet")

    def on_end(self, listener: Callable[[UUID, UUID], None]) -> None:
        """Call ``listener(session_id, user_id)`` as each end is learned (to close the
        session's open sockets)."""
        self._listeners.append(listener)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="ended-sessions")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while not self._stopping.is_set():
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self._bootstrap_servers,
                client_id=self._client_id,
                group_id=None,
                enable_auto_commit=False,
                # A position the broker no longer has (it lost or trimmed the topic).
                auto_offset_reset="earliest",
                fetch_max_wait_ms=self._fetch_max_wait_ms,
                # How soon partitions added to the topic are read.
                metadata_max_age_ms=30_000,
            )
            try:
                await consumer.start()
                await self._follow(consumer)
            except Exception as exc:
                # Tokens keep being checked meanwhile; only ends published while this
                # is down are learned late, when it reads on from where it stopped.
                log.warning("ended_sessions.read_failed", error=repr(exc))
            finally:
                await consumer.stop()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._retry_backoff)

    async def _follow(self, consumer: AIOKafkaConsumer) -> None:
        # Subscribed with no group: every partition is this reader's, and partitions
        # added to the topic later are assigned as the metadata shows them.
        consumer.subscribe([AUTH_EVENTS])
        assigned: set[TopicPartition] = set()
        ends: dict[TopicPartition, int] = {}
        while True:
            if consumer.assignment() != assigned:
                # A new assignment starts every partition over: each goes on from where
                # this reader was, or from the lookback if it has not been read.
                assigned = set(consumer.assignment())
                await self._seek(consumer, sorted(assigned))
                ends = ends or await consumer.end_offsets(list(assigned))
            if not assigned:
                if AUTH_EVENTS not in await consumer.topics():
                    self.caught_up.set()  # auth_service has not created it: nothing to learn
                await asyncio.sleep(self._retry_backoff)
                continue
            batches = await consumer.getmany(timeout_ms=1000)
            for partition, records in batches.items():
                for record in records:
                    self._read(record.value)
                    self._positions[partition] = record.offset + 1
            if not self.caught_up.is_set() and await _reached(consumer, ends):
                self.caught_up.set()

    async def _seek(self, consumer: AIOKafkaConsumer, partitions: list[TopicPartition]) -> None:
        since = int((self._clock() - self._lookback) * 1000)
        fresh = [p for p in partitions if p not in self._positions]
        found = await consumer.offsets_for_times(dict.fromkeys(fresh, since)) if fresh else {}
        ends = await consumer.end_offsets(fresh) if fresh else {}
        for partition in partitions:
            if partition in self._positions:
                consumer.seek(partition, self._positions[partition])
            else:
                at = found.get(partition)
                consumer.seek(partition, ends[partition] if at is None else at.offset)

    def _read(self, value: bytes | None) -> None:
        try:
            event = EventEnvelope.model_validate_json(value or b"")
            if event.type != SESSION_ENDED:
                return
            session_id = UUID(str(event.data["session_id"]))
            user_id = UUID(str(event.data["user_id"]))
            until = event.occurred_at.timestamp() + self._lookback
        except Exception as exc:
            # Whatever is wrong with one record, the ones after it are still read.
            log.warning("ended_sessions.bad_record", error=repr(exc))
            return
        now = self._clock()
        if until <= now:
            return
        self._until[session_id] = until
        for listener in self._listeners:
            try:
                listener(session_id, user_id)
            except Exception:
                log.exception("ended_sessions.listener_failed", session_id=str(session_id))
        if now >= self._next_prune:
            self._next_prune = now + PRUNE_INTERVAL
            self._until = {s: u for s, u in self._until.items() if u > now}


def ended_sessions_for(settings: ServiceSettings) -> EndedSessions:
    return EndedSessions(
        settings.kafka_bootstrap_servers,
        client_id=settings.kafka_client_id,
        fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
    )


async def _reached(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    for partition, end in ends.items():
        if await consumer.position(partition) < end:
            return False
    return True
