"""Transactional outbox: an event is a row written in the same transaction as the change.

The relay publishes rows to Kafka and deletes them only after the broker acknowledged,
so a crash or a broker outage delays events but never loses one. Consumers deduplicate
by ``event_id``, which makes the relay's at-least-once delivery exactly-once in effect.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import datetime
from typing import Any, Protocol, cast
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    Row,
    Select,
    String,
    Table,
    Text,
    Uuid,
    delete,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.dml import ReturningDelete

from shared.db import utcnow
from shared.events.envelope import EventEnvelope
from shared.logging import correlation_id, get_logger
from shared.metrics import OUTBOX_PUBLISHED, OUTBOX_RELAY_ERRORS

log = get_logger(__name__)


class OutboxMixin:
    """Columns of a service's ``outbox`` table; each service maps it on its own Base."""

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    event_id: Mapped[UUID] = mapped_column(Uuid, unique=True)
    topic: Mapped[str] = mapped_column(String(255))
    key: Mapped[str | None] = mapped_column(String(255))
    payload: Mapped[str] = mapped_column(Text)
    correlation_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def record_event(
    session: AsyncSession,
    model: type[OutboxMixin],
    *,
    topic: str,
    key: str | UUID | None,
    type: str,
    data: dict[str, Any],
    actor_id: UUID | None = None,
) -> EventEnvelope:
    """Stage an event in the caller's transaction; it is published once that commits."""
    envelope = EventEnvelope(type=type, actor_id=actor_id, data=data)
    row = model()
    for column, value in outbox_values(envelope, topic=topic, key=key).items():
        setattr(row, column, value)
    session.add(row)
    return envelope


def outbox_values(envelope: EventEnvelope, *, topic: str, key: str | UUID | None) -> dict[str, Any]:
    """The columns of the outbox row that carries ``envelope``, for writers that insert
    it with their own SQL (in the same statement or transaction as the change)."""
    return {
        "event_id": envelope.event_id,
        "topic": topic,
        "key": None if key is None else str(key),
        "payload": envelope.model_dump_json(),
        "correlation_id": correlation_id.get(),
        "created_at": envelope.occurred_at,
    }


class Publisher(Protocol):
    async def publish_many(
        self, records: list[tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]]
    ) -> None: ...


class OutboxRelay:
    """Polls the outbox, publishes in batches, deletes what the broker acknowledged."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        model: type[OutboxMixin],
        publisher: Publisher,
        *,
        batch_size: int = 500,
        poll_interval: float = 0.5,
        max_backoff: float = 5.0,
        linger: float = 0.0,
    ) -> None:
        self._sessionmaker = sessionmaker
        # Built once: the relay runs after every commit.
        table: Table = cast(Any, model).__table__
        pending = select(table.c.id).order_by(table.c.id).limit(batch_size)
        self._take = _taking(table, pending.with_for_update(skip_locked=True))
        self._take_sqlite = _taking(table, pending)
        self._publisher = publisher
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._max_backoff = max_backoff
        self._linger = linger
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Publish now instead of at the next poll (call after a commit)."""
        self._wakeup.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        backoff = self._poll_interval
        while not self._stopping:
            try:
                published = await self.publish_pending()
                backoff = self._poll_interval
            except Exception as exc:
                OUTBOX_RELAY_ERRORS.inc()
                log.warning("outbox.publish_failed", error=repr(exc), retry_in=backoff)
                published = 0
                await self._sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                continue
            if published < self._batch_size:
                await self._sleep(self._poll_interval)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), timeout=seconds)
            if self._linger and not self._stopping:
                # Woken by a commit: the ones right behind it go out in the same batch
                # (one transaction and one produce request for many events).
                await asyncio.sleep(self._linger)
        self._wakeup.clear()

    async def publish_pending(self) -> int:
        """Publish one batch; returns how many events went out.

        The batch is taken and deleted by one statement whose rows stay locked until
        the broker acknowledged them; a failed publish rolls the delete back. Plain
        rows, not ORM objects: the relay runs after every commit, and loading mapped
        instances cost more than the statement."""
        async with self._sessionmaker() as session, session.begin():
            sqlite = session.get_bind().dialect.name == "sqlite"
            taken = await session.execute(self._take_sqlite if sqlite else self._take)
            rows = sorted(taken.all(), key=lambda row: row.id)
            if not rows:
                return 0
            await self._publisher.publish_many([_as_record(row) for row in rows])
        OUTBOX_PUBLISHED.inc(len(rows))
        return len(rows)


def _taking(table: Table, pending: Select[tuple[int]]) -> ReturningDelete[Any]:
    """Deletes the ``pending`` rows and returns them as :data:`_OutboxRow`."""
    columns = ("id", "event_id", "topic", "key", "payload", "correlation_id")
    taken = delete(table).where(table.c.id.in_(pending.scalar_subquery()))
    return taken.returning(*(table.c[name] for name in columns))


# id, event_id, topic, key, payload, correlation_id
_OutboxRow = Row[int, UUID, str, str | None, str, str | None]


def _as_record(row: _OutboxRow) -> tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]:
    headers = [("event_id", str(row.event_id).encode())]
    if row.correlation_id:
        headers.append(("correlation_id", row.correlation_id.encode()))
    event_type = json.loads(row.payload).get("type", "")
    headers.append(("event_type", str(event_type).encode()))
    key = row.key.encode() if row.key is not None else None
    return row.topic, key, row.payload.encode(), headers
